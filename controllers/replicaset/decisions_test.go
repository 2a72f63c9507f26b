package replicaset

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tendhq/tend/controllers"
)

func TestDecide(t *testing.T) {
	for _, tc := range []struct {
		active   int
		replicas int32
		want     scale
	}{
		{0, 0, scale{}},
		{3, 3, scale{}},
		{0, 3, scale{create: 3}},
		{1, 3, scale{create: 2}},
		{5, 2, scale{delete: 3}},
		{0, 10000, scale{create: 500}},
		{10000, 0, scale{delete: 500}},
		{0, 500, scale{create: 500}},
	} {
		if got := decide(tc.active, tc.replicas, BurstReplicas); got != tc.want {
			t.Errorf("decide(%d active, %d replicas) = %+v; want %+v", tc.active, tc.replicas, got, tc.want)
		}
	}
}

func TestSlowStartBatch(t *testing.T) {
	boom := errors.New("boom")
	for _, tc := range []struct {
		name      string
		count     int
		failFrom  int // calls from this one on fail; 0: none fail
		wantOK    int
		wantCalls int
		wantErr   bool
	}{
		{name: "none", count: 0},
		{name: "all succeed", count: 500, wantOK: 500, wantCalls: 500},
		{name: "first fails", count: 500, failFrom: 1, wantCalls: 1, wantErr: true},
		// Batches 1, 2, 4: the fourth call, first of the third batch, fails;
		// the rest of that batch still runs, none after.
		{name: "third batch fails", count: 500, failFrom: 4, wantOK: 3, wantCalls: 7, wantErr: true},
		{name: "last call fails", count: 10, failFrom: 10, wantOK: 9, wantCalls: 10, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int64
			ok, err := slowStartBatch(tc.count, 1, 4, func() error {
				if n := calls.Add(1); tc.failFrom > 0 && int(n) >= tc.failFrom {
					return boom
				}
				return nil
			})
			if ok != tc.wantOK || int(calls.Load()) != tc.wantCalls || (err != nil) != tc.wantErr {
				t.Errorf("slowStartBatch(%d) = %d, %v after %d calls; want %d, error %v after %d calls",
					tc.count, ok, err, calls.Load(), tc.wantOK, tc.wantErr, tc.wantCalls)
			}
		})
	}
}

func TestSlowStartBatchConcurrency(t *testing.T) {
	// Record the most calls outstanding together.
	var (
		mu            sync.Mutex
		inFlight, top int
		release       = make(chan struct{})
	)
	const limit = 8
	done := make(chan struct{})
	var ok int
	go func() {
		defer close(done)
		ok, _ = slowStartBatch(100, 1, limit, func() error {
			mu.Lock()
			inFlight++
			top = max(top, inFlight)
			mu.Unlock()
			<-release
			mu.Lock()
			inFlight--
			mu.Unlock()
			return nil
		})
	}()
	go func() {
		for {
			select {
			case release <- struct{}{}:
			case <-done:
				return
			}
		}
	}()
	<-done
	if ok != 100 || top > limit {
		t.Errorf("slowStartBatch(100, limit %d) = %d, at most %d at once; want 100, at most %d", limit, ok, top, limit)
	}
}

func TestForEachLimit(t *testing.T) {
	var cur, top atomic.Int64
	seen := make([]atomic.Bool, 50)
	forEach(50, 5, func(i int) {
		n := cur.Add(1)
		for {
			t := top.Load()
			if n <= t || top.CompareAndSwap(t, n) {
				break
			}
		}
		time.Sleep(time.Millisecond)
		seen[i].Store(true)
		cur.Add(-1)
	})
	for i := range seen {
		if !seen[i].Load() {
			t.Fatalf("forEach(50) skipped %d", i)
		}
	}
	if top.Load() > 5 {
		t.Errorf("forEach(50, 5) ran %d at once; want at most 5", top.Load())
	}
}

// pod builds a pod for the ranking tests.
type podOpt func(*corev1.Pod)

func mkPod(name string, opts ...podOpt) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID("uid-" + name),
		Labels: map[string]string{"app": "web"}}}
	for _, o := range opts {
		o(p)
	}
	return p
}

