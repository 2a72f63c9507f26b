package disruption

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// fixtures are the controllers the scale finder of a test sees.
type fixtures struct {
	rcs  []*corev1.ReplicationController
	rss  []*appsv1.ReplicaSet
	deps []*appsv1.Deployment
	sss  []*appsv1.StatefulSet
}

func lookup[T metav1.Object](objs []T) func(namespace, name string) (T, bool) {
	return func(namespace, name string) (T, bool) {
		for _, o := range objs {
			if o.GetNamespace() == namespace && o.GetName() == name {
				return o, true
			}
		}
		var zero T
		return zero, false
	}
}

func (f fixtures) finder() scaleFinder {
	return workloads{rcs: lookup(f.rcs), rss: lookup(f.rss), deps: lookup(f.deps), sss: lookup(f.sss)}.find
}

func meta(name string, owner *metav1.OwnerReference) metav1.ObjectMeta {
	m := metav1.ObjectMeta{Namespace: "ns", Name: name, UID: types.UID("uid-" + name)}
	if owner != nil {
		m.OwnerReferences = []metav1.OwnerReference{*owner}
	}
	return m
}

func ptr[T any](v T) *T { return &v }

// refTo is a controller ownerReference to the object of kind (apiVersion,
// kind) named name, with the UID meta gives it.
func refTo(apiVersion, kind, name string) *metav1.OwnerReference {
	return &metav1.OwnerReference{APIVersion: apiVersion, Kind: kind, Name: name, UID: types.UID("uid-" + name), Controller: ptr(true)}
}

func rs(name string, n int32, owner *metav1.OwnerReference) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{ObjectMeta: meta(name, owner), Spec: appsv1.ReplicaSetSpec{Replicas: ptr(n)}}
}

func dep(name string, n int32) *appsv1.Deployment {
	return &appsv1.Deployment{ObjectMeta: meta(name, nil), Spec: appsv1.DeploymentSpec{Replicas: ptr(n)}}
}

func statefulSet(name string, n int32) *appsv1.StatefulSet {
	return &appsv1.StatefulSet{ObjectMeta: meta(name, nil), Spec: appsv1.StatefulSetSpec{Replicas: ptr(n)}}
}

func rc(name string, n int32) *corev1.ReplicationController {
	return &corev1.ReplicationController{ObjectMeta: meta(name, nil), Spec: corev1.ReplicationControllerSpec{Replicas: ptr(n)}}
}

// pod is a pod, Ready when ready, controlled by owner (nil: no controller).
func pod(name string, ready bool, owner *metav1.OwnerReference) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: meta(name, owner), Status: corev1.PodStatus{Phase: corev1.PodRunning}}
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}
	return p
}

func deleting(p *corev1.Pod) *corev1.Pod {
	p.DeletionTimestamp = ptr(metav1.Now())
	return p
}

func minAvailable(v intstr.IntOrString) policyv1.PodDisruptionBudgetSpec {
	return policyv1.PodDisruptionBudgetSpec{MinAvailable: &v}
}

func maxUnavailable(v intstr.IntOrString) policyv1.PodDisruptionBudgetSpec {
	return policyv1.PodDisruptionBudgetSpec{MaxUnavailable: &v}
}

