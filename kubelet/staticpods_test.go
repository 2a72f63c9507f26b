package kubelet_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/tendhq/tend/kubelet"
	"github.com/tendhq/tend/kubelet/simulated"
	"github.com/tendhq/tend/kubelet/staticpods"
	"github.com/tendhq/tend/tendtest"
)

const staticWeb = `apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web}
spec:
  containers:
  - name: app
    image: nginx:1.27
`

func writeManifest(t *testing.T, dir, file, data string) {
	t.Helper()
	// Written aside and renamed, as a careful tool does: a reading never
	// sees half a file.
	tmp := filepath.Join(dir, "."+file+".tmp")
	if err := os.WriteFile(tmp, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, file)); err != nil {
		t.Fatal(err)
	}
}

// staticNode is a kubelet with a static pod directory, on a cluster of its own.
type staticNode struct {
	*node
	dir string
}

// staticConfig is fastConfig with a manifest directory, read again every
// 200ms so that the tests do not depend on inotify.
func staticConfig(client kubernetes.Interface, rt kubelet.Runtime, dir string) kubelet.Config {
	cfg := fastConfig("hollow-0", client, rt)
	cfg.StaticPodPath, cfg.FileCheckFrequency = dir, 200*time.Millisecond
	return cfg
}

// startStatic runs a kubelet (and, the first time, gives its node a pod
// CIDR).
func startStatic(t *testing.T, cfg kubelet.Config) *staticNode {
	t.Helper()
	n := startNode(t, cfg)
	setPodCIDR(t, cfg.Client, cfg.NodeName, "10.42.0.0/24")
	return &staticNode{node: n, dir: cfg.StaticPodPath}
}

func isMirror(p *corev1.Pod) bool {
	_, ok := p.Annotations[staticpods.ConfigMirrorAnnotation]
	return ok
}

// mirrorRunning waits for the mirror pod name to be Running and Ready.
func mirrorRunning(t *testing.T, client kubernetes.Interface, name string) *corev1.Pod {
	t.Helper()
	return waitPod(t, client, name, func(p *corev1.Pod) string {
		if !isMirror(p) {
			return "not a mirror pod"
		}
		return runningAndReady(p)
	})
}

// sandboxesOf lists the pod UIDs the runtime holds sandboxes of.
func sandboxesOf(t *testing.T, rt kubelet.Runtime) []types.UID {
	t.Helper()
	sbs, err := rt.ListPodSandboxes(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	var uids []types.UID
	for _, sb := range sbs {
		uids = append(uids, sb.PodUID)
	}
	return uids
}

func TestStaticPodRunsWithAMirrorPod(t *testing.T) {
	c := tendtest.Start(t, tendtest.Options{})
	client := c.Client()
	dir := t.TempDir()
	writeManifest(t, dir, "web.yaml", staticWeb)
	rt := newRuntime()
	n := startStatic(t, staticConfig(client, rt, dir))

	m := mirrorRunning(t, client, "web-hollow-0")
	static := m.Annotations[staticpods.ConfigHashAnnotation]
	node, err := getNode(client, "hollow-0")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ what, got, want string }{
		{"config.mirror", m.Annotations[staticpods.ConfigMirrorAnnotation], static},
		{"config.source", m.Annotations[staticpods.ConfigSourceAnnotation], "file"},
		{"spec.nodeName", m.Spec.NodeName, "hollow-0"},
		{"label app", m.Labels["app"], "web"},
		{"serviceAccountName", m.Spec.ServiceAccountName, ""},
	} {
		if c.got != c.want {
			t.Errorf("mirror pod %s = %q; want %q", c.what, c.got, c.want)
		}
	}
	if _, err := time.Parse(time.RFC3339Nano, m.Annotations[staticpods.ConfigSeenAnnotation]); err != nil {
		t.Errorf("mirror pod config.seen = %q; want an RFC 3339 time", m.Annotations[staticpods.ConfigSeenAnnotation])
	}
	want := metav1.OwnerReference{APIVersion: "v1", Kind: "Node", Name: "hollow-0", UID: node.UID, Controller: ptrTo(true)}
	if len(m.OwnerReferences) != 1 || !reflect.DeepEqual(m.OwnerReferences[0], want) {
		t.Errorf("mirror pod ownerReferences = %v; want [%v]", m.OwnerReferences, want)
	}
	if m.UID == types.UID(static) || static == "" {
		t.Errorf("mirror pod UID %s, static pod's %q; want two UIDs", m.UID, static)
	}
	// The runtime runs the static pod, once: the mirror pod got no worker.
	if got := sandboxesOf(t, rt); !slices.Equal(got, []types.UID{types.UID(static)}) {
		t.Errorf("the runtime holds sandboxes of %v; want only the static pod's, %s", got, static)
	}
	if cs := m.Status.ContainerStatuses; len(cs) != 1 || !strings.HasPrefix(cs[0].ContainerID, "simulated://") || m.Status.PodIP == "" {
		t.Errorf("mirror pod status %s podIP %q; want the static pod's container and address", statusString(m), m.Status.PodIP)
	}

	// The kubelet server finds the static pod (the runtime's UID) by the
	// mirror pod's name, with its status; /pods lists it instead of the mirror.
	p, ok := n.k.GetPod("default", "web-hollow-0")
	if !ok || p.UID != types.UID(static) || len(p.Status.ContainerStatuses) != 1 {
		t.Errorf("GetPod(web-hollow-0) = %v, %v; want the static pod %s with its status", p, ok, static)
	}
	if got := n.k.ListPods(); len(got) != 1 || got[0].UID != types.UID(static) {
		t.Errorf("ListPods() = %d pods; want the static pod only", len(got))
	}
}