func onNode(n string) podOpt          { return func(p *corev1.Pod) { p.Spec.NodeName = n } }
func phase(ph corev1.PodPhase) podOpt { return func(p *corev1.Pod) { p.Status.Phase = ph } }
func created(t time.Time) podOpt {
	return func(p *corev1.Pod) { p.CreationTimestamp = metav1.NewTime(t) }
}
func readyAt(t time.Time) podOpt {
	return func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodRunning
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: corev1.PodReady,
			Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(t)})
	}
}
func restarts(n int32) podOpt {
	return func(p *corev1.Pod) {
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{Name: "c", RestartCount: n})
	}
}
func sidecarRestarts(n int32) podOpt {
	return func(p *corev1.Pod) {
		always := corev1.ContainerRestartPolicyAlways
		p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Name: "side", RestartPolicy: &always})
		p.Status.InitContainerStatuses = append(p.Status.InitContainerStatuses, corev1.ContainerStatus{Name: "side", RestartCount: n})
	}
}
func cost(v string) podOpt {
	return func(p *corev1.Pod) { p.Annotations = map[string]string{corev1.PodDeletionCost: v} }
}
func deleting() podOpt {
	return func(p *corev1.Pod) { now := metav1.Now(); p.DeletionTimestamp = &now }
}

func TestPodsToDelete(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	for _, tc := range []struct {
		name    string
		pods    []*corev1.Pod
		related []*corev1.Pod
		n       int
		want    []string // in deletion order
	}{
		{
			name: "unscheduled first",
			pods: []*corev1.Pod{mkPod("scheduled", onNode("n1"), phase(corev1.PodPending)), mkPod("unscheduled", phase(corev1.PodPending))},
			n:    1, want: []string{"unscheduled"},
		},
		{
			name: "pending before unknown before running",
			pods: []*corev1.Pod{
				mkPod("running", onNode("n"), phase(corev1.PodRunning)),
				mkPod("unknown", onNode("n"), phase(corev1.PodUnknown)),
				mkPod("pending", onNode("n"), phase(corev1.PodPending)),
			},
			n: 2, want: []string{"pending", "unknown"},
		},
		{
			name: "not ready before ready",
			pods: []*corev1.Pod{mkPod("ready", onNode("n"), readyAt(ago(time.Minute))), mkPod("running", onNode("n"), phase(corev1.PodRunning))},
			n:    1, want: []string{"running"},
		},
		{
			name: "lower deletion cost first; invalid costs count as 0",
			pods: []*corev1.Pod{
				mkPod("high", onNode("n"), readyAt(ago(time.Second)), cost("100")),
				mkPod("plus", onNode("n"), readyAt(ago(time.Second)), cost("+5")),
				mkPod("low", onNode("n"), readyAt(ago(time.Hour)), cost("-10")),
			},
			n: 2, want: []string{"low", "plus"},
		},
		{
			name: "crowded node first",
			pods: []*corev1.Pod{mkPod("alone", onNode("a"), readyAt(ago(time.Second))), mkPod("crowded", onNode("b"), readyAt(ago(time.Hour)))},
			related: []*corev1.Pod{
				mkPod("alone", onNode("a")), mkPod("crowded", onNode("b")),
				mkPod("sibling1", onNode("b")), mkPod("sibling2", onNode("b")),
				mkPod("gone", onNode("a"), deleting()), mkPod("gone2", onNode("a"), deleting()),
			},
			n: 1, want: []string{"crowded"},
		},
		{
			name: "ready for less time first",
			pods: []*corev1.Pod{
				mkPod("old", onNode("n"), readyAt(ago(time.Hour))),
				mkPod("new", onNode("n"), readyAt(ago(10*time.Second))),
				mkPod("mid", onNode("n"), readyAt(ago(5*time.Minute))),
			},
			n: 2, want: []string{"new", "mid"},
		},
		{
			name: "ready times of the same log2 rank: by UID, before restarts",
			pods: []*corev1.Pod{
				mkPod("b", onNode("n"), readyAt(ago(100*time.Second)), restarts(9)),
				mkPod("a", onNode("n"), readyAt(ago(101*time.Second))),
			},
			n: 1, want: []string{"a"},
		},
		{
			name: "more restarts first",
			pods: []*corev1.Pod{mkPod("calm", onNode("n"), phase(corev1.PodRunning), restarts(1)), mkPod("flappy", onNode("n"), phase(corev1.PodRunning), restarts(7))},
			n:    1, want: []string{"flappy"},
		},
		{
			name: "regular restarts before sidecar restarts",
			pods: []*corev1.Pod{
				mkPod("sidecar", onNode("n"), phase(corev1.PodRunning), restarts(1), sidecarRestarts(9)),
				mkPod("regular", onNode("n"), phase(corev1.PodRunning), restarts(2)),
				mkPod("quiet", onNode("n"), phase(corev1.PodRunning), restarts(1)),
			},
			n: 2, want: []string{"regular", "sidecar"},
		},
		{
			name: "newer first",
			pods: []*corev1.Pod{
				mkPod("old", onNode("n"), phase(corev1.PodRunning), created(ago(time.Hour))),
				mkPod("new", onNode("n"), phase(corev1.PodRunning), created(ago(time.Second))),
			},
			n: 1, want: []string{"new"},
		},
		{
			name: "all of them",
			pods: []*corev1.Pod{mkPod("x"), mkPod("y")},
			n:    5, want: []string{"x", "y"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := slices.Clone(tc.pods)
			got := podsToDelete(tc.pods, tc.related, tc.n, now)
			var names []string
			for _, p := range got {
				names = append(names, p.Name)
			}
			if !slices.Equal(names, tc.want) {
				t.Errorf("podsToDelete(%d) = %v; want %v", tc.n, names, tc.want)
			}
			if !slices.Equal(before, tc.pods) {
				t.Errorf("podsToDelete reordered its input")
			}
		})
	}
}

