package deployment

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

var (
	t0        = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	olderTime = metav1.NewTime(t0)
	oldTime   = metav1.NewTime(t0.Add(time.Minute))
	newTime   = metav1.NewTime(t0.Add(2 * time.Minute))
)

// deployment is a RollingUpdate Deployment as upstream's tests build it:
// maxSurge and maxUnavailable 0 unless given.
func deployment(replicas int32, surge, unavailable any) *appsv1.Deployment {
	iors := func(v any) *intstr.IntOrString {
		switch v := v.(type) {
		case int:
			x := intstr.FromInt(v)
			return &x
		case string:
			x := intstr.FromString(v)
			return &x
		}
		x := intstr.FromInt(0)
		return &x
	}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "foo", Namespace: "ns", UID: "d-uid"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr(replicas),
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: iors(surge), MaxUnavailable: iors(unavailable)}},
			RevisionHistoryLimit: ptr(int32(10)),
		},
	}
}

// rs is a ReplicaSet of replicas pods, available ones of them, created at.
func rs(name string, replicas, available int32, at metav1.Time) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID(name + "-uid"), CreationTimestamp: at},
		Spec:       appsv1.ReplicaSetSpec{Replicas: ptr(replicas)},
		Status:     appsv1.ReplicaSetStatus{Replicas: replicas, ReadyReplicas: available, AvailableReplicas: available},
	}
}

// sized annotates rs as sized for a Deployment of desired replicas and max
// replicas with surge.
func sized(r *appsv1.ReplicaSet, desired, maxReplicas int32) *appsv1.ReplicaSet {
	setReplicasAnnotations(r, desired, maxReplicas)
	return r
}