func TestComputeBudget(t *testing.T) {
	rsRef := refTo("apps/v1", "ReplicaSet", "web-1")
	depRS := rs("web-1", 4, refTo("apps/v1", "Deployment", "web"))
	bareRS := rs("web-1", 3, nil)
	three := func(owner *metav1.OwnerReference) []*corev1.Pod {
		return []*corev1.Pod{pod("a", true, owner), pod("b", true, owner), pod("c", false, owner)}
	}
	tests := []struct {
		name          string
		spec          policyv1.PodDisruptionBudgetSpec
		pods          []*corev1.Pod
		fx            fixtures
		want          budget
		wantErr       string
		wantUnmanaged []string
	}{
		{name: "minAvailable int counts the selected pods",
			spec: minAvailable(intstr.FromInt32(2)), pods: three(nil),
			want: budget{expected: 3, desiredHealthy: 2}},
		{name: "minAvailable int needs no controller",
			spec: minAvailable(intstr.FromInt32(5)), pods: three(refTo("apps/v1", "ReplicaSet", "gone")),
			want: budget{expected: 3, desiredHealthy: 5}},
		{name: "minAvailable percent of a ReplicaSet rounds up",
			spec: minAvailable(intstr.FromString("50%")), pods: three(rsRef), fx: fixtures{rss: []*appsv1.ReplicaSet{bareRS}},
			want: budget{expected: 3, desiredHealthy: 2}},
		{name: "minAvailable percent of a Deployment through its ReplicaSet",
			spec: minAvailable(intstr.FromString("60%")), pods: three(rsRef),
			fx:   fixtures{rss: []*appsv1.ReplicaSet{depRS}, deps: []*appsv1.Deployment{dep("web", 5)}},
			want: budget{expected: 5, desiredHealthy: 3}},
		{name: "maxUnavailable int of a Deployment",
			spec: maxUnavailable(intstr.FromInt32(1)), pods: three(rsRef),
			fx:   fixtures{rss: []*appsv1.ReplicaSet{depRS}, deps: []*appsv1.Deployment{dep("web", 4)}},
			want: budget{expected: 4, desiredHealthy: 3}},
		{name: "maxUnavailable percent rounds up",
			spec: maxUnavailable(intstr.FromString("34%")), pods: three(rsRef), fx: fixtures{rss: []*appsv1.ReplicaSet{bareRS}},
			want: budget{expected: 3, desiredHealthy: 1}},
		{name: "maxUnavailable beyond the scale desires none",
			spec: maxUnavailable(intstr.FromInt32(10)), pods: three(rsRef), fx: fixtures{rss: []*appsv1.ReplicaSet{bareRS}},
			want: budget{expected: 3, desiredHealthy: 0}},
		{name: "scales of several controllers add up, each once",
			spec: maxUnavailable(intstr.FromString("10%")),
			pods: []*corev1.Pod{
				pod("a", true, refTo("v1", "ReplicationController", "rc")),
				pod("b", true, refTo("v1", "ReplicationController", "rc")),
				pod("c", true, refTo("apps/v1", "StatefulSet", "db")),
			},
			fx:   fixtures{rcs: []*corev1.ReplicationController{rc("rc", 2)}, sss: []*appsv1.StatefulSet{statefulSet("db", 7)}},
			want: budget{expected: 9, desiredHealthy: 8}},
		{name: "extensions group names apps kinds",
			spec: maxUnavailable(intstr.FromInt32(1)), pods: three(refTo("extensions/v1beta1", "ReplicaSet", "web-1")),
			fx:   fixtures{rss: []*appsv1.ReplicaSet{bareRS}},
			want: budget{expected: 3, desiredHealthy: 2}},
		{name: "pods without controller are unmanaged, left out of the scale",
			spec: maxUnavailable(intstr.FromInt32(1)),
			pods: []*corev1.Pod{pod("a", true, rsRef), pod("lone", true, nil)},
			fx:   fixtures{rss: []*appsv1.ReplicaSet{bareRS}},
			want: budget{expected: 3, desiredHealthy: 2}, wantUnmanaged: []string{"lone"}},
		{name: "percentage with a missing controller fails",
			spec: minAvailable(intstr.FromString("50%")), pods: three(rsRef),
			wantErr: `found no controllers for pod "a"`},
		{name: "a controller with another UID is missing",
			spec: maxUnavailable(intstr.FromInt32(1)), pods: three(rsRef),
			fx:      fixtures{rss: []*appsv1.ReplicaSet{{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web-1", UID: "other"}}}},
			wantErr: `found no controllers for pod "a"`},
		{name: "a ReplicaSet of a missing Deployment has no scale",
			spec: maxUnavailable(intstr.FromInt32(1)), pods: three(rsRef), fx: fixtures{rss: []*appsv1.ReplicaSet{depRS}},
			wantErr: `found no controllers for pod "a"`},
		{name: "a controller of an unknown kind has no scale",
			spec: maxUnavailable(intstr.FromInt32(1)), pods: three(refTo("example.com/v1", "Thing", "t")),
			wantErr: `found no controllers for pod "a"`},
		{name: "a bad apiVersion fails",
			spec: maxUnavailable(intstr.FromInt32(1)), pods: three(refTo("a/b/c", "ReplicaSet", "web-1")),
			wantErr: "ownerReference to ReplicaSet"},
		{name: "a malformed percentage fails",
			spec: maxUnavailable(intstr.FromString("many")), pods: three(rsRef), fx: fixtures{rss: []*appsv1.ReplicaSet{bareRS}},
			wantErr: "maxUnavailable: invalid value"},
		{name: "no minimum and no maximum expects nothing",
			spec: policyv1.PodDisruptionBudgetSpec{}, pods: three(nil),
			want: budget{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := computeBudget(tc.spec, tc.pods, tc.fx.finder())
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("computeBudget() error = %v; want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("computeBudget() error = %v", err)
			}
			if got.expected != tc.want.expected || got.desiredHealthy != tc.want.desiredHealthy {
				t.Errorf("computeBudget() = expected %d, desiredHealthy %d; want %d, %d", got.expected, got.desiredHealthy, tc.want.expected, tc.want.desiredHealthy)
			}
			if !slices.Equal(got.unmanaged, tc.wantUnmanaged) {
				t.Errorf("computeBudget() unmanaged = %v; want %v", got.unmanaged, tc.wantUnmanaged)
			}
		})
	}
}

func TestDisruptedPodsExpire(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) metav1.Time { return metav1.NewTime(now.Add(-d)) }
	pods := []*corev1.Pod{
		pod("recent", true, nil),
		pod("older", true, nil),
		pod("expired", true, nil),
		deleting(pod("going", true, nil)),
		pod("untouched", true, nil),
		pod("unready", false, nil),
	}
	entries := map[string]metav1.Time{
		"recent":  ago(30 * time.Second),
		"older":   ago(90 * time.Second),
		"expired": ago(DeletionTimeout + time.Second),
		"going":   ago(10 * time.Second),
		"gone":    ago(10 * time.Second), // no such pod any more
	}
	d := pruneDisrupted(entries, pods, now)
	var live []string
	for name := range d.live {
		live = append(live, name)
	}
	slices.Sort(live)
	if want := []string{"older", "recent"}; !slices.Equal(live, want) {
		t.Errorf("pruneDisrupted() live = %v; want %v", live, want)
	}
	if len(d.expired) != 1 || d.expired[0].Name != "expired" {
		t.Errorf("pruneDisrupted() expired = %v; want [expired]", d.expired)
	}
	if want := now.Add(-90 * time.Second).Add(DeletionTimeout); !d.recheck.Equal(want) {
		t.Errorf("pruneDisrupted() recheck = %v; want %v (the older entry's expiry)", d.recheck, want)
	}
	// recent and older are disrupted, going is being deleted, unready is not
	// ready: expired and untouched are healthy.
	if got := countHealthy(pods, d.live, now); got != 2 {
		t.Errorf("countHealthy() = %d; want 2", got)
	}
	// Once the older entry expires, its pod counts again.
	later := d.recheck.Add(time.Second)
	d2 := pruneDisrupted(entries, pods, later)
	if got := countHealthy(pods, d2.live, later); got != 3 {
		t.Errorf("countHealthy() after the older entry expired = %d; want 3", got)
	}
	if d := pruneDisrupted(nil, pods, now); len(d.live) != 0 || !d.recheck.IsZero() {
		t.Errorf("pruneDisrupted(nil) = %+v; want nothing", d)
	}
}

func TestNextStatus(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	earlier := metav1.NewTime(now.Add(-time.Hour))
	pdb := func(conds ...metav1.Condition) *policyv1.PodDisruptionBudget {
		return &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Generation: 4},
			Status: policyv1.PodDisruptionBudgetStatus{ObservedGeneration: 3, Conditions: conds}}
	}
	sufficient := metav1.Condition{Type: policyv1.DisruptionAllowedCondition, Status: metav1.ConditionTrue,
		Reason: policyv1.SufficientPodsReason, ObservedGeneration: 3, LastTransitionTime: earlier}
	tests := []struct {
		name        string
		pdb         *policyv1.PodDisruptionBudget
		b           budget
		healthy     int32
		wantAllowed int32
		wantStatus  metav1.ConditionStatus
		wantReason  string
		wantTime    metav1.Time
	}{
		{"healthy beyond desired", pdb(), budget{expected: 3, desiredHealthy: 2}, 3, 1, metav1.ConditionTrue, policyv1.SufficientPodsReason, metav1.NewTime(now)},
		{"healthy at desired", pdb(), budget{expected: 3, desiredHealthy: 2}, 2, 0, metav1.ConditionFalse, policyv1.InsufficientPodsReason, metav1.NewTime(now)},
		{"healthy below desired is not negative", pdb(), budget{expected: 3, desiredHealthy: 3}, 1, 0, metav1.ConditionFalse, policyv1.InsufficientPodsReason, metav1.NewTime(now)},
		{"no pods expected allows nothing", pdb(), budget{expected: 0, desiredHealthy: 0}, 2, 0, metav1.ConditionFalse, policyv1.InsufficientPodsReason, metav1.NewTime(now)},
		{"an unchanged condition keeps its time", pdb(sufficient), budget{expected: 5, desiredHealthy: 1}, 5, 4, metav1.ConditionTrue, policyv1.SufficientPodsReason, earlier},
		{"a changed condition takes now", pdb(sufficient), budget{expected: 5, desiredHealthy: 5}, 5, 0, metav1.ConditionFalse, policyv1.InsufficientPodsReason, metav1.NewTime(now)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := nextStatus(tc.pdb, tc.b, tc.healthy, nil, now)
			if st.DisruptionsAllowed != tc.wantAllowed || st.CurrentHealthy != tc.healthy || st.DesiredHealthy != tc.b.desiredHealthy ||
				st.ExpectedPods != tc.b.expected || st.ObservedGeneration != 4 {
				t.Errorf("nextStatus() = %+v; want allowed %d, healthy %d, desired %d, expected %d, observedGeneration 4",
					st, tc.wantAllowed, tc.healthy, tc.b.desiredHealthy, tc.b.expected)
			}
			c := apimeta.FindStatusCondition(st.Conditions, policyv1.DisruptionAllowedCondition)
			if c == nil || c.Status != tc.wantStatus || c.Reason != tc.wantReason || c.ObservedGeneration != 4 || !c.LastTransitionTime.Equal(&tc.wantTime) {
				t.Errorf("nextStatus() condition = %+v; want %s %s, observedGeneration 4, since %v", c, tc.wantStatus, tc.wantReason, tc.wantTime)
			}
			if len(tc.pdb.Status.Conditions) > 0 && tc.pdb.Status.Conditions[0] != sufficient {
				t.Errorf("nextStatus() changed the budget's own conditions to %+v", tc.pdb.Status.Conditions)
			}
		})
	}
}