func TestMirrorPodDeletedIsMadeAgain(t *testing.T) {
	c := tendtest.Start(t, tendtest.Options{})
	client := c.Client()
	dir := t.TempDir()
	writeManifest(t, dir, "web.yaml", staticWeb)
	rt := newRuntime()
	startStatic(t, staticConfig(client, rt, dir))
	before := mirrorRunning(t, client, "web-hollow-0")

	// As kubectl delete does: a graceful deletion. And then at once.
	for _, grace := range []*int64{nil, ptrTo(int64(0))} {
		old := waitPod(t, client, "web-hollow-0", running)
		if err := client.CoreV1().Pods("default").Delete(context.Background(), "web-hollow-0", metav1.DeleteOptions{GracePeriodSeconds: grace}); err != nil {
			t.Fatal(err)
		}
		after := waitPod(t, client, "web-hollow-0", func(p *corev1.Pod) string {
			if p.UID == old.UID || p.DeletionTimestamp != nil {
				return "not a new mirror pod yet"
			}
			return runningAndReady(p)
		})
		b, a := before.Status.ContainerStatuses[0], after.Status.ContainerStatuses[0]
		if a.ContainerID != b.ContainerID || a.RestartCount != 0 || after.Status.PodIP != before.Status.PodIP {
			t.Errorf("after the mirror pod's deletion (grace %v): container %s restarts %d ip %s; want %s, 0, %s: the static pod ran on",
				grace, a.ContainerID, a.RestartCount, after.Status.PodIP, b.ContainerID, before.Status.PodIP)
		}
	}
	if got := sandboxesOf(t, rt); len(got) != 1 {
		t.Errorf("the runtime holds %d sandboxes; want 1", len(got))
	}
}

// mirrorOf is a mirror pod as a user might make one by hand.
func mirrorOf(name, hash string) *corev1.Pod {
	p := newPod(name, "hollow-0", annotate(staticpods.ConfigMirrorAnnotation, hash))
	return p
}

func TestStaleAndOrphanedMirrorPods(t *testing.T) {
	c := tendtest.Start(t, tendtest.Options{})
	client := c.Client()
	stale := createPod(t, client, mirrorOf("web-hollow-0", "stale"))
	orphan := createPod(t, client, mirrorOf("ghost-hollow-0", "whatever"))
	dir := t.TempDir()
	writeManifest(t, dir, "web.yaml", staticWeb)
	startStatic(t, staticConfig(client, newRuntime(), dir))

	m := mirrorRunning(t, client, "web-hollow-0")
	if m.UID == stale.UID || m.Annotations[staticpods.ConfigMirrorAnnotation] != m.Annotations[staticpods.ConfigHashAnnotation] {
		t.Errorf("mirror pod %s with hash %q; want a new one, with the static pod's hash %q", m.UID,
			m.Annotations[staticpods.ConfigMirrorAnnotation], m.Annotations[staticpods.ConfigHashAnnotation])
	}
	tendtest.Eventually(t, waitFor, func() string {
		if p, err := getPod(client, "ghost-hollow-0"); err == nil && p.UID == orphan.UID {
			return "the orphaned mirror pod ghost-hollow-0 is still there"
		} else if err != nil && !apierrors.IsNotFound(err) {
			return err.Error()
		}
		return ""
	})
}

// of returns the events recorded about the object name.
func (r *recorder) of(name string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events[name])
}

// orderRuntime is the simulated runtime that logs the pod sandboxes it runs
// and the containers it stops, by pod UID, in order.
type orderRuntime struct {
	*simulated.Runtime
	mu  sync.Mutex
	log []string
	ran map[types.UID]time.Time
}