func TestDeletionCost(t *testing.T) {
	for v, want := range map[string]int32{"": 0, "0": 0, "7": 7, "-3": -3, "+1": 0, "01": 0, "x": 0, "99999999999": 0} {
		if got := deletionCost(mkPod("p", cost(v))); got != want {
			t.Errorf("deletionCost(%q) = %d; want %d", v, got, want)
		}
	}
}

func testSet(replicas int32, minReady int32, status appsv1.ReplicaSetStatus) *set {
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "rs-uid", Generation: 4},
		Spec: appsv1.ReplicaSetSpec{Replicas: &replicas, MinReadySeconds: minReady,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web", "tier": "front"}}}},
		Status: status}
	s, err := readReplicaSet(rs)
	if err != nil {
		panic(err)
	}
	return s
}

func TestNextStatus(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	full := func(p *corev1.Pod) { p.Labels["tier"] = "front" }
	failure := appsv1.ReplicaSetCondition{Type: appsv1.ReplicaSetReplicaFailure, Status: corev1.ConditionTrue,
		Reason: reasonFailedCreate, Message: "old", LastTransitionTime: metav1.NewTime(now.Add(-time.Hour))}
	for _, tc := range []struct {
		name        string
		set         *set
		active      []*corev1.Pod
		terminating int
		err         error
		want        appsv1.ReplicaSetStatus
	}{
		{
			name: "counts",
			set:  testSet(4, 10, appsv1.ReplicaSetStatus{}),
			active: []*corev1.Pod{
				mkPod("a", full, readyAt(now.Add(-time.Minute))),   // available
				mkPod("b", full, readyAt(now.Add(-5*time.Second))), // ready, not yet available
				mkPod("c", readyAt(now.Add(-time.Hour))),           // not fully labeled
				mkPod("d", full),                                   // not ready
			},
			terminating: 2,
			want:        appsv1.ReplicaSetStatus{Replicas: 4, FullyLabeledReplicas: 3, ReadyReplicas: 3, AvailableReplicas: 2, TerminatingReplicas: ptrTo(int32(2)), ObservedGeneration: 4},
		},
		{
			name: "failed creations add ReplicaFailure",
			set:  testSet(3, 0, appsv1.ReplicaSetStatus{}),
			err:  errors.New("quota exceeded"),
			want: appsv1.ReplicaSetStatus{TerminatingReplicas: ptrTo(int32(0)), ObservedGeneration: 4, Conditions: []appsv1.ReplicaSetCondition{{
				Type: appsv1.ReplicaSetReplicaFailure, Status: corev1.ConditionTrue, Reason: reasonFailedCreate,
				Message: "quota exceeded", LastTransitionTime: metav1.NewTime(now)}}},
		},
		{
			name:   "failed deletions add ReplicaFailure",
			set:    testSet(0, 0, appsv1.ReplicaSetStatus{}),
			active: []*corev1.Pod{mkPod("a", full)},
			err:    errors.New("forbidden"),
			want: appsv1.ReplicaSetStatus{Replicas: 1, FullyLabeledReplicas: 1, TerminatingReplicas: ptrTo(int32(0)), ObservedGeneration: 4,
				Conditions: []appsv1.ReplicaSetCondition{{Type: appsv1.ReplicaSetReplicaFailure, Status: corev1.ConditionTrue,
					Reason: reasonFailedDelete, Message: "forbidden", LastTransitionTime: metav1.NewTime(now)}}},
		},
		{
			name: "an existing failure is kept as it was",
			set:  testSet(3, 0, appsv1.ReplicaSetStatus{Conditions: []appsv1.ReplicaSetCondition{failure}}),
			err:  errors.New("new message"),
			want: appsv1.ReplicaSetStatus{TerminatingReplicas: ptrTo(int32(0)), ObservedGeneration: 4, Conditions: []appsv1.ReplicaSetCondition{failure}},
		},
		{
			name: "success removes ReplicaFailure",
			set:  testSet(0, 0, appsv1.ReplicaSetStatus{Conditions: []appsv1.ReplicaSetCondition{failure}}),
			want: appsv1.ReplicaSetStatus{TerminatingReplicas: ptrTo(int32(0)), ObservedGeneration: 4},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			terminating := make([]*corev1.Pod, tc.terminating)
			got := nextStatus(tc.set, tc.active, terminating, tc.err, true, now)
			if !statusEqual(got, tc.want) {
				t.Errorf("nextStatus = %s %+v; want %s %+v", statusString(got), got.Conditions, statusString(tc.want), tc.want.Conditions)
			}
		})
	}
	// Without terminatingReplicas (a ReplicationController), the field stays unset.
	if got := nextStatus(testSet(0, 0, appsv1.ReplicaSetStatus{}), nil, make([]*corev1.Pod, 3), nil, false, now); got.TerminatingReplicas != nil {
		t.Errorf("nextStatus without terminating counts: terminatingReplicas = %d; want unset", *got.TerminatingReplicas)
	}
}