func TestFailedStatus(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	pdb := &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Generation: 2}, Status: policyv1.PodDisruptionBudgetStatus{
		ObservedGeneration: 1, DisruptionsAllowed: 3, CurrentHealthy: 5, DesiredHealthy: 2, ExpectedPods: 5,
		Conditions: []metav1.Condition{{Type: policyv1.DisruptionAllowedCondition, Status: metav1.ConditionTrue, Reason: policyv1.SufficientPodsReason}},
	}}
	st := failedStatus(pdb, errors.New(`found no controllers for pod "a"`), now)
	if st.DisruptionsAllowed != 0 || st.CurrentHealthy != 5 || st.ObservedGeneration != 1 {
		t.Errorf("failedStatus() = %+v; want disruptionsAllowed 0, the rest (currentHealthy 5, observedGeneration 1) kept", st)
	}
	c := apimeta.FindStatusCondition(st.Conditions, policyv1.DisruptionAllowedCondition)
	if c == nil || c.Status != metav1.ConditionFalse || c.Reason != policyv1.SyncFailedReason || c.Message != `found no controllers for pod "a"` {
		t.Errorf("failedStatus() condition = %+v; want False SyncFailed with the error", c)
	}
	if pdb.Status.DisruptionsAllowed != 3 || pdb.Status.Conditions[0].Reason != policyv1.SufficientPodsReason {
		t.Errorf("failedStatus() changed the budget it was given: %+v", pdb.Status)
	}
}

