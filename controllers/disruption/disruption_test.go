package disruption

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"

	"github.com/tendhq/tend/controllers"
	"github.com/tendhq/tend/controllers/deployment"
	"github.com/tendhq/tend/controllers/replicaset"
	"github.com/tendhq/tend/informers"
	"github.com/tendhq/tend/tendtest"
)

const ns = metav1.NamespaceDefault

// env is a test cluster running the ReplicaSet, Deployment and disruption
// controllers.
type env struct {
	t       *testing.T
	ctx     context.Context
	cluster *tendtest.Cluster
	client  kubernetes.Interface
}

// newEnv starts the cluster and the controllers; tune, when not nil, adjusts
// the disruption controller before it runs.
func newEnv(t *testing.T, tune func(*Controller)) *env {
	t.Helper()
	c := tendtest.Start(t, tendtest.Options{})
	client := c.Client()
	f, err := informers.NewFactory(c.RESTConfig(), informers.FactoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rec := controllers.NewRecorder(client, "controllermanager", controllers.RecorderOptions{Host: "test"})
	opts := controllers.Options{Workers: 2, Logf: t.Logf}
	dc := newController(f, client, rec, opts, clock.RealClock{})
	if tune != nil {
		tune(dc)
	}
	runs := []interface{ Run(context.Context) error }{replicaset.New(f, client, nil, opts), deployment.New(f, client, nil, opts), dc}
	f.Start(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { rec.Run(ctx) })
	for _, r := range runs {
		wg.Go(func() { _ = r.Run(ctx) })
	}
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	return &env{t: t, ctx: ctx, cluster: c, client: client}
}

func (e *env) createDeployment(name string, replicas int32) {
	e.t.Helper()
	lbls := map[string]string{"app": name}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: lbls},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: lbls},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx"}}},
			},
		},
	}
	if _, err := e.client.AppsV1().Deployments(ns).Create(e.ctx, d, metav1.CreateOptions{}); err != nil {
		e.t.Fatalf("creating Deployment %s: %v", name, err)
	}
}

func (e *env) createPDB(name string, spec policyv1.PodDisruptionBudgetSpec) {
	e.t.Helper()
	pdb := &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: spec}
	if _, err := e.client.PolicyV1().PodDisruptionBudgets(ns).Create(e.ctx, pdb, metav1.CreateOptions{}); err != nil {
		e.t.Fatalf("creating PodDisruptionBudget %s: %v", name, err)
	}
}

func (e *env) getPDB(name string) *policyv1.PodDisruptionBudget {
	e.t.Helper()
	pdb, err := e.client.PolicyV1().PodDisruptionBudgets(ns).Get(e.ctx, name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatalf("getting PodDisruptionBudget %s: %v", name, err)
	}
	return pdb
}

// want describes a budget's status.
type want struct {
	expected, desired, healthy, allowed int32
	reason                              string
}

// waitStatus waits until the budget's status is w, for its current
// generation.
func (e *env) waitStatus(name string, w want) *policyv1.PodDisruptionBudget {
	e.t.Helper()
	var pdb *policyv1.PodDisruptionBudget
	tendtest.Eventually(e.t, 20*time.Second, func() string {
		pdb = e.getPDB(name)
		if msg := statusMismatch(pdb, w); msg != "" {
			return fmt.Sprintf("PodDisruptionBudget %s: %s", name, msg)
		}
		return ""
	})
	return pdb
}

func statusMismatch(pdb *policyv1.PodDisruptionBudget, w want) string {
	st := pdb.Status
	got := want{st.ExpectedPods, st.DesiredHealthy, st.CurrentHealthy, st.DisruptionsAllowed, ""}
	if c := apimeta.FindStatusCondition(st.Conditions, policyv1.DisruptionAllowedCondition); c != nil {
		got.reason = c.Reason
	}
	if got != w || st.ObservedGeneration != pdb.Generation {
		return fmt.Sprintf("status %+v (observedGeneration %d of %d); want %+v", got, st.ObservedGeneration, pdb.Generation, w)
	}
	return ""
}

