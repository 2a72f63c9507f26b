package tendtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/tendhq/tend/informers"
)

// KubeletOptions tune a Kubelet.
type KubeletOptions struct {
	// NodeName, when set, binds every unscheduled pod to this node first, and
	// finishes graceful deletions of the pods on it (delete with grace 0), as a
	// kubelet does. Empty leaves pods unscheduled, so deletions are immediate.
	NodeName string
	// ReadyAfter delays marking a pod Running and Ready.
	ReadyAfter time.Duration
	// Selector restricts the pods handled (a label selector); empty means all.
	Selector string
}

// Kubelet stands in for nodes in tests of controllers: it marks every pod
// Running and Ready, through pods/status as a kubelet does, so that
// controllers waiting for ready pods make progress.
type Kubelet struct {
	client kubernetes.Interface
	opts   KubeletOptions
	pods   *informers.Informer[*corev1.Pod]
	cancel context.CancelFunc
	done   chan struct{}
	nextIP atomic.Uint32

	mu sync.Mutex
	// busy holds the pods being handled; true means an event came meanwhile.
	busy map[string]bool
}

// StartKubelet starts a stand-in kubelet on c until t ends.
func StartKubelet(t testing.TB, c *Cluster, opts KubeletOptions) *Kubelet {
	t.Helper()
	return StartKubeletWithClient(t, c.Client(), opts)
}

// StartKubeletWithClient starts a stand-in kubelet on any cluster client can
// reach (a tend server process, say) until t ends.
func StartKubeletWithClient(t testing.TB, client kubernetes.Interface, opts KubeletOptions) *Kubelet {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	k := &Kubelet{client: client, opts: opts, cancel: cancel, done: make(chan struct{}), busy: map[string]bool{}}
	inf := informers.New[*corev1.Pod](k.client.CoreV1().Pods(""), informers.Options{LabelSelector: opts.Selector})
	k.pods = inf
	handle := func(p *corev1.Pod) { k.kick(ctx, p.Namespace, p.Name) }
	inf.AddHandler(informers.Handler[*corev1.Pod]{
		OnAdd:    func(p *corev1.Pod, _ bool) { handle(p) },
		OnUpdate: func(_, p *corev1.Pod) { handle(p) },
	})
	go func() {
		defer close(k.done)
		inf.Run(ctx)
	}()
	if !informers.WaitForSync(ctx, inf) {
		t.Fatal("the stand-in kubelet did not sync")
	}
	t.Cleanup(k.Stop)
	return k
}

// Stop stops the kubelet.
func (k *Kubelet) Stop() {
	k.cancel()
	<-k.done
}

// kick handles a pod, or, if it is being handled, has it handled again after.
func (k *Kubelet) kick(ctx context.Context, namespace, name string) {
	key := namespace + "/" + name
	k.mu.Lock()
	if _, busy := k.busy[key]; busy {
		k.busy[key] = true
		k.mu.Unlock()
		return
	}
	k.busy[key] = false
	k.mu.Unlock()
	go func() {
		for {
			if p, ok := k.pods.Get(namespace, name); ok {
				k.handle(ctx, p)
			}
			k.mu.Lock()
			again := k.busy[key]
			if !again || ctx.Err() != nil {
				delete(k.busy, key)
				k.mu.Unlock()
				return
			}
			k.busy[key] = false
			k.mu.Unlock()
		}
	}()
}

// handle moves one pod along: bind, mark ready, or finish its deletion.
func (k *Kubelet) handle(ctx context.Context, p *corev1.Pod) {
	pods := k.client.CoreV1().Pods(p.Namespace)
	switch {
	case p.DeletionTimestamp != nil:
		if k.opts.NodeName != "" && p.Spec.NodeName == k.opts.NodeName {
			zero := int64(0)
			uid := p.UID
			_ = pods.Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &uid}})
		}
	case p.Spec.NodeName == "" && k.opts.NodeName != "":
		b := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: p.Name, UID: p.UID},
			Target: corev1.ObjectReference{Kind: "Node", Name: k.opts.NodeName}}
		_ = pods.Bind(ctx, b, metav1.CreateOptions{})
	case !podReady(p):
		if k.opts.ReadyAfter > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(k.opts.ReadyAfter):
			}
		}
		k.markReady(ctx, p)
	}
}

func podReady(p *corev1.Pod) bool {
	if p.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func (k *Kubelet) markReady(ctx context.Context, p *corev1.Pod) {
	now := metav1.Now()
	ip := k.nextIP.Add(1)
	podIP := net.IPv4(10, 42, byte(ip>>8), byte(ip)).String()
	var statuses []corev1.ContainerStatus
	for _, c := range p.Spec.Containers {
		statuses = append(statuses, corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, ImageID: "stand-in://" + c.Image, Ready: true, Started: ptr(true),
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}},
		})
	}
	cond := func(t corev1.PodConditionType) corev1.PodCondition {
		return corev1.PodCondition{Type: t, Status: corev1.ConditionTrue, LastTransitionTime: now}
	}
	status := map[string]any{"status": corev1.PodStatus{
		Phase:             corev1.PodRunning,
		Conditions:        []corev1.PodCondition{cond(corev1.PodInitialized), cond(corev1.PodReady), cond(corev1.ContainersReady), cond(corev1.PodScheduled)},
		ContainerStatuses: statuses,
		PodIP:             podIP,
		PodIPs:            []corev1.PodIP{{IP: podIP}},
		StartTime:         &now,
		QOSClass:          p.Status.QOSClass,
	}}
	patch, err := json.Marshal(status)
	if err != nil {
		panic(fmt.Sprintf("tendtest: encoding a pod status: %v", err))
	}
	_, _ = k.client.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.MergePatchType, patch, metav1.PatchOptions{}, "status")
}

func ptr[T any](v T) *T { return &v }
