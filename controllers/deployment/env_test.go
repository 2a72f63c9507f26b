package deployment

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/tendhq/tend/controllers"
	"github.com/tendhq/tend/controllers/replicaset"
	"github.com/tendhq/tend/informers"
	"github.com/tendhq/tend/tendtest"
)

// env is a test cluster running the stand-in kubelet, the ReplicaSet
// controller and the Deployment controller.
type env struct {
	t      *testing.T
	ctx    context.Context
	client kubernetes.Interface
	ns     string
}

// stuckLabel marks pod templates whose pods the stand-in kubelet leaves
// pending, never ready.
const stuckLabel = "stuck"

func newEnv(t *testing.T) *env {
	t.Helper()
	c := tendtest.Start(t, tendtest.Options{})
	client := c.Client()
	tendtest.StartKubelet(t, c, tendtest.KubeletOptions{ReadyAfter: 10 * time.Millisecond, Selector: stuckLabel + "!=true"})
	f, err := informers.NewFactory(c.RESTConfig(), informers.FactoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rec := controllers.NewRecorder(client, "deployment-controller", controllers.RecorderOptions{Host: "test"})
	opts := controllers.Options{Workers: 2, Logf: t.Logf}
	// The real ReplicaSet controller turns ReplicaSets into pods.
	cs := []*controllers.Controller{replicaset.New(f, client, nil, opts), New(f, client, rec, opts)}
	f.Start(ctx)
	if !f.WaitForSync(ctx) {
		t.Fatal("informers did not sync")
	}
	var wg sync.WaitGroup
	wg.Go(func() { rec.Run(ctx) })
	for _, c := range cs {
		wg.Go(func() { _ = c.Run(ctx) })
	}
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	return &env{t: t, ctx: ctx, client: client, ns: metav1.NamespaceDefault}
}

// newDeployment is a Deployment of replicas pods of image, labeled app=name.
func newDeployment(name string, replicas int32, image string) *appsv1.Deployment {
	lbls := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: lbls},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: lbls},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}},
			},
		},
	}
}

func rolling(surge, unavailable int) appsv1.DeploymentStrategy {
	s, u := intstr.FromInt(surge), intstr.FromInt(unavailable)
	return appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
		RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: &s, MaxUnavailable: &u}}
}

func (e *env) create(d *appsv1.Deployment) *appsv1.Deployment {
	e.t.Helper()
	got, err := e.client.AppsV1().Deployments(e.ns).Create(e.ctx, d, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatalf("creating Deployment %s: %v", d.Name, err)
	}
	return got
}

func (e *env) get(name string) *appsv1.Deployment {
	e.t.Helper()
	d, err := e.client.AppsV1().Deployments(e.ns).Get(e.ctx, name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatalf("getting Deployment %s: %v", name, err)
	}
	return d
}

// patch applies a strategic merge patch to the Deployment, as kubectl set
// image, scale, rollout pause and resume do.
func (e *env) patch(name string, patch any) *appsv1.Deployment {
	e.t.Helper()
	b, err := json.Marshal(patch)
	if err != nil {
		e.t.Fatal(err)
	}
	d, err := e.client.AppsV1().Deployments(e.ns).Patch(e.ctx, name, types.StrategicMergePatchType, b, metav1.PatchOptions{})
	if err != nil {
		e.t.Fatalf("patching Deployment %s with %s: %v", name, b, err)
	}
	return d
}

func (e *env) setImage(name, image string) *appsv1.Deployment {
	return e.patch(name, map[string]any{"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
		"containers": []map[string]any{{"name": "app", "image": image}}}}}})
}

// scale patches the Deployment's scale subresource, as kubectl scale does.
func (e *env) scale(name string, replicas int32) {
	e.t.Helper()
	patch := fmt.Sprintf(`{"spec":{"replicas":%d}}`, replicas)
	_, err := e.client.AppsV1().Deployments(e.ns).Patch(e.ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}, "scale")
	if err != nil {
		e.t.Fatalf("scaling Deployment %s to %d: %v", name, replicas, err)
	}
}