// readyPods returns the names of the Ready pods labeled app=app and not being
// deleted, sorted.
func (e *env) readyPods(app string) []string {
	e.t.Helper()
	list, err := e.client.CoreV1().Pods(ns).List(e.ctx, metav1.ListOptions{LabelSelector: "app=" + app})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil && podReady(&p) {
			out = append(out, p.Name)
		}
	}
	sort.Strings(out)
	return out
}

func (e *env) evict(name string) error {
	return e.client.CoreV1().Pods(ns).EvictV1(e.ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}})
}

func selectApp(app string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}
}

// TestEvictionRespectsBudget: a Deployment of 3 with minAvailable 2 allows one
// eviction; a second is refused with 429 until the evicted pod's replacement
// is Ready.
func TestEvictionRespectsBudget(t *testing.T) {
	e := newEnv(t, nil)
	kubelet := tendtest.StartKubelet(t, e.cluster, tendtest.KubeletOptions{})
	e.createDeployment("web", 3)
	two := intstr.FromInt32(2)
	e.createPDB("web", policyv1.PodDisruptionBudgetSpec{MinAvailable: &two, Selector: selectApp("web")})
	e.waitStatus("web", want{expected: 3, desired: 2, healthy: 3, allowed: 1, reason: policyv1.SufficientPodsReason})

	// No kubelet: the replacement of an evicted pod stays pending.
	kubelet.Stop()
	ready := e.readyPods("web")
	if len(ready) != 3 {
		t.Fatalf("ready pods = %v; want 3", ready)
	}
	if err := e.evict(ready[0]); err != nil {
		t.Fatalf("evicting %s, the one disruption allowed: %v", ready[0], err)
	}
	if err := e.evict(ready[1]); !apierrors.IsTooManyRequests(err) {
		t.Fatalf("evicting %s with no disruption left = %v; want 429 TooManyRequests", ready[1], err)
	}
	// The controller agrees: 2 healthy of 2 desired, and the replacement
	// (pending) does not count.
	e.waitStatus("web", want{expected: 3, desired: 2, healthy: 2, allowed: 0, reason: policyv1.InsufficientPodsReason})
	tendtest.Eventually(t, 20*time.Second, func() string {
		list, err := e.client.CoreV1().Pods(ns).List(e.ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil || len(list.Items) != 3 {
			return fmt.Sprintf("want the evicted pod replaced (3 pods), have %d (%v)", len(list.Items), err)
		}
		return ""
	})
	if err := e.evict(ready[1]); !apierrors.IsTooManyRequests(err) {
		t.Fatalf("evicting %s while the replacement is not Ready = %v; want 429 TooManyRequests", ready[1], err)
	}
	if st := e.getPDB("web").Status; st.DisruptionsAllowed != 0 {
		t.Fatalf("disruptionsAllowed while the replacement is not Ready = %d; want 0", st.DisruptionsAllowed)
	}

	// Once the replacement is Ready, one disruption is allowed again.
	tendtest.StartKubelet(t, e.cluster, tendtest.KubeletOptions{})
	e.waitStatus("web", want{expected: 3, desired: 2, healthy: 3, allowed: 1, reason: policyv1.SufficientPodsReason})
	if err := e.evict(ready[1]); err != nil {
		t.Fatalf("evicting %s once the replacement is Ready: %v", ready[1], err)
	}
}

// TestPercentOfDeploymentScale: percentages are of the Deployment's
// replicas, and follow it when it scales.
func TestPercentOfDeploymentScale(t *testing.T) {
	e := newEnv(t, nil)
	tendtest.StartKubelet(t, e.cluster, tendtest.KubeletOptions{})
	e.createDeployment("api", 3)
	pct := intstr.FromString("34%")
	e.createPDB("api", policyv1.PodDisruptionBudgetSpec{MaxUnavailable: &pct, Selector: selectApp("api")})
	// ceil(34% of 3) = 2 may be unavailable.
	e.waitStatus("api", want{expected: 3, desired: 1, healthy: 3, allowed: 2, reason: policyv1.SufficientPodsReason})

	e.scale("api", 6)
	// ceil(34% of 6) = 3 may be unavailable.
	e.waitStatus("api", want{expected: 6, desired: 3, healthy: 6, allowed: 3, reason: policyv1.SufficientPodsReason})
}

// scale patches a Deployment's scale subresource, as kubectl scale does.
func (e *env) scale(name string, replicas int32) {
	e.t.Helper()
	patch := fmt.Sprintf(`{"spec":{"replicas":%d}}`, replicas)
	if _, err := e.client.AppsV1().Deployments(ns).Patch(e.ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}, "scale"); err != nil {
		e.t.Fatalf("scaling Deployment %s to %d: %v", name, replicas, err)
	}
}