func (r *orderRuntime) RunPodSandbox(ctx context.Context, cfg kubelet.SandboxConfig) (string, error) {
	r.note("run " + string(cfg.PodUID))
	r.mu.Lock()
	if r.ran == nil {
		r.ran = map[types.UID]time.Time{}
	}
	r.ran[cfg.PodUID] = time.Now()
	r.mu.Unlock()
	return r.Runtime.RunPodSandbox(ctx, cfg)
}

// runAt is when the sandbox of a pod was run.
func (r *orderRuntime) runAt(uid string) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ran[types.UID(uid)]
}

func (r *orderRuntime) StopContainer(ctx context.Context, id string, grace time.Duration) error {
	if st, err := r.Runtime.ContainerStatus(ctx, id); err == nil && st.State == kubelet.ContainerRunning {
		r.note("stop " + string(st.PodUID))
	}
	return r.Runtime.StopContainer(ctx, id, grace)
}

// Exec, Attach and PortForward make it an ExecRuntime, which runs preStop
// hooks (the kubelet sleeps a sleep action itself).
func (r *orderRuntime) Exec(context.Context, string, kubelet.ExecOptions) (int, error) { return 0, nil }
func (r *orderRuntime) Attach(context.Context, string, kubelet.ExecOptions) error {
	return errors.New("not supported")
}
func (r *orderRuntime) PortForward(context.Context, string, int32, io.ReadWriteCloser) error {
	return errors.New("not supported")
}

var _ kubelet.ExecRuntime = (*orderRuntime)(nil)

func (r *orderRuntime) note(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.log = append(r.log, s)
}

func (r *orderRuntime) events() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.log)
}

func TestManifestChangedThenRemoved(t *testing.T) {
	c := tendtest.Start(t, tendtest.Options{})
	client := c.Client()
	dir := t.TempDir()
	// A preStop hook that takes a second: the new pod must wait for it.
	slow := strings.Replace(staticWeb, "    image: nginx:1.27\n",
		"    image: nginx:1.27\n    lifecycle: {preStop: {sleep: {seconds: 1}}}\n", 1)
	writeManifest(t, dir, "web.yaml", slow)
	rt := &orderRuntime{Runtime: newRuntime()}
	rec := &recorder{}
	cfg := staticConfig(client, rt, dir)
	cfg.Recorder = rec
	startStatic(t, cfg)
	first := mirrorRunning(t, client, "web-hollow-0")
	oldUID := first.Annotations[staticpods.ConfigHashAnnotation]

	changedAt := time.Now()
	writeManifest(t, dir, "web.yaml", strings.Replace(slow, "nginx:1.27", "nginx:1.28", 1))
	second := waitPod(t, client, "web-hollow-0", func(p *corev1.Pod) string {
		if p.Spec.Containers[0].Image != "nginx:1.28" {
			return "still the first version"
		}
		return runningAndReady(p)
	})
	newUID := second.Annotations[staticpods.ConfigHashAnnotation]
	if newUID == oldUID || second.UID == first.UID || second.Annotations[staticpods.ConfigMirrorAnnotation] != newUID {
		t.Errorf("after the change: static pod %s (was %s), mirror pod %s (was %s) with hash %q; want new ones, with the new hash",
			newUID, oldUID, second.UID, first.UID, second.Annotations[staticpods.ConfigMirrorAnnotation])
	}
	log := rt.events()
	stop, run := slices.Index(log, "stop "+oldUID), slices.Index(log, "run "+newUID)
	ranAt := rt.runAt(newUID)
	if stop < 0 || run < 0 || run < stop {
		t.Errorf("runtime calls %q; want the old pod's container stopped before the new pod's sandbox runs", log)
	}
	if d := ranAt.Sub(changedAt); d < time.Second {
		t.Errorf("the new pod ran %v after the change; want after the old one's 1s preStop hook", d)
	}
	if !rec.has("web-hollow-0", "Normal Killing: Stopping container app") {
		t.Errorf("no Killing event for the old static pod; events %v", rec.of("web-hollow-0"))
	}
	if got := sandboxesOf(t, rt); !slices.Equal(got, []types.UID{types.UID(newUID)}) {
		t.Errorf("the runtime holds sandboxes of %v; want the new pod's only", got)
	}

	if err := os.Remove(filepath.Join(dir, "web.yaml")); err != nil {
		t.Fatal(err)
	}
	waitGone(t, client, "web-hollow-0")
	tendtest.Eventually(t, waitFor, func() string {
		if got := sandboxesOf(t, rt); len(got) > 0 {
			return fmt.Sprintf("the runtime still holds sandboxes of %v", got)
		}
		return ""
	})
}