func TestStatusPatchSpellsOutZeros(t *testing.T) {
	patch, err := statusPatch("uid-1", appsv1.ReplicaSetStatus{ObservedGeneration: 2, TerminatingReplicas: ptrTo(int32(0))}, true)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]map[string]any
	if err := json.Unmarshal(patch, &got); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"replicas", "fullyLabeledReplicas", "readyReplicas", "availableReplicas", "terminatingReplicas", "conditions"} {
		if _, ok := got["status"][f]; !ok {
			t.Errorf("status patch %s lacks %s; want it spelled out", patch, f)
		}
	}
	if got["metadata"]["uid"] != "uid-1" {
		t.Errorf("status patch %s: uid = %v; want uid-1", patch, got["metadata"]["uid"])
	}
	rc, _ := statusPatch("uid-1", appsv1.ReplicaSetStatus{}, false)
	if strings.Contains(string(rc), "terminatingReplicas") {
		t.Errorf("ReplicationController status patch %s has terminatingReplicas; want none", rc)
	}
}

func TestUntilAvailable(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		minReady int32
		pods     []*corev1.Pod
		want     time.Duration
	}{
		{"no minReadySeconds", 0, []*corev1.Pod{mkPod("a", readyAt(now))}, 0},
		{"none ready", 10, []*corev1.Pod{mkPod("a")}, 0},
		{"all available", 10, []*corev1.Pod{mkPod("a", readyAt(now.Add(-time.Minute)))}, 0},
		{"the soonest", 10, []*corev1.Pod{
			mkPod("a", readyAt(now.Add(-2*time.Second))),
			mkPod("b", readyAt(now.Add(-7*time.Second))),
			mkPod("c", readyAt(now.Add(-time.Minute))),
		}, 3*time.Second + availabilitySlack},
		{"exactly now is not yet", 10, []*corev1.Pod{mkPod("a", readyAt(now.Add(-10*time.Second)))}, availabilitySlack},
	} {
		if got := untilAvailable(tc.minReady, tc.pods, now); got != tc.want {
			t.Errorf("%s: untilAvailable = %v; want %v", tc.name, got, tc.want)
		}
	}
}