// replicaSets returns the ReplicaSets the Deployment controls, oldest first.
func (e *env) replicaSets(d *appsv1.Deployment) []appsv1.ReplicaSet {
	e.t.Helper()
	list, err := e.client.AppsV1().ReplicaSets(e.ns).List(e.ctx, metav1.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []appsv1.ReplicaSet
	for _, rs := range list.Items {
		if metav1.IsControlledBy(&rs, d) {
			out = append(out, rs)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		ri, _ := revision(out[i].Annotations)
		rj, _ := revision(out[j].Annotations)
		return ri < rj
	})
	return out
}

// eventually is tendtest.Eventually.
func eventually(t *testing.T, timeout time.Duration, cond func() string) {
	t.Helper()
	tendtest.Eventually(t, timeout, cond)
}

// waitComplete waits until the Deployment's rollout is complete as kubectl
// rollout status judges it, and returns the Deployment.
func (e *env) waitComplete(name string) *appsv1.Deployment {
	e.t.Helper()
	var d *appsv1.Deployment
	eventually(e.t, 20*time.Second, func() string {
		d = e.get(name)
		if msg := rolloutStatusMessage(d); msg != "" {
			return msg
		}
		return ""
	})
	return d
}

// rolloutStatusMessage is what kubectl rollout status would still be waiting
// for, "" when it would report success.
func rolloutStatusMessage(d *appsv1.Deployment) string {
	want := replicasOf(d.Spec.Replicas)
	st := d.Status
	switch {
	case d.Generation > st.ObservedGeneration:
		return fmt.Sprintf("Deployment %s: waiting for spec update to be observed (generation %d, observed %d)", d.Name, d.Generation, st.ObservedGeneration)
	case st.UpdatedReplicas < want:
		return fmt.Sprintf("Deployment %s: %d out of %d new replicas have been updated", d.Name, st.UpdatedReplicas, want)
	case st.Replicas > st.UpdatedReplicas:
		return fmt.Sprintf("Deployment %s: %d old replicas are pending termination", d.Name, st.Replicas-st.UpdatedReplicas)
	case st.AvailableReplicas < st.UpdatedReplicas:
		return fmt.Sprintf("Deployment %s: %d of %d updated replicas are available", d.Name, st.AvailableReplicas, st.UpdatedReplicas)
	}
	if c := getCondition(st, appsv1.DeploymentProgressing); c == nil || c.Reason != reasonNewRSAvailable {
		return fmt.Sprintf("Deployment %s: Progressing = %+v; want reason %s", d.Name, c, reasonNewRSAvailable)
	}
	return ""
}

// events returns the messages of the Deployment's events of reason.
func (e *env) events(name, reason string) []string {
	e.t.Helper()
	list, err := e.client.CoreV1().Events(e.ns).List(e.ctx, metav1.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, ev := range list.Items {
		if ev.InvolvedObject.Kind == "Deployment" && ev.InvolvedObject.Name == name && ev.Reason == reason {
			out = append(out, ev.Message)
		}
	}
	return out
}

// waitEvent waits for an event of the Deployment with that reason and message.
func (e *env) waitEvent(name, reason, message string) {
	e.t.Helper()
	eventually(e.t, 10*time.Second, func() string {
		got := e.events(name, reason)
		for _, m := range got {
			if m == message {
				return ""
			}
		}
		return fmt.Sprintf("events %s of Deployment %s = %q; want one %q", reason, name, got, message)
	})
}

// podWatch follows the pods of a Deployment from a watch, checking a
// predicate at every event, not only at the end.
type podWatch struct {
	mu   sync.Mutex
	pods map[string]*corev1.Pod
	errs []string
	seen int
	done chan struct{}
}

// watchPods lists and then watches the pods labeled app=name until the test
// ends, calling check with the pods held after each event (and the list);
// check returns a complaint, or "".
func (e *env) watchPods(name string, check func(pods []*corev1.Pod) string) *podWatch {
	e.t.Helper()
	pods := e.client.CoreV1().Pods(e.ns)
	opts := metav1.ListOptions{LabelSelector: "app=" + name}
	list, err := pods.List(e.ctx, opts)
	if err != nil {
		e.t.Fatal(err)
	}
	opts.ResourceVersion = list.ResourceVersion
	w, err := pods.Watch(e.ctx, opts)
	if err != nil {
		e.t.Fatal(err)
	}
	pw := &podWatch{pods: map[string]*corev1.Pod{}, done: make(chan struct{})}
	for i := range list.Items {
		pw.pods[list.Items[i].Name] = &list.Items[i]
	}
	pw.check(check)
	go func() {
		defer close(pw.done)
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			pw.mu.Lock()
			switch ev.Type {
			case watch.Added, watch.Modified:
				pw.pods[p.Name] = p
			case watch.Deleted:
				delete(pw.pods, p.Name)
			}
			pw.mu.Unlock()
			pw.check(check)
		}
	}()
	e.t.Cleanup(func() {
		w.Stop()
		<-pw.done
	})
	return pw
}

func (pw *podWatch) check(check func(pods []*corev1.Pod) string) {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	pw.seen++
	var pods []*corev1.Pod
	for _, p := range pw.pods {
		pods = append(pods, p)
	}
	if msg := check(pods); msg != "" {
		pw.errs = append(pw.errs, msg)
	}
}

// complaints returns what check complained of so far, and how many states it saw.
func (pw *podWatch) complaints() ([]string, int) {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	return append([]string(nil), pw.errs...), pw.seen
}

// waitPods waits until the watch holds pods for which done is true.
func (pw *podWatch) waitPods(t *testing.T, done func(pods []*corev1.Pod) string) {
	t.Helper()
	eventually(t, 20*time.Second, func() string {
		pw.mu.Lock()
		defer pw.mu.Unlock()
		var pods []*corev1.Pod
		for _, p := range pw.pods {
			pods = append(pods, p)
		}
		return done(pods)
	})
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// counts returns the pods not being deleted, the ready ones among them, and
// how many run each image.
func counts(pods []*corev1.Pod) (active, ready int, images map[string]int) {
	images = map[string]int{}
	for _, p := range pods {
		if p.DeletionTimestamp != nil {
			continue
		}
		active++
		if podReady(p) {
			ready++
		}
		images[p.Spec.Containers[0].Image]++
	}
	return active, ready, images
}

func describe(pods []*corev1.Pod) string {
	active, ready, images := counts(pods)
	var parts []string
	for img, n := range images {
		parts = append(parts, fmt.Sprintf("%s:%d", img, n))
	}
	sort.Strings(parts)
	return fmt.Sprintf("%d pods, %d ready (%s)", active, ready, strings.Join(parts, " "))
}