func TestStaleDisruption(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	withCond := func(status corev1.ConditionStatus, reason string, age time.Duration) *corev1.Pod {
		p := pod("p", true, nil)
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: corev1.DisruptionTarget, Status: status,
			Reason: reason, LastTransitionTime: metav1.NewTime(now.Add(-age))})
		return p
	}
	finished := withCond(corev1.ConditionTrue, "EvictionByEvictionAPI", time.Hour)
	finished.Status.Phase = corev1.PodSucceeded
	tests := []struct {
		name      string
		pod       *corev1.Pod
		wantStale bool
		wantAfter time.Duration
	}{
		{"no condition", pod("p", true, nil), false, 0},
		{"fresh condition waits", withCond(corev1.ConditionTrue, "EvictionByEvictionAPI", 30*time.Second), true, 90 * time.Second},
		{"old condition is stale now", withCond(corev1.ConditionTrue, "PreemptionByScheduler", 5*time.Minute), true, 0},
		{"a False condition is not stale", withCond(corev1.ConditionFalse, "", time.Hour), false, 0},
		{"the kubelet's condition is never stale", withCond(corev1.ConditionTrue, corev1.PodReasonTerminationByKubelet, time.Hour), false, 0},
		{"a pod being deleted is not stale", deleting(withCond(corev1.ConditionTrue, "EvictionByEvictionAPI", time.Hour)), false, 0},
		{"a finished pod is not stale", finished, false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stale, after := staleDisruption(tc.pod, now, stalePodDisruptionTimeout)
			if stale != tc.wantStale || after != tc.wantAfter {
				t.Errorf("staleDisruption() = %v, %v; want %v, %v", stale, after, tc.wantStale, tc.wantAfter)
			}
		})
	}
}

