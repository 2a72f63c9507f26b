package replicaset

import (
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tendhq/tend/controllers"
	"github.com/tendhq/tend/informers"
	"github.com/tendhq/tend/tendtest"
)

func TestScaleUpAndDown(t *testing.T) {
	e := newEnv(t)
	tendtest.StartKubelet(t, e.cluster, tendtest.KubeletOptions{})
	e.startReplicaSets()
	rs := e.createRS(newReplicaSet("web", 3))

	e.waitStatus("web", appsv1.ReplicaSetStatus{Replicas: 3, FullyLabeledReplicas: 3, ReadyReplicas: 3, AvailableReplicas: 3, TerminatingReplicas: ptrTo(int32(0))})
	pods := controlledBy(e.pods(), string(rs.UID))
	if len(pods) != 3 {
		t.Fatalf("pods of web = %d; want 3", len(pods))
	}
	for _, p := range pods {
		ref := metav1.GetControllerOf(&p)
		if ref.Kind != "ReplicaSet" || ref.APIVersion != "apps/v1" || ref.Name != "web" || ref.BlockOwnerDeletion == nil || !*ref.BlockOwnerDeletion {
			t.Errorf("pod %s controller = %+v; want apps/v1 ReplicaSet web, blockOwnerDeletion", p.Name, ref)
		}
		if p.GenerateName != "web-" || !strings.HasPrefix(p.Name, "web-") {
			t.Errorf("pod %s generateName = %q; want web-", p.Name, p.GenerateName)
		}
		if p.Labels["app"] != "web" || p.Annotations["note"] != "from-template" {
			t.Errorf("pod %s labels %v annotations %v; want the template's", p.Name, p.Labels, p.Annotations)
		}
	}
	if got := len(e.events("web", reasonSuccessfulCreate)); got == 0 {
		t.Errorf("SuccessfulCreate events = %d; want some", got)
	}
	if got := e.getRS("web").Status.ObservedGeneration; got != e.getRS("web").Generation {
		t.Errorf("observedGeneration = %d; want the generation", got)
	}

	e.scaleRS("web", 1)
	e.waitStatus("web", appsv1.ReplicaSetStatus{Replicas: 1, FullyLabeledReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1, TerminatingReplicas: ptrTo(int32(0))})
	eventually(t, 5*time.Second, func() string {
		if got := len(controlledBy(e.pods(), string(rs.UID))); got != 1 {
			return fmt.Sprintf("pods of web = %d; want 1", got)
		}
		if got := len(e.events("web", reasonSuccessfulDelete)); got == 0 {
			return "no SuccessfulDelete event"
		}
		return ""
	})

	e.scaleRS("web", 0)
	e.waitStatus("web", appsv1.ReplicaSetStatus{TerminatingReplicas: ptrTo(int32(0))})
	eventually(t, 5*time.Second, func() string {
		if got := len(e.pods()); got != 0 {
			return fmt.Sprintf("pods = %d; want 0", got)
		}
		return ""
	})
}