func TestStaticPodStatusWaitsForItsMirrorPod(t *testing.T) {
	c := tendtest.Start(t, tendtest.Options{})
	client := c.Client()
	// A pod of the API holds the mirror pod's name (on another node): the
	// static pod runs without a mirror pod, its status kept.
	blocker := createPod(t, client, newPod("web-hollow-0", "elsewhere"))
	dir := t.TempDir()
	writeManifest(t, dir, "web.yaml", staticWeb)
	rt := newRuntime()
	startStatic(t, staticConfig(client, rt, dir))
	tendtest.Eventually(t, waitFor, func() string {
		cs, _ := rt.ListContainers(context.Background(), "")
		if len(cs) != 1 || cs[0].State != kubelet.ContainerRunning {
			return "the static pod's container is not running"
		}
		return ""
	})
	time.Sleep(500 * time.Millisecond) // more than a mirror pod retry
	p, err := getPod(client, "web-hollow-0")
	if err != nil || p.UID != blocker.UID || len(p.Status.ContainerStatuses) != 0 {
		t.Fatalf("the API's pod web-hollow-0: %v, %v; want it untouched", p, err)
	}

	if err := client.CoreV1().Pods("default").Delete(context.Background(), "web-hollow-0", metav1.DeleteOptions{GracePeriodSeconds: ptrTo(int64(0))}); err != nil {
		t.Fatal(err)
	}
	m := mirrorRunning(t, client, "web-hollow-0")
	if c := podCondition(m, corev1.PodReady); c == nil || c.LastTransitionTime.IsZero() {
		t.Errorf("mirror pod Ready condition %v; want the kept status, with its times", c)
	}
}

func TestKubeletRestartAdoptsStaticPods(t *testing.T) {
	c := tendtest.Start(t, tendtest.Options{})
	client := c.Client()
	dir := t.TempDir()
	writeManifest(t, dir, "web.yaml", staticWeb)
	rt := newRuntime()
	first := startStatic(t, staticConfig(client, rt, dir))
	before := mirrorRunning(t, client, "web-hollow-0")
	first.stop()

	startStatic(t, staticConfig(client, rt, dir))
	// Another pod's start shows the new kubelet is at work.
	createPod(t, client, newPod("other", "hollow-0"))
	waitPod(t, client, "other", runningAndReady)
	after := mirrorRunning(t, client, "web-hollow-0")
	b, a := before.Status.ContainerStatuses[0], after.Status.ContainerStatuses[0]
	if after.UID != before.UID || a.ContainerID != b.ContainerID || a.RestartCount != 0 {
		t.Errorf("after the restart: mirror pod %s container %s restarts %d; want %s, %s, 0",
			after.UID, a.ContainerID, a.RestartCount, before.UID, b.ContainerID)
	}
	if got := sandboxesOf(t, rt); len(got) != 2 {
		t.Errorf("the runtime holds %d sandboxes; want 2 (the static pod's, other's)", len(got))
	}
}

func TestStaticPodManifestErrorsAndAdmission(t *testing.T) {
	c := tendtest.Start(t, tendtest.Options{})
	client := c.Client()
	dir := t.TempDir()
	writeManifest(t, dir, "bad.yaml", "kind: Pod\nmetadata: {name: bad}\n")
	writeManifest(t, dir, "secret.yaml", strings.Replace(staticWeb, "spec:\n", "spec:\n  imagePullSecrets: [{name: regcred}]\n", 1))
	writeManifest(t, dir, "big.yaml", strings.Replace(strings.Replace(staticWeb, "name: web", "name: big", 1),
		"    image: nginx:1.27\n", "    image: nginx:1.27\n    resources: {requests: {cpu: '3'}}\n", 1))
	rec := &recorder{}
	cfg := staticConfig(client, newRuntime(), dir)
	cfg.Recorder = rec
	startStatic(t, cfg)

	mirrorRunning(t, client, "big-hollow-0")
	for _, want := range []string{
		"Warning FailedValidation: Could not process static pod manifest " + filepath.Join(dir, "bad.yaml") + ":",
		"Warning FailedValidation: Could not process static pod manifest " + filepath.Join(dir, "secret.yaml") + ": static pods may not reference secrets",
	} {
		tendtest.Eventually(t, waitFor, func() string {
			if !rec.has("hollow-0", want) {
				return fmt.Sprintf("no event %q on the node; events %v", want, rec.of("hollow-0"))
			}
			return ""
		})
	}
	// The static pod counts for admission: 3 of the node's 4 CPUs are taken.
	createPod(t, client, newPod("api", "hollow-0", func(p *corev1.Pod) {
		p.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}
	}))
	waitPod(t, client, "api", func(p *corev1.Pod) string {
		if p.Status.Phase != corev1.PodFailed || p.Status.Reason != "OutOfcpu" {
			return "not rejected OutOfcpu"
		}
		return ""
	})
}