func TestSplitPods(t *testing.T) {
	pods := []*corev1.Pod{
		mkPod("running", phase(corev1.PodRunning)),
		mkPod("pending"),
		mkPod("succeeded", phase(corev1.PodSucceeded)),
		mkPod("failed", phase(corev1.PodFailed)),
		mkPod("terminating", phase(corev1.PodRunning), deleting()),
		mkPod("failed-and-deleting", phase(corev1.PodFailed), deleting()),
	}
	active, terminating := splitPods(pods)
	names := func(ps []*corev1.Pod) string {
		var n []string
		for _, p := range ps {
			n = append(n, p.Name)
		}
		return strings.Join(n, ",")
	}
	if got, want := names(active), "running,pending"; got != want {
		t.Errorf("active = %s; want %s", got, want)
	}
	if got, want := names(terminating), "terminating"; got != want {
		t.Errorf("terminating = %s; want %s", got, want)
	}
}

func TestPodFromTemplate(t *testing.T) {
	tmpl := &corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}, Annotations: map[string]string{"a": "b"}, Finalizers: []string{"f"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx"}}},
	}
	owner := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "rs-uid"}}
	ref := controllers.ControllerRef(owner, replicaSetKind)
	p := podFromTemplate(tmpl, owner, ref)
	if p.GenerateName != "web-" || p.Namespace != "ns" || p.Labels["app"] != "web" || p.Annotations["a"] != "b" ||
		!slices.Equal(p.Finalizers, []string{"f"}) || len(p.OwnerReferences) != 1 || p.OwnerReferences[0].UID != "rs-uid" ||
		p.Spec.Containers[0].Image != "nginx" {
		t.Errorf("podFromTemplate = %+v; want the template's metadata and spec, generateName web-, controlled by web", p)
	}
	p.Labels["app"] = "changed"
	p.Spec.Containers[0].Image = "changed"
	if tmpl.Labels["app"] != "web" || tmpl.Spec.Containers[0].Image != "nginx" {
		t.Error("the pod shares maps or slices with the template")
	}

	if got := podPrefix("web"); got != "web-" {
		t.Errorf("podPrefix(web) = %q; want web-", got)
	}
}

func TestReadReplicationController(t *testing.T) {
	tmpl := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}}}
	rc := &corev1.ReplicationController{
		ObjectMeta: metav1.ObjectMeta{Name: "rc", Namespace: "ns"},
		Spec:       corev1.ReplicationControllerSpec{Selector: map[string]string{"app": "web"}, Template: &tmpl, MinReadySeconds: 3},
		Status: corev1.ReplicationControllerStatus{Replicas: 2, ReadyReplicas: 1, ObservedGeneration: 7,
			Conditions: []corev1.ReplicationControllerCondition{{Type: corev1.ReplicationControllerReplicaFailure, Status: corev1.ConditionTrue, Reason: "FailedCreate"}}},
	}
	s, err := readReplicationController(rc)
	if err != nil {
		t.Fatal(err)
	}
	if s.replicas != 1 || s.minReadySeconds != 3 || s.status.Replicas != 2 || s.status.ReadyReplicas != 1 || s.status.ObservedGeneration != 7 ||
		condition(s.status, appsv1.ReplicaSetReplicaFailure) == nil || !s.selector.Matches(labels.Set{"app": "web"}) {
		t.Errorf("readReplicationController = %+v; want replicas defaulted to 1, the spec and status carried over", s)
	}
	rc.Spec.Selector = nil
	if s, _ := readReplicationController(rc); s.selector.Matches(labels.Set{"app": "web"}) {
		t.Error("an empty ReplicationController selector matches pods; want none")
	}
	rc.Spec.Template = nil
	if _, err := readReplicationController(rc); err == nil {
		t.Error("readReplicationController without a template: no error")
	}
}

func TestByControllerIndex(t *testing.T) {
	yes := true
	owned := mkPod("a")
	owned.OwnerReferences = []metav1.OwnerReference{{UID: "other", Controller: nil}, {UID: "ctrl", Controller: &yes}}
	if got := byController(owned); !slices.Equal(got, []string{"ctrl"}) {
		t.Errorf("byController(owned) = %v; want [ctrl]", got)
	}
	if got := byController(mkPod("b")); !slices.Equal(got, []string{OrphanIndexValue("ns")}) {
		t.Errorf("byController(orphan) = %v; want [%s]", got, OrphanIndexValue("ns"))
	}
}