// TestMissingControllerFailsSafe: a percentage over pods whose controller
// cannot be found allows nothing, with reason SyncFailed; an integer budget
// over the same pods does not need the controller.
func TestMissingControllerFailsSafe(t *testing.T) {
	e := newEnv(t, nil)
	tendtest.StartKubelet(t, e.cluster, tendtest.KubeletOptions{})
	for i := range 2 {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("orphan-%d", i), Labels: map[string]string{"app": "orphan"},
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "missing",
					UID: "8b1f3c0e-0000-4000-8000-000000000000", Controller: ptr(true)}}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx"}}},
		}
		if _, err := e.client.CoreV1().Pods(ns).Create(e.ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating pod %s: %v", p.Name, err)
		}
	}
	pct := intstr.FromString("50%")
	e.createPDB("pct", policyv1.PodDisruptionBudgetSpec{MinAvailable: &pct, Selector: selectApp("orphan")})
	tendtest.Eventually(t, 20*time.Second, func() string {
		st := e.getPDB("pct").Status
		c := apimeta.FindStatusCondition(st.Conditions, policyv1.DisruptionAllowedCondition)
		if c == nil || c.Status != metav1.ConditionFalse || c.Reason != policyv1.SyncFailedReason || c.Message != `found no controllers for pod "orphan-0"` &&
			c.Message != `found no controllers for pod "orphan-1"` || st.DisruptionsAllowed != 0 {
			return fmt.Sprintf("PodDisruptionBudget pct: disruptionsAllowed %d, condition %+v; want 0, False SyncFailed found no controllers", st.DisruptionsAllowed, c)
		}
		return ""
	})
	one := intstr.FromInt32(1)
	e.createPDB("int", policyv1.PodDisruptionBudgetSpec{MinAvailable: &one, Selector: selectApp("orphan")})
	e.waitStatus("int", want{expected: 2, desired: 1, healthy: 2, allowed: 1, reason: policyv1.SufficientPodsReason})
	if err := e.evict("orphan-0"); err == nil || !apierrors.IsInternalError(err) {
		t.Errorf("evicting a pod two budgets select = %v; want 500 (the eviction subresource allows one budget per pod)", err)
	}
	// The warning comes with the pod's next change, as upstream's.
	if _, err := e.client.CoreV1().Pods(ns).Patch(e.ctx, "orphan-0", types.MergePatchType, []byte(`{"metadata":{"annotations":{"touched":"yes"}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatalf("annotating pod orphan-0: %v", err)
	}
	e.waitEvent("orphan-0", "MultiplePodDisruptionBudgets")
}

// waitEvent waits for an event of reason about the object named name.
func (e *env) waitEvent(name, reason string) {
	e.t.Helper()
	tendtest.Eventually(e.t, 10*time.Second, func() string {
		events, err := e.client.CoreV1().Events(ns).List(e.ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + name})
		if err != nil {
			return err.Error()
		}
		for _, ev := range events.Items {
			if ev.Reason == reason {
				return ""
			}
		}
		return fmt.Sprintf("want a %s event about %s, have %d events", reason, name, len(events.Items))
	})
}

// TestEmptySelectorSelectsAll: policy/v1's empty selector selects every pod of
// the namespace.
func TestEmptySelectorSelectsAll(t *testing.T) {
	e := newEnv(t, nil)
	tendtest.StartKubelet(t, e.cluster, tendtest.KubeletOptions{})
	e.createDeployment("a", 2)
	e.createDeployment("b", 1)
	one := intstr.FromInt32(1)
	e.createPDB("all", policyv1.PodDisruptionBudgetSpec{MinAvailable: &one, Selector: &metav1.LabelSelector{}})
	e.waitStatus("all", want{expected: 3, desired: 1, healthy: 3, allowed: 2, reason: policyv1.SufficientPodsReason})
}

// TestUnconfirmedEvictionExpires: a disruptedPods entry whose pod was never
// deleted stops counting after DeletionTimeout, and the pod is healthy again.
func TestUnconfirmedEvictionExpires(t *testing.T) {
	e := newEnv(t, nil)
	tendtest.StartKubelet(t, e.cluster, tendtest.KubeletOptions{})
	e.createDeployment("web", 3)
	two := intstr.FromInt32(2)
	e.createPDB("web", policyv1.PodDisruptionBudgetSpec{MinAvailable: &two, Selector: selectApp("web")})
	pdb := e.waitStatus("web", want{expected: 3, desired: 2, healthy: 3, allowed: 1, reason: policyv1.SufficientPodsReason})
	victim := e.readyPods("web")[0]

	// As if an eviction had been recorded but its deletion never happened:
	// the entry expires a few seconds from now.
	pdb.Status.DisruptedPods = map[string]metav1.Time{victim: metav1.NewTime(time.Now().Add(-DeletionTimeout + 3*time.Second))}
	pdb.Status.DisruptionsAllowed = 0
	if _, err := e.client.PolicyV1().PodDisruptionBudgets(ns).UpdateStatus(e.ctx, pdb, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("recording an eviction of %s: %v", victim, err)
	}
	tendtest.Eventually(t, 20*time.Second, func() string {
		pdb := e.getPDB("web")
		if len(pdb.Status.DisruptedPods) != 0 {
			return fmt.Sprintf("disruptedPods = %v; want the entry of %s expired", pdb.Status.DisruptedPods, victim)
		}
		return statusMismatch(pdb, want{expected: 3, desired: 2, healthy: 3, allowed: 1, reason: policyv1.SufficientPodsReason})
	})
	tendtest.Eventually(t, 10*time.Second, func() string {
		events, err := e.client.CoreV1().Events(ns).List(e.ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + victim})
		if err != nil {
			return err.Error()
		}
		for _, ev := range events.Items {
			if ev.Reason == "NotDeleted" && ev.Message == "Pod was expected by PDB default/web to be deleted but it wasn't" {
				return ""
			}
		}
		return fmt.Sprintf("want a NotDeleted event on pod %s, have %d events", victim, len(events.Items))
	})
}

// TestStaleDisruptionTargetReset: a DisruptionTarget condition on a pod that
// is not being deleted is reset to False after the timeout.
func TestStaleDisruptionTargetReset(t *testing.T) {
	e := newEnv(t, func(c *Controller) { c.r.staleTimeout = 500 * time.Millisecond })
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "target"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx"}}}}
	p, err := e.client.CoreV1().Pods(ns).Create(e.ctx, p, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue,
		Reason: "EvictionByEvictionAPI", Message: "Eviction API: evicting", LastTransitionTime: metav1.Now()})
	if _, err := e.client.CoreV1().Pods(ns).UpdateStatus(e.ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("setting the DisruptionTarget condition of pod target: %v", err)
	}
	tendtest.Eventually(t, 20*time.Second, func() string {
		p, err := e.client.CoreV1().Pods(ns).Get(e.ctx, "target", metav1.GetOptions{})
		if err != nil {
			return err.Error()
		}
		c := podCondition(&p.Status, corev1.DisruptionTarget)
		if c == nil || c.Status != corev1.ConditionFalse || c.Reason != "" {
			return fmt.Sprintf("DisruptionTarget condition = %+v; want reset to False", c)
		}
		return ""
	})
}