func TestUsesScale(t *testing.T) {
	tests := []struct {
		spec policyv1.PodDisruptionBudgetSpec
		want bool
	}{
		{minAvailable(intstr.FromInt32(1)), false},
		{minAvailable(intstr.FromString("50%")), true},
		{maxUnavailable(intstr.FromInt32(1)), true},
		{policyv1.PodDisruptionBudgetSpec{}, false},
	}
	for _, tc := range tests {
		if got := usesScale(tc.spec); got != tc.want {
			t.Errorf("usesScale(%+v) = %v; want %v", tc.spec, got, tc.want)
		}
	}
}

// TestStatusWrittenOnce: a status as the server returns it (JSON, so times to
// the second and empty maps dropped) equals the status computed again from
// the same pods later, so the controller does not write it again.
func TestStatusWrittenOnce(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 123456789, time.UTC)
	pods := []*corev1.Pod{pod("a", true, nil), pod("b", true, nil), pod("c", true, nil)}
	for _, entries := range []map[string]metav1.Time{nil, {"a": metav1.NewTime(now.Add(-time.Minute))}} {
		pdb := &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Generation: 1}, Spec: minAvailable(intstr.FromInt32(2))}
		pdb.Status.DisruptedPods = entries
		compute := func(at time.Time) policyv1.PodDisruptionBudgetStatus {
			b, err := computeBudget(pdb.Spec, pods, fixtures{}.finder())
			if err != nil {
				t.Fatal(err)
			}
			d := pruneDisrupted(pdb.Status.DisruptedPods, pods, at)
			return nextStatus(pdb, b, countHealthy(pods, d.live, at), d.live, at)
		}
		first := compute(now)
		if equality.Semantic.DeepEqual(pdb.Status, first) {
			t.Fatalf("with disruptedPods %v: a fresh budget's status equals the computed one; want a write", entries)
		}
		raw, err := json.Marshal(first)
		if err != nil {
			t.Fatal(err)
		}
		pdb.Status = policyv1.PodDisruptionBudgetStatus{}
		if err := json.Unmarshal(raw, &pdb.Status); err != nil {
			t.Fatal(err)
		}
		if again := compute(now.Add(5 * time.Second)); !equality.Semantic.DeepEqual(pdb.Status, again) {
			t.Errorf("with disruptedPods %v: status read back = %+v; computed again = %+v; want equal (no second write)", entries, pdb.Status, again)
		}
	}
}