func TestAdoptionAndRelease(t *testing.T) {
	e := newEnv(t)
	e.startReplicaSets()
	orphan := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "orphan", Labels: map[string]string{"app": "web"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}
	if _, err := e.client.CoreV1().Pods(e.ns).Create(e.ctx, orphan, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rs := e.createRS(newReplicaSet("web", 2))

	// The orphan is adopted, and only one pod is created.
	eventually(t, 10*time.Second, func() string {
		pods := controlledBy(e.pods(), string(rs.UID))
		names := podNames(pods)
		if len(pods) != 2 || !strings.Contains(names, "orphan") {
			return fmt.Sprintf("pods of web = %s; want orphan and one more", names)
		}
		return ""
	})
	if got := len(e.pods()); got != 2 {
		t.Fatalf("pods = %d; want 2", got)
	}

	// A pod whose labels stop matching is released and replaced.
	patch := []byte(`{"metadata":{"labels":{"app":"other"}}}`)
	if _, err := e.client.CoreV1().Pods(e.ns).Patch(e.ctx, "orphan", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() string {
		p, err := e.client.CoreV1().Pods(e.ns).Get(e.ctx, "orphan", metav1.GetOptions{})
		if err != nil {
			return err.Error()
		}
		if ref := metav1.GetControllerOf(p); ref != nil {
			return fmt.Sprintf("released pod's controller = %s; want none", ref.Name)
		}
		if len(p.OwnerReferences) != 0 {
			return fmt.Sprintf("released pod's ownerReferences = %v; want none", p.OwnerReferences)
		}
		pods := controlledBy(e.pods(), string(rs.UID))
		if len(pods) != 2 || strings.Contains(podNames(pods), "orphan") {
			return fmt.Sprintf("pods of web = %s; want two, not orphan", podNames(pods))
		}
		return ""
	})
	if got := len(e.pods()); got != 3 {
		t.Errorf("pods = %d; want 3 (two of web, the released one)", got)
	}
}

func podNames(pods []corev1.Pod) string {
	var names []string
	for _, p := range pods {
		names = append(names, p.Name)
	}
	return strings.Join(names, ",")
}

func TestDeleteOrder(t *testing.T) {
	e := newEnv(t)
	e.startReplicaSets() // no kubelet: pods stay Pending until the test says otherwise
	rs := e.createRS(newReplicaSet("web", 3))
	var pods []corev1.Pod
	eventually(t, 10*time.Second, func() string {
		pods = controlledBy(e.pods(), string(rs.UID))
		if len(pods) != 3 {
			return fmt.Sprintf("pods of web = %d; want 3", len(pods))
		}
		return ""
	})
	// Two pods are running and ready, one for an hour and one for ten
	// seconds; the third is still pending.
	now := time.Now()
	markReady(t, e, pods[0].Name, now.Add(-time.Hour))
	markReady(t, e, pods[1].Name, now.Add(-10*time.Second))
	e.waitStatus("web", appsv1.ReplicaSetStatus{Replicas: 3, FullyLabeledReplicas: 3, ReadyReplicas: 2, AvailableReplicas: 2, TerminatingReplicas: ptrTo(int32(0))})

	for _, step := range []struct {
		replicas int32
		gone     string
	}{
		{2, pods[2].Name}, // not ready goes first
		{1, pods[1].Name}, // then the one ready for less time
	} {
		e.scaleRS("web", step.replicas)
		eventually(t, 10*time.Second, func() string {
			left := controlledBy(e.pods(), string(rs.UID))
			if len(left) != int(step.replicas) {
				return fmt.Sprintf("pods of web = %s; want %d", podNames(left), step.replicas)
			}
			if strings.Contains(podNames(left), step.gone) {
				return fmt.Sprintf("scaled to %d: pods %s; want %s deleted", step.replicas, podNames(left), step.gone)
			}
			return ""
		})
	}
	if left := podNames(controlledBy(e.pods(), string(rs.UID))); left != pods[0].Name {
		t.Errorf("pods left = %s; want %s, ready the longest", left, pods[0].Name)
	}
}

// markReady makes a pod Running and Ready since the given time, as a kubelet
// would.
func markReady(t *testing.T, e *env, name string, since time.Time) {
	t.Helper()
	ts := metav1.NewTime(since)
	patch := fmt.Appendf(nil, `{"status":{"phase":"Running","conditions":[{"type":"Ready","status":"True","lastTransitionTime":%q}]}}`,
		ts.UTC().Format(time.RFC3339))
	if _, err := e.client.CoreV1().Pods(e.ns).Patch(e.ctx, name, types.MergePatchType, patch, metav1.PatchOptions{}, "status"); err != nil {
		t.Fatalf("marking pod %s ready: %v", name, err)
	}
}

func TestAvailableAfterMinReadySeconds(t *testing.T) {
	e := newEnv(t)
	tendtest.StartKubelet(t, e.cluster, tendtest.KubeletOptions{})
	e.startReplicaSets()
	rs := newReplicaSet("web", 2)
	rs.Spec.MinReadySeconds = 2
	e.createRS(rs)

	// Ready at once, available only once ready for more than two seconds: the
	// controller looks again although no pod changes.
	e.waitStatus("web", appsv1.ReplicaSetStatus{Replicas: 2, FullyLabeledReplicas: 2, ReadyReplicas: 2, AvailableReplicas: 0, TerminatingReplicas: ptrTo(int32(0))})
	readyAt := time.Now()
	e.waitStatus("web", appsv1.ReplicaSetStatus{Replicas: 2, FullyLabeledReplicas: 2, ReadyReplicas: 2, AvailableReplicas: 2, TerminatingReplicas: ptrTo(int32(0))})
	// The ready condition's time is in whole seconds, so availability comes
	// one to two seconds after readiness is seen; nothing but the controller's
	// own requeue brings it.
	if took := time.Since(readyAt); took > 4*time.Second {
		t.Errorf("available %v after ready; want about minReadySeconds (2s)", took)
	}
}

func TestFailedCreate(t *testing.T) {
	e := newEnv(t)
	e.startReplicaSets()
	// The apiserver's Priority admission rejects pods naming a PriorityClass
	// that does not exist, as a quota rejects pods over it.
	rs := newReplicaSet("web", 3)
	rs.Spec.Template.Spec.PriorityClassName = "gold"
	created := e.createRS(rs)

	eventually(t, 10*time.Second, func() string {
		st := e.getRS("web").Status
		c := condition(st, appsv1.ReplicaSetReplicaFailure)
		if c == nil {
			return "no ReplicaFailure condition"
		}
		if c.Status != corev1.ConditionTrue || c.Reason != reasonFailedCreate || !strings.Contains(c.Message, "no PriorityClass with name gold") {
			return fmt.Sprintf("ReplicaFailure condition = %+v; want True, FailedCreate, the apiserver's message", *c)
		}
		evs := e.events("web", reasonFailedCreatePod)
		if len(evs) == 0 {
			return "no FailedCreate event"
		}
		if evs[0].Type != corev1.EventTypeWarning || !strings.HasPrefix(evs[0].Message, "Error creating: ") {
			return fmt.Sprintf("FailedCreate event = %s %q; want a Warning, Error creating: ...", evs[0].Type, evs[0].Message)
		}
		return ""
	})
	if got := len(controlledBy(e.pods(), string(created.UID))); got != 0 {
		t.Fatalf("pods = %d; want 0", got)
	}

	// Once the class exists, the pods are created and the condition goes:
	// the failed creations were expected no more, or the set would wait five
	// minutes for them.
	pc := &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "gold"}, Value: 1000}
	if _, err := e.client.SchedulingV1().PriorityClasses().Create(e.ctx, pc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, func() string {
		st := e.getRS("web").Status
		if c := condition(st, appsv1.ReplicaSetReplicaFailure); c != nil || st.Replicas != 3 {
			return fmt.Sprintf("status = %s, ReplicaFailure %v; want 3 replicas, no failure", statusString(st), c)
		}
		return ""
	})
}