func stepsString(steps []scaleStep) string {
	var parts []string
	for _, s := range steps {
		parts = append(parts, fmt.Sprintf("%s:%d->%d", s.rs.Name, specReplicas(s.rs), s.to))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func TestResolveFenceposts(t *testing.T) {
	for _, tc := range []struct {
		surge, unavailable    string
		desired               int32
		wantSurge, wantUnavai int32
	}{
		{"25%", "25%", 5, 2, 1},
		{"25%", "25%", 10, 3, 2},
		{"0%", "1%", 2, 0, 1},  // both round to zero: unavailable 1
		{"1%", "25%", 1, 1, 0}, // surge rounds up
		{"0", "0", 4, 0, 1},
		{"3", "2", 10, 3, 2},
		{"100%", "0", 3, 3, 0},
	} {
		s, u := intstr.Parse(tc.surge), intstr.Parse(tc.unavailable)
		gotS, gotU, err := resolveFenceposts(&s, &u, tc.desired)
		if err != nil || gotS != tc.wantSurge || gotU != tc.wantUnavai {
			t.Errorf("resolveFenceposts(%s, %s, %d) = %d, %d, %v; want %d, %d", tc.surge, tc.unavailable, tc.desired, gotS, gotU, err, tc.wantSurge, tc.wantUnavai)
		}
	}
	d := deployment(3, 0, 10)
	if got := maxUnavailable(d); got != 3 {
		t.Errorf("maxUnavailable(3 replicas, 10 unavailable) = %d; want 3 (at most replicas)", got)
	}
	d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
	if s, u := maxSurge(d), maxUnavailable(d); s != 0 || u != 0 {
		t.Errorf("Recreate: maxSurge, maxUnavailable = %d, %d; want 0, 0", s, u)
	}
}

func TestNewRSNewReplicas(t *testing.T) {
	for _, tc := range []struct {
		name         string
		d            *appsv1.Deployment
		old, cur     *appsv1.ReplicaSet
		pods         podCounts
		want         int32
		wantErrorful bool
	}{
		// upstream's TestDeploymentController_reconcileNewReplicaSet
		{name: "no surge, old holds all", d: deployment(1, 0, 0), old: rs("old", 10, 10, oldTime), cur: rs("new", 0, 0, newTime), want: 0},
		{name: "no surge, full", d: deployment(10, 0, 0), old: rs("old", 10, 10, oldTime), cur: rs("new", 0, 0, newTime), want: 0},
		{name: "surge 2", d: deployment(10, 2, 0), old: rs("old", 10, 10, oldTime), cur: rs("new", 0, 0, newTime), want: 2},
		{name: "surge 2, old half gone", d: deployment(10, 2, 0), old: rs("old", 5, 5, oldTime), cur: rs("new", 0, 0, newTime), want: 7},
		{name: "surge used up", d: deployment(10, 2, 0), old: rs("old", 10, 10, oldTime), cur: rs("new", 2, 0, newTime), want: 2},
		{name: "never past replicas", d: deployment(3, 5, 0), old: rs("old", 0, 0, oldTime), cur: rs("new", 1, 1, newTime), want: 3},
		// beyond upstream: pods not yet gone count
		{name: "old scaled down, pods not deleted yet (status)", d: deployment(10, 2, 0),
			old: func() *appsv1.ReplicaSet { r := rs("old", 8, 10, oldTime); r.Status.Replicas = 10; return r }(),
			cur: rs("new", 2, 2, newTime), want: 2},
		{name: "old scaled down, pods still seen", d: deployment(10, 2, 0), old: rs("old", 8, 8, oldTime), cur: rs("new", 2, 2, newTime),
			pods: podCounts{"old-uid": 9}, want: 3},
		{name: "old scaled down, pods gone", d: deployment(10, 2, 0), old: rs("old", 8, 8, oldTime), cur: rs("new", 2, 2, newTime),
			pods: podCounts{"old-uid": 8}, want: 4},
		{name: "recreate", d: func() *appsv1.Deployment {
			d := deployment(4, 0, 0)
			d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
			return d
		}(), old: rs("old", 4, 4, oldTime), cur: rs("new", 0, 0, newTime), want: 4},
		{name: "unknown strategy", d: func() *appsv1.Deployment {
			d := deployment(4, 0, 0)
			d.Spec.Strategy.Type = "Blue"
			return d
		}(), old: rs("old", 4, 4, oldTime), cur: rs("new", 0, 0, newTime), wantErrorful: true},
	} {
		got, err := newRSNewReplicas(tc.d, []*appsv1.ReplicaSet{tc.old, tc.cur}, tc.cur, tc.pods)
		if (err != nil) != tc.wantErrorful || got != tc.want {
			t.Errorf("%s: newRSNewReplicas = %d, %v; want %d (error %v)", tc.name, got, err, tc.want, tc.wantErrorful)
		}
	}
}

func TestPlanOldScaleDown(t *testing.T) {
	for _, tc := range []struct {
		name string
		d    *appsv1.Deployment
		old  []*appsv1.ReplicaSet
		cur  *appsv1.ReplicaSet
		want string
	}{
		// upstream's TestDeploymentController_reconcileOldReplicaSets
		{name: "fencepost unavailable 1", d: deployment(10, 0, 0), old: []*appsv1.ReplicaSet{rs("v1", 10, 10, oldTime)}, cur: rs("v2", 0, 0, newTime),
			want: "[v1:10->9]"},
		{name: "unavailable 2", d: deployment(10, 0, 2), old: []*appsv1.ReplicaSet{rs("v1", 10, 10, oldTime)}, cur: rs("v2", 0, 0, newTime),
			want: "[v1:10->8]"},
		{name: "unhealthy old pods go first", d: deployment(10, 0, 2), old: []*appsv1.ReplicaSet{rs("v1", 10, 8, oldTime)}, cur: rs("v2", 0, 0, newTime),
			want: "[v1:10->8]"},
		{name: "one unhealthy, one healthy", d: deployment(10, 0, 2), old: []*appsv1.ReplicaSet{rs("v1", 10, 9, oldTime)}, cur: rs("v2", 0, 0, newTime),
			want: "[v1:10->8]"},
		{name: "new pods unavailable block it", d: deployment(10, 0, 2), old: []*appsv1.ReplicaSet{rs("v1", 8, 8, oldTime)}, cur: rs("v2", 2, 0, newTime),
			want: "[]"},
		{name: "new pods available free it", d: deployment(10, 0, 2), old: []*appsv1.ReplicaSet{rs("v1", 8, 8, oldTime)}, cur: rs("v2", 2, 2, newTime),
			want: "[v1:8->6]"},
		{name: "oldest first", d: deployment(6, 1, 1),
			old: []*appsv1.ReplicaSet{rs("v2", 3, 3, oldTime), rs("v1", 3, 3, olderTime)}, cur: rs("v3", 1, 1, newTime),
			want: "[v1:3->1]"},
		{name: "spills to the next", d: deployment(6, 1, 1),
			old: []*appsv1.ReplicaSet{rs("v2", 3, 3, oldTime), rs("v1", 1, 1, olderTime)}, cur: rs("v3", 3, 3, newTime),
			want: "[v1:1->0 v2:3->2]"},
		{name: "nothing old", d: deployment(3, 1, 1), old: []*appsv1.ReplicaSet{rs("v1", 0, 0, oldTime)}, cur: rs("v2", 3, 3, newTime),
			want: "[]"},
		// beyond upstream: a status not yet caught up with a scale-down counts
		// no more available pods than spec.replicas (upstream's counts 5+2
		// available and scales to 0, leaving 2 of the 4 needed).
		{name: "stale status counts at most spec", d: deployment(5, 2, 1),
			old: []*appsv1.ReplicaSet{func() *appsv1.ReplicaSet { r := rs("v1", 3, 5, oldTime); r.Status.Replicas = 5; return r }()},
			cur: rs("v2", 2, 2, newTime), want: "[v1:3->2]"},
	} {
		if got := stepsString(planOldScaleDown(tc.d, tc.old, tc.cur)); got != tc.want {
			t.Errorf("%s: planOldScaleDown = %s; want %s", tc.name, got, tc.want)
		}
	}
}

func TestPlanScale(t *testing.T) {
	// Each case's ReplicaSets were sized for "was" replicas (and its surge),
	// as upstream's TestScale.
	for _, tc := range []struct {
		name string
		d    *appsv1.Deployment
		was  *appsv1.Deployment
		cur  *appsv1.ReplicaSet
		old  []*appsv1.ReplicaSet
		want string
	}{
		{name: "normal scaling event: 10 -> 12", d: deployment(12, 0, 0), was: deployment(10, 0, 0),
			cur: rs("v1", 10, 10, newTime), want: "[v1:10->12]"},
		{name: "normal scaling event: 10 -> 5", d: deployment(5, 0, 0), was: deployment(10, 0, 0),
			cur: rs("v1", 10, 10, newTime), want: "[v1:10->5]"},
		{name: "proportional scaling: 5 -> 10", d: deployment(10, 0, 0), was: deployment(5, 0, 0),
			cur: rs("v2", 2, 0, newTime), old: []*appsv1.ReplicaSet{rs("v1", 3, 3, oldTime)}, want: "[v1:3->6 v2:2->4]"},
		{name: "proportional scaling: 5 -> 3", d: deployment(3, 0, 0), was: deployment(5, 0, 0),
			cur: rs("v2", 2, 0, newTime), old: []*appsv1.ReplicaSet{rs("v1", 3, 3, oldTime)}, want: "[v1:3->2 v2:2->1]"},
		{name: "proportional scaling: 9 -> 4", d: deployment(4, 0, 0), was: deployment(9, 0, 0),
			cur: rs("v2", 8, 0, newTime), old: []*appsv1.ReplicaSet{rs("v1", 1, 1, oldTime)}, want: "[v2:8->4 v1:1->0]"},
		{name: "proportional scaling: 7 -> 10", d: deployment(10, 0, 0), was: deployment(7, 0, 0),
			cur: rs("v3", 2, 0, newTime), old: []*appsv1.ReplicaSet{rs("v2", 3, 3, oldTime), rs("v1", 2, 2, olderTime)},
			want: "[v2:3->4 v3:2->3 v1:2->3]"},
		{name: "proportional scaling: 13 -> 8", d: deployment(8, 0, 0), was: deployment(13, 0, 0),
			cur: rs("v3", 2, 0, newTime), old: []*appsv1.ReplicaSet{rs("v2", 8, 8, oldTime), rs("v1", 3, 3, olderTime)},
			want: "[v2:8->5 v1:3->2 v3:2->1]"},
		{name: "leftover to the newest when growing: 3 -> 4", d: deployment(4, 0, 0), was: deployment(3, 0, 0),
			cur: rs("v3", 1, 0, newTime), old: []*appsv1.ReplicaSet{rs("v2", 1, 1, oldTime), rs("v1", 1, 1, olderTime)},
			want: "[v3:1->2 v2:1->1 v1:1->1]"},
		{name: "leftover from the oldest when shrinking: 3 -> 2", d: deployment(2, 0, 0), was: deployment(3, 0, 0),
			cur: rs("v3", 1, 0, newTime), old: []*appsv1.ReplicaSet{rs("v2", 1, 1, oldTime), rs("v1", 1, 1, olderTime)},
			want: "[v1:1->0 v2:1->1 v3:1->1]"},
		{name: "no new ReplicaSet: 4 -> 5", d: deployment(5, 0, 0), was: deployment(4, 0, 0),
			old: []*appsv1.ReplicaSet{rs("v2", 2, 2, oldTime), rs("v1", 2, 2, olderTime)}, want: "[v2:2->3 v1:2->2]"},
		{name: "to zero: 6 -> 0", d: deployment(0, 0, 0), was: deployment(6, 0, 0),
			cur: rs("v3", 3, 0, newTime), old: []*appsv1.ReplicaSet{rs("v2", 2, 2, oldTime), rs("v1", 1, 1, olderTime)},
			want: "[v3:3->0 v2:2->0 v1:1->0]"},
		{name: "from zero: the newest takes all", d: deployment(6, 0, 0), was: deployment(6, 0, 0),
			cur: rs("v3", 0, 0, newTime), old: []*appsv1.ReplicaSet{rs("v2", 0, 0, oldTime), rs("v1", 0, 0, olderTime)},
			want: "[v3:0->6]"},
		{name: "with surge pods: 10 -> 20", d: deployment(20, 2, 0), was: deployment(10, 2, 0),
			cur: rs("v2", 6, 0, newTime), old: []*appsv1.ReplicaSet{rs("v1", 6, 6, oldTime)}, want: "[v2:6->11 v1:6->11]"},
		{name: "surge and size both change", d: deployment(50, 6, 0), was: deployment(10, 3, 0),
			cur: rs("v2", 5, 0, newTime), old: []*appsv1.ReplicaSet{rs("v1", 8, 8, oldTime)}, want: "[v1:8->34 v2:5->22]"},
		{name: "the e2e case: 10 -> 30 mid-rollout", d: deployment(30, 3, 2), was: deployment(10, 3, 2),
			cur: rs("v2", 5, 0, newTime), old: []*appsv1.ReplicaSet{rs("v1", 8, 8, oldTime)}, want: "[v1:8->20 v2:5->13]"},
		{name: "saturated new ReplicaSet empties the old", d: deployment(2, 1, 1), was: deployment(2, 1, 1),
			cur: rs("v2", 2, 2, newTime), old: []*appsv1.ReplicaSet{rs("v1", 1, 1, oldTime)}, want: "[v1:1->0]"},
		{name: "saturated but broken new ReplicaSet leaves the old", d: deployment(2, 1, 1), was: deployment(2, 1, 1),
			cur: rs("v2", 2, 0, newTime), old: []*appsv1.ReplicaSet{rs("v1", 1, 1, oldTime)}, want: "[v1:1->1 v2:2->2]"},
	} {
		desired, maxReplicas := replicasOf(tc.was.Spec.Replicas), replicasOf(tc.was.Spec.Replicas)+maxSurge(tc.was)
		if tc.cur != nil {
			sized(tc.cur, desired, maxReplicas)
		}
		for _, r := range tc.old {
			sized(r, desired, maxReplicas)
		}
		if got := stepsString(planScale(tc.d, tc.cur, tc.old)); got != tc.want {
			t.Errorf("%s: planScale = %s; want %s", tc.name, got, tc.want)
		}
	}
}

func TestProportionWithoutAnnotation(t *testing.T) {
	d := deployment(10, 0, 0)
	d.Status.Replicas = 5
	r := rs("v1", 3, 3, oldTime) // no max-replicas annotation: the Deployment's status.replicas is the base
	if got := proportion(r, d, 5, 0); got != 3 {
		t.Errorf("proportion without annotation = %d; want 3 (3*10/5 - 3)", got)
	}
	d.Status.Replicas = 0
	if got := proportion(r, d, 5, 0); got != 0 {
		t.Errorf("proportion without annotation nor status = %d; want 0", got)
	}
	if got := proportion(r, deployment(10, 0, 0), 5, 5); got != 0 {
		t.Errorf("proportion with nothing left to add = %d; want 0", got)
	}
}

func TestPlanCleanup(t *testing.T) {
	rev := func(r *appsv1.ReplicaSet, n string) *appsv1.ReplicaSet {
		r.Annotations = map[string]string{RevisionAnnotation: n}
		return r
	}
	limit := func(n int32) *appsv1.Deployment {
		d := deployment(1, 0, 0)
		d.Spec.RevisionHistoryLimit = ptr(n)
		return d
	}
	deleting := rev(rs("gone", 0, 0, olderTime), "1")
	deleting.DeletionTimestamp = &newTime
	unobserved := rev(rs("unobserved", 0, 0, olderTime), "1")
	unobserved.Generation = 2
	for _, tc := range []struct {
		name string
		d    *appsv1.Deployment
		old  []*appsv1.ReplicaSet
		want string
	}{
		{name: "keeps the newest revisions", d: limit(1),
			old:  []*appsv1.ReplicaSet{rev(rs("c", 0, 0, olderTime), "3"), rev(rs("a", 0, 0, newTime), "1"), rev(rs("b", 0, 0, oldTime), "2")},
			want: "a b"},
		{name: "within the limit", d: limit(3), old: []*appsv1.ReplicaSet{rev(rs("a", 0, 0, oldTime), "1")}, want: ""},
		{name: "zero keeps none", d: limit(0), old: []*appsv1.ReplicaSet{rev(rs("a", 0, 0, oldTime), "1"), rev(rs("b", 0, 0, oldTime), "2")}, want: "a b"},
		{name: "never one with pods", d: limit(0),
			old: []*appsv1.ReplicaSet{rev(rs("a", 1, 1, oldTime), "1"), func() *appsv1.ReplicaSet {
				r := rev(rs("b", 0, 0, oldTime), "2")
				r.Status.Replicas = 1
				return r
			}()}, want: ""},
		{name: "nor one whose scale-down is unobserved", d: limit(0), old: []*appsv1.ReplicaSet{unobserved}, want: ""},
		{name: "being deleted counts for nothing", d: limit(1), old: []*appsv1.ReplicaSet{deleting, rev(rs("a", 0, 0, oldTime), "2")}, want: ""},
		{name: "no limit", d: func() *appsv1.Deployment {
			d := limit(0)
			d.Spec.RevisionHistoryLimit = ptr(int32(math.MaxInt32))
			return d
		}(), old: []*appsv1.ReplicaSet{rev(rs("a", 0, 0, oldTime), "1")}, want: ""},
	} {
		var names []string
		for _, r := range planCleanup(tc.d, tc.old) {
			names = append(names, r.Name)
		}
		if got := strings.Join(names, " "); got != tc.want {
			t.Errorf("%s: planCleanup = %q; want %q", tc.name, got, tc.want)
		}
	}
}

func TestOldPodsRunning(t *testing.T) {
	cur, old := rs("new", 1, 0, newTime), rs("old", 0, 0, oldTime)
	pod := func(phase corev1.PodPhase) *corev1.Pod { return &corev1.Pod{Status: corev1.PodStatus{Phase: phase}} }
	for _, tc := range []struct {
		name   string
		status int32
		pods   map[types.UID][]*corev1.Pod
		want   bool
	}{
		{name: "none", want: false},
		{name: "old status still counts pods", status: 1, want: true},
		{name: "an old pod pending", pods: map[types.UID][]*corev1.Pod{"old-uid": {pod(corev1.PodPending)}}, want: true},
		{name: "an old pod unknown", pods: map[types.UID][]*corev1.Pod{"old-uid": {pod(corev1.PodUnknown)}}, want: true},
		{name: "old pods finished", pods: map[types.UID][]*corev1.Pod{"old-uid": {pod(corev1.PodSucceeded), pod(corev1.PodFailed)}}, want: false},
		{name: "new pods only", pods: map[types.UID][]*corev1.Pod{"new-uid": {pod(corev1.PodRunning)}}, want: false},
	} {
		old.Status.Replicas = tc.status
		if got := oldPodsRunning(cur, []*appsv1.ReplicaSet{old}, tc.pods); got != tc.want {
			t.Errorf("%s: oldPodsRunning = %v; want %v", tc.name, got, tc.want)
		}
	}
}

func TestActivePods(t *testing.T) {
	now := metav1.Now()
	got := activePods(map[types.UID][]*corev1.Pod{"a": {
		{Status: corev1.PodStatus{Phase: corev1.PodRunning}},
		{Status: corev1.PodStatus{Phase: corev1.PodPending}},
		{ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: &now}},
		{Status: corev1.PodStatus{Phase: corev1.PodSucceeded}},
	}})
	if got["a"] != 2 {
		t.Errorf("activePods = %v; want a:2 (running and pending)", got)
	}
}
