package replicaset

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tendhq/tend/controllers"
	"github.com/tendhq/tend/informers"
	"github.com/tendhq/tend/tendtest"
)

// env is a test cluster with a namespace, a factory and a recorder.
type env struct {
	t       *testing.T
	ctx     context.Context
	cancel  context.CancelFunc
	cluster *tendtest.Cluster
	client  kubernetes.Interface
	factory *informers.Factory
	rec     *controllers.Recorder
	ns      string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	c := tendtest.Start(t, tendtest.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	client := c.Client()
	f, err := informers.NewFactory(c.RESTConfig(), informers.FactoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ns := "test"
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rec := controllers.NewRecorder(client, "replicaset-controller", controllers.RecorderOptions{Host: "test", Logf: t.Logf})
	go rec.Run(ctx)
	return &env{t: t, ctx: ctx, cancel: cancel, cluster: c, client: client, factory: f, rec: rec, ns: ns}
}

// run starts the factory and runs c until the test ends.
func (e *env) run(cs ...*controllers.Controller) {
	e.t.Helper()
	e.factory.Start(e.ctx)
	if !e.factory.WaitForSync(e.ctx) {
		e.t.Fatal("informers did not sync")
	}
	var wg sync.WaitGroup
	for _, c := range cs {
		wg.Go(func() { _ = c.Run(e.ctx) })
	}
	e.t.Cleanup(func() {
		e.cancel()
		wg.Wait()
	})
}

// startReplicaSets runs the ReplicaSet controller.
func (e *env) startReplicaSets() {
	e.t.Helper()
	e.run(New(e.factory, e.client, e.rec, controllers.Options{Workers: 2, Logf: e.t.Logf}))
}

var testLabels = map[string]string{"app": "web"}

func template(lbls map[string]string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: lbls, Annotations: map[string]string{"note": "from-template"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}
}

func newReplicaSet(name string, replicas int32) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: testLabels},
			Template: template(testLabels),
		},
	}
}

func (e *env) createRS(rs *appsv1.ReplicaSet) *appsv1.ReplicaSet {
	e.t.Helper()
	out, err := e.client.AppsV1().ReplicaSets(e.ns).Create(e.ctx, rs, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatalf("creating ReplicaSet %s: %v", rs.Name, err)
	}
	return out
}

func (e *env) scaleRS(name string, replicas int32) {
	e.t.Helper()
	patch := fmt.Appendf(nil, `{"spec":{"replicas":%d}}`, replicas)
	if _, err := e.client.AppsV1().ReplicaSets(e.ns).Patch(e.ctx, name, "application/merge-patch+json", patch, metav1.PatchOptions{}); err != nil {
		e.t.Fatalf("scaling ReplicaSet %s to %d: %v", name, replicas, err)
	}
}

func (e *env) getRS(name string) *appsv1.ReplicaSet {
	e.t.Helper()
	rs, err := e.client.AppsV1().ReplicaSets(e.ns).Get(e.ctx, name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatalf("getting ReplicaSet %s: %v", name, err)
	}
	return rs
}

// pods lists the namespace's pods from the API.
func (e *env) pods() []corev1.Pod {
	e.t.Helper()
	l, err := e.client.CoreV1().Pods(e.ns).List(e.ctx, metav1.ListOptions{})
	if err != nil {
		e.t.Fatalf("listing pods: %v", err)
	}
	return l.Items
}

// controlledBy returns the pods whose controller has uid.
func controlledBy(pods []corev1.Pod, uid string) []corev1.Pod {
	var out []corev1.Pod
	for _, p := range pods {
		if ref := metav1.GetControllerOf(&p); ref != nil && string(ref.UID) == uid {
			out = append(out, p)
		}
	}
	return out
}

// events lists the events about the object named name with reason.
func (e *env) events(name, reason string) []corev1.Event {
	e.t.Helper()
	l, err := e.client.CoreV1().Events(e.ns).List(e.ctx, metav1.ListOptions{})
	if err != nil {
		e.t.Fatalf("listing events: %v", err)
	}
	var out []corev1.Event
	for _, ev := range l.Items {
		if ev.InvolvedObject.Name == name && ev.Reason == reason {
			out = append(out, ev)
		}
	}
	return out
}

// eventually is tendtest.Eventually.
func eventually(t *testing.T, timeout time.Duration, cond func() string) {
	t.Helper()
	tendtest.Eventually(t, timeout, cond)
}

// rsStatus waits until the ReplicaSet's status is want (conditions aside).
func (e *env) waitStatus(name string, want appsv1.ReplicaSetStatus) {
	e.t.Helper()
	eventually(e.t, 10*time.Second, func() string {
		rs, err := e.client.AppsV1().ReplicaSets(e.ns).Get(e.ctx, name, metav1.GetOptions{})
		if err != nil {
			return fmt.Sprintf("getting ReplicaSet %s: %v", name, err)
		}
		got := rs.Status
		got.Conditions = nil
		if got.ObservedGeneration == 0 {
			return fmt.Sprintf("ReplicaSet %s status = %+v; want observedGeneration set", name, got)
		}
		want.ObservedGeneration = got.ObservedGeneration
		if !statusEqual(got, want) {
			return fmt.Sprintf("ReplicaSet %s status = %s; want %s", name, statusString(got), statusString(want))
		}
		return ""
	})
}

func statusString(s appsv1.ReplicaSetStatus) string {
	term := "nil"
	if s.TerminatingReplicas != nil {
		term = fmt.Sprint(*s.TerminatingReplicas)
	}
	return fmt.Sprintf("{replicas %d, fullyLabeled %d, ready %d, available %d, terminating %s, observedGeneration %d, %d conditions}",
		s.Replicas, s.FullyLabeledReplicas, s.ReadyReplicas, s.AvailableReplicas, term, s.ObservedGeneration, len(s.Conditions))
}

func ptrTo[T any](v T) *T { return &v }