func TestTerminatingPodsAreNotReplicas(t *testing.T) {
	e := newEnv(t)
	e.startReplicaSets()
	rs := newReplicaSet("web", 2)
	// A finalizer holds deleted pods in Terminating.
	rs.Spec.Template.Finalizers = []string{"test.tend/hold"}
	created := e.createRS(rs)
	e.waitStatus("web", appsv1.ReplicaSetStatus{Replicas: 2, FullyLabeledReplicas: 2, TerminatingReplicas: ptrTo(int32(0))})
	t.Cleanup(func() { releaseFinalizers(t, e) })

	// A pod deleted by someone else is replaced at once, though it lingers.
	victim := controlledBy(e.pods(), string(created.UID))[0]
	if err := e.client.CoreV1().Pods(e.ns).Delete(e.ctx, victim.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitStatus("web", appsv1.ReplicaSetStatus{Replicas: 2, FullyLabeledReplicas: 2, TerminatingReplicas: ptrTo(int32(1))})
	if got := len(controlledBy(e.pods(), string(created.UID))); got != 3 {
		t.Errorf("pods of web = %d; want 3 (two active, one terminating)", got)
	}

	// Scaling down counts the pod it deletes as gone at once, too.
	e.scaleRS("web", 1)
	e.waitStatus("web", appsv1.ReplicaSetStatus{Replicas: 1, FullyLabeledReplicas: 1, TerminatingReplicas: ptrTo(int32(2))})
}

// releaseFinalizers removes the test's finalizer from every pod.
func releaseFinalizers(t *testing.T, e *env) {
	for _, p := range e.pods() {
		_, _ = e.client.CoreV1().Pods(e.ns).Patch(e.ctx, p.Name, types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{})
	}
}

func TestSetBeingDeletedCreatesNothing(t *testing.T) {
	e := newEnv(t)
	e.startReplicaSets()
	rs := newReplicaSet("web", 2)
	rs.Finalizers = []string{"test.tend/hold"}
	created := e.createRS(rs)
	e.waitStatus("web", appsv1.ReplicaSetStatus{Replicas: 2, FullyLabeledReplicas: 2, TerminatingReplicas: ptrTo(int32(0))})
	t.Cleanup(func() {
		_, _ = e.client.AppsV1().ReplicaSets(e.ns).Patch(e.ctx, "web", types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{})
	})

	if err := e.client.AppsV1().ReplicaSets(e.ns).Delete(e.ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	victim := controlledBy(e.pods(), string(created.UID))[0]
	if err := e.client.CoreV1().Pods(e.ns).Delete(e.ctx, victim.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// The status still follows the pods, but nothing replaces the one deleted.
	e.waitStatus("web", appsv1.ReplicaSetStatus{Replicas: 1, FullyLabeledReplicas: 1, TerminatingReplicas: ptrTo(int32(0))})
	time.Sleep(300 * time.Millisecond)
	if got := len(controlledBy(e.pods(), string(created.UID))); got != 1 {
		t.Errorf("pods of a ReplicaSet being deleted = %d; want 1 (none created)", got)
	}
}

func TestReplicationController(t *testing.T) {
	e := newEnv(t)
	tendtest.StartKubelet(t, e.cluster, tendtest.KubeletOptions{})
	e.run(NewReplicationController(e.factory, e.client, e.rec, controllers.Options{Logf: t.Logf}))
	tmpl := template(testLabels)
	rc := &corev1.ReplicationController{
		ObjectMeta: metav1.ObjectMeta{Name: "legacy"},
		Spec:       corev1.ReplicationControllerSpec{Replicas: ptrTo(int32(3)), Selector: testLabels, Template: &tmpl},
	}
	created, err := e.client.CoreV1().ReplicationControllers(e.ns).Create(e.ctx, rc, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitRC := func(replicas int32) {
		t.Helper()
		eventually(t, 10*time.Second, func() string {
			got, err := e.client.CoreV1().ReplicationControllers(e.ns).Get(e.ctx, "legacy", metav1.GetOptions{})
			if err != nil {
				return err.Error()
			}
			st := got.Status
			want := corev1.ReplicationControllerStatus{Replicas: replicas, FullyLabeledReplicas: replicas, ReadyReplicas: replicas,
				AvailableReplicas: replicas, ObservedGeneration: got.Generation}
			if st.Replicas != want.Replicas || st.FullyLabeledReplicas != want.FullyLabeledReplicas || st.ReadyReplicas != want.ReadyReplicas ||
				st.AvailableReplicas != want.AvailableReplicas || st.ObservedGeneration != want.ObservedGeneration {
				return fmt.Sprintf("ReplicationController status = %+v; want %+v", st, want)
			}
			if pods := controlledBy(e.pods(), string(created.UID)); len(pods) != int(replicas) {
				return fmt.Sprintf("pods of legacy = %d; want %d", len(pods), replicas)
			}
			return ""
		})
	}
	waitRC(3)
	for _, p := range controlledBy(e.pods(), string(created.UID)) {
		if ref := metav1.GetControllerOf(&p); ref.Kind != "ReplicationController" || ref.APIVersion != "v1" || p.GenerateName != "legacy-" {
			t.Errorf("pod %s: controller %s %s, generateName %q; want v1 ReplicationController, legacy-", p.Name, ref.APIVersion, ref.Kind, p.GenerateName)
		}
	}
	if len(e.events("legacy", reasonSuccessfulCreate)) == 0 {
		t.Error("no SuccessfulCreate event about the ReplicationController")
	}
	patch := []byte(`{"spec":{"replicas":1}}`)
	if _, err := e.client.CoreV1().ReplicationControllers(e.ns).Patch(e.ctx, "legacy", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	waitRC(1)
}

// TestConstructedAfterStart covers a controller made after the factory
// started: the informers cannot take the index any more, and the controller
// lists pods by namespace instead.
func TestConstructedAfterStart(t *testing.T) {
	e := newEnv(t)
	informers.For[*corev1.Pod](e.factory)
	informers.For[*appsv1.ReplicaSet](e.factory)
	e.factory.Start(e.ctx)
	if !e.factory.WaitForSync(e.ctx) {
		t.Fatal("informers did not sync")
	}
	e.startReplicaSets()
	orphan := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "orphan", Labels: testLabels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}
	if _, err := e.client.CoreV1().Pods(e.ns).Create(e.ctx, orphan, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rs := e.createRS(newReplicaSet("web", 3))
	e.waitStatus("web", appsv1.ReplicaSetStatus{Replicas: 3, FullyLabeledReplicas: 3, TerminatingReplicas: ptrTo(int32(0))})
	if pods := controlledBy(e.pods(), string(rs.UID)); len(pods) != 3 || !strings.Contains(podNames(pods), "orphan") {
		t.Errorf("pods of web = %s; want orphan and two more", podNames(pods))
	}
	e.scaleRS("web", 1)
	e.waitStatus("web", appsv1.ReplicaSetStatus{Replicas: 1, FullyLabeledReplicas: 1, TerminatingReplicas: ptrTo(int32(0))})
}
