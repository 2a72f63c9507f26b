package scheduler

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tendhq/tend/controllers/scheduler/framework"
	"github.com/tendhq/tend/tendtest"
)

func TestSchedulesAndSpreads(t *testing.T) {
	e := newEnv(t)
	for _, n := range []string{"n1", "n2", "n3"} {
		e.addNode(nodeSpec{name: n})
	}
	// Some pods wait for the scheduler, some come while it runs.
	var names []string
	for i := range 4 {
		names = append(names, e.createPod(makePod(fmt.Sprintf("early-%d", i), "100m")).Name)
	}
	st := e.startScheduler(Config{})
	for i := range 5 {
		names = append(names, e.createPod(makePod(fmt.Sprintf("late-%d", i), "100m")).Name)
	}
	nodes := e.waitBound(20*time.Second, names...)

	perNode := map[string]int{}
	for _, n := range nodes {
		perNode[n]++
	}
	for _, n := range []string{"n1", "n2", "n3"} {
		if perNode[n] != 3 {
			t.Errorf("pods on %s = %d; want 3 (9 equal pods spread over 3 equal nodes: %v)", n, perNode[n], perNode)
		}
	}
	p := e.getPod("late-0")
	if c := condition(p, corev1.PodScheduled); c == nil || c.Status != corev1.ConditionTrue {
		t.Errorf("late-0 condition PodScheduled = %+v; want True", c)
	}
	tendtest.Eventually(t, 10*time.Second, func() string {
		want := fmt.Sprintf("Successfully assigned %s/late-0 to %s", e.ns, p.Spec.NodeName)
		if got := e.events("late-0", "Scheduled"); !slices.Equal(got, []string{want}) {
			return fmt.Sprintf("Scheduled events of late-0 = %q; want [%q]", got, want)
		}
		return ""
	})
	if got := st.counter("scheduler_schedule_attempts_total", map[string]string{"result": "scheduled", "profile": DefaultSchedulerName}); got != 9 {
		t.Errorf("scheduler_schedule_attempts_total{result=scheduled} = %v; want 9", got)
	}
	mfs, err := st.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var metricNames []string
	for _, mf := range mfs {
		metricNames = append(metricNames, mf.GetName())
	}
	for _, want := range []string{"scheduler_schedule_attempts_total", "scheduler_scheduling_attempt_duration_seconds",
		"scheduler_pod_scheduling_sli_duration_seconds", "scheduler_pending_pods", "scheduler_cache_size"} {
		if !slices.Contains(metricNames, want) {
			t.Errorf("metrics %v lack %s", metricNames, want)
		}
	}
}

func TestOtherSchedulersPodsAreLeftAlone(t *testing.T) {
	e := newEnv(t)
	e.addNode(nodeSpec{name: "n1"})
	e.startScheduler(Config{})
	other := makePod("other", "100m")
	other.Spec.SchedulerName = "my-scheduler"
	e.createPod(other)
	mine := e.createPod(makePod("mine", "100m"))
	e.waitBound(20*time.Second, mine.Name)
	if p := e.getPod("other"); p.Spec.NodeName != "" || len(p.Status.Conditions) != 0 {
		t.Errorf("pod of my-scheduler: node %q, conditions %+v; want untouched", p.Spec.NodeName, p.Status.Conditions)
	}
}

func TestUnschedulableUntilNodeAdded(t *testing.T) {
	e := newEnv(t)
	e.addNode(nodeSpec{name: "small", cpu: "1"})
	st := e.startScheduler(Config{})
	e.createPod(makePod("first", "600m"))
	e.waitBound(20*time.Second, "first")
	e.createPod(makePod("big", "600m"))

	msg := e.waitPending("big")
	want := "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.."
	if !sameMessage(msg, want) {
		t.Errorf("PodScheduled message = %q; want %q", msg, want)
	}
	p := e.getPod("big")
	if c := condition(p, corev1.PodScheduled); c.Reason != corev1.PodReasonUnschedulable {
		t.Errorf("PodScheduled reason = %q; want %q", c.Reason, corev1.PodReasonUnschedulable)
	}
	if evs := e.events("big", "FailedScheduling"); len(evs) != 1 || !sameMessage(evs[0], want) {
		t.Errorf("FailedScheduling events = %q; want one saying %q", evs, want)
	}

	// A change of the pod that does not help: tried again, failing the same
	// way, its status is not written again.
	attempts := st.counter("scheduler_schedule_attempts_total", map[string]string{"result": "unschedulable"})
	p.Annotations = map[string]string{"touched": "yes"}
	p, err := e.client.CoreV1().Pods(e.ns).Update(e.ctx, p, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tendtest.Eventually(t, 20*time.Second, func() string {
		if got := st.counter("scheduler_schedule_attempts_total", map[string]string{"result": "unschedulable"}); got <= attempts {
			return fmt.Sprintf("unschedulable attempts = %v; want more than %v", got, attempts)
		}
		return ""
	})
	if got := e.getPod("big"); got.ResourceVersion != p.ResourceVersion {
		t.Errorf("pod resourceVersion = %s after a failure like the last; want %s (no status write)", got.ResourceVersion, p.ResourceVersion)
	}

	e.addNode(nodeSpec{name: "large", cpu: "8"})
	if nodes := e.waitBound(20*time.Second, "big"); nodes["big"] != "large" {
		t.Errorf("big bound to %s; want large", nodes["big"])
	}
}

func TestNoNodes(t *testing.T) {
	e := newEnv(t)
	e.startScheduler(Config{})
	e.createPod(makePod("p", "100m"))
	if msg, want := e.waitPending("p"), "no nodes available to schedule pods"; msg != want {
		t.Errorf("PodScheduled message = %q; want %q", msg, want)
	}
	e.addNode(nodeSpec{name: "n1"})
	e.waitBound(20*time.Second, "p")
}

func TestNodeSelectorAndTaints(t *testing.T) {
	e := newEnv(t)
	e.addNode(nodeSpec{name: "ssd", labels: map[string]string{"disk": "ssd"}})
	e.addNode(nodeSpec{name: "gpu", labels: map[string]string{"accel": "gpu"},
		taints: []corev1.Taint{{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule}}})
	e.addNode(nodeSpec{name: "plain"})
	e.startScheduler(Config{})

	ssd := makePod("wants-ssd", "100m")
	ssd.Spec.NodeSelector = map[string]string{"disk": "ssd"}
	e.createPod(ssd)
	gpu := makePod("wants-gpu", "100m")
	gpu.Spec.NodeSelector = map[string]string{"accel": "gpu"}
	gpu.Spec.Tolerations = []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "gpu", Effect: corev1.TaintEffectNoSchedule}}
	e.createPod(gpu)
	var plain []string
	for i := range 6 {
		plain = append(plain, e.createPod(makePod(fmt.Sprintf("plain-%d", i), "100m")).Name)
	}
	nowhere := makePod("wants-nvme", "100m")
	nowhere.Spec.NodeSelector = map[string]string{"disk": "nvme"}
	e.createPod(nowhere)
	untolerated := makePod("gpu-no-toleration", "100m")
	untolerated.Spec.NodeSelector = map[string]string{"accel": "gpu"}
	e.createPod(untolerated)

	nodes := e.waitBound(20*time.Second, append(plain, "wants-ssd", "wants-gpu")...)
	if nodes["wants-ssd"] != "ssd" {
		t.Errorf("wants-ssd bound to %s; want ssd", nodes["wants-ssd"])
	}
	if nodes["wants-gpu"] != "gpu" {
		t.Errorf("wants-gpu bound to %s; want gpu", nodes["wants-gpu"])
	}
	for _, name := range plain {
		if nodes[name] == "gpu" {
			t.Errorf("%s bound to the tainted node gpu", name)
		}
	}
	tests := []struct{ pod, want string }{
		// TaintToleration filters before NodeAffinity: the tainted node says so.
		{"wants-nvme", "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.."},
		{"gpu-no-toleration", "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.."},
	}
	for _, tt := range tests {
		if got := e.waitPending(tt.pod); !sameMessage(got, tt.want) {
			t.Errorf("message of %s = %q; want %q", tt.pod, got, tt.want)
		}
	}
}

func TestRequiredAntiAffinity(t *testing.T) {
	e := newEnv(t)
	e.addNode(nodeSpec{name: "only"})
	e.startScheduler(Config{})
	mk := func(name string) *corev1.Pod {
		p := makePod(name, "100m")
		p.Labels = map[string]string{"app": "db"}
		p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
				LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}},
				TopologyKey:   corev1.LabelHostname,
			}},
		}}
		return p
	}
	e.createPod(mk("db-0"))
	e.createPod(mk("db-1"))
	var bound, pending []string
	tendtest.Eventually(t, 20*time.Second, func() string {
		bound, pending = nil, nil
		for _, p := range e.pods() {
			if p.Spec.NodeName != "" {
				bound = append(bound, p.Name)
			} else if c := condition(&p, corev1.PodScheduled); c != nil && c.Status == corev1.ConditionFalse {
				pending = append(pending, p.Name)
			}
		}
		if len(bound) != 1 || len(pending) != 1 {
			return fmt.Sprintf("bound %v, pending %v; want one of each", bound, pending)
		}
		return ""
	})
	msg := condition(e.getPod(pending[0]), corev1.PodScheduled).Message
	if !strings.HasPrefix(msg, "0/1 nodes are available: 1 node(s) didn't match pod anti-affinity rules.") {
		t.Errorf("message of %s = %q; want it to say the anti-affinity rules did not match", pending[0], msg)
	}
	// The first one goes: the second fits.
	if err := e.client.CoreV1().Pods(e.ns).Delete(e.ctx, bound[0], metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
		t.Fatal(err)
	}
	e.waitBound(20*time.Second, pending[0])
}

func TestPreemption(t *testing.T) {
	e := newEnv(t)
	for _, pc := range []struct {
		name  string
		value int32
	}{{"low", 100}, {"high", 1000}} {
		if _, err := e.client.SchedulingV1().PriorityClasses().Create(e.ctx, &schedulingv1.PriorityClass{
			ObjectMeta: metav1.ObjectMeta{Name: pc.name}, Value: pc.value,
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	e.addNode(nodeSpec{name: "n1", cpu: "2"})
	e.startScheduler(Config{})
	for _, name := range []string{"low-0", "low-1"} {
		p := makePod(name, "1")
		p.Spec.PriorityClassName = "low"
		e.createPod(p)
	}
	e.waitBound(20*time.Second, "low-0", "low-1")

	high := makePod("high", "1")
	high.Spec.PriorityClassName = "high"
	e.createPod(high)

	// One victim gets the condition and starts terminating (its grace
	// period runs: no kubelet here), the preemptor is nominated.
	var victim *corev1.Pod
	tendtest.Eventually(t, 20*time.Second, func() string {
		victim = nil
		for _, p := range e.pods() {
			if p.DeletionTimestamp != nil {
				victim = &p
			}
		}
		if victim == nil {
			return "no low-priority pod is being deleted"
		}
		if got := e.getPod("high").Status.NominatedNodeName; got != "n1" {
			return fmt.Sprintf("high's nominatedNodeName = %q; want n1", got)
		}
		return ""
	})
	c := condition(victim, corev1.DisruptionTarget)
	want := corev1.PodCondition{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue,
		Reason: corev1.PodReasonPreemptionByScheduler, Message: "default-scheduler: preempting to accommodate a higher priority pod"}
	if c == nil || c.Status != want.Status || c.Reason != want.Reason || c.Message != want.Message {
		t.Errorf("victim %s condition DisruptionTarget = %+v; want %+v", victim.Name, c, want)
	}
	highPod := e.getPod("high")
	tendtest.Eventually(t, 10*time.Second, func() string {
		want := fmt.Sprintf("Preempted by pod %s on node n1", highPod.UID)
		if got := e.events(victim.Name, "Preempted"); !slices.Equal(got, []string{want}) {
			return fmt.Sprintf("Preempted events of %s = %q; want [%q]", victim.Name, got, want)
		}
		return ""
	})
	if p := e.getPod("high"); p.Spec.NodeName != "" {
		t.Fatalf("high bound to %s while its victim still terminates", p.Spec.NodeName)
	}

	// The kubelet's part: the victim's containers stopped.
	if err := e.client.CoreV1().Pods(e.ns).Delete(e.ctx, victim.Name, metav1.DeleteOptions{
		GracePeriodSeconds: new(int64), Preconditions: &metav1.Preconditions{UID: &victim.UID},
	}); err != nil {
		t.Fatal(err)
	}
	if nodes := e.waitBound(20*time.Second, "high"); nodes["high"] != "n1" {
		t.Errorf("high bound to %s; want n1", nodes["high"])
	}
	survivor := "low-0"
	if victim.Name == "low-0" {
		survivor = "low-1"
	}
	if p := e.getPod(survivor); p.DeletionTimestamp != nil || p.Spec.NodeName != "n1" {
		t.Errorf("%s: node %q, deleting %v; want it left running on n1", survivor, p.Spec.NodeName, p.DeletionTimestamp != nil)
	}
}

func TestPreemptionPolicyNever(t *testing.T) {
	e := newEnv(t)
	if _, err := e.client.SchedulingV1().PriorityClasses().Create(e.ctx, &schedulingv1.PriorityClass{
		ObjectMeta: metav1.ObjectMeta{Name: "polite"}, Value: 1000, PreemptionPolicy: new(corev1.PreemptNever),
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.addNode(nodeSpec{name: "n1", cpu: "1"})
	e.startScheduler(Config{})
	e.createPod(makePod("low", "1"))
	e.waitBound(20*time.Second, "low")
	p := makePod("polite", "1")
	p.Spec.PriorityClassName = "polite"
	e.createPod(p)
	want := "0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never.."
	if got := e.waitPending("polite"); !sameMessage(got, want) {
		t.Errorf("message = %q; want %q", got, want)
	}
	if got := e.getPod("low"); got.DeletionTimestamp != nil {
		t.Errorf("low is being deleted; a pod with preemptionPolicy Never must not preempt")
	}
}

// TestRestartBindsOnce stops a scheduler in the middle of 500 pods and
// starts another: every pod ends bound, by exactly one successful binding.
func TestRestartBindsOnce(t *testing.T) {
	e := newEnv(t)
	for i := range 5 {
		e.addNode(nodeSpec{name: fmt.Sprintf("n%d", i), cpu: "64", pods: 200})
	}
	const n = 500
	e.createPods(n, func(i int) *corev1.Pod { return makePod(fmt.Sprintf("p-%03d", i), "10m") })

	first := e.startScheduler(Config{})
	tendtest.Eventually(t, 30*time.Second, func() string {
		if got := e.binds.count(201); got < n/5 {
			return fmt.Sprintf("%d bindings; want %d before stopping", got, n/5)
		}
		return ""
	})
	first.stop()
	stoppedAt := e.binds.count(201)
	e.startScheduler(Config{})

	tendtest.Eventually(t, 60*time.Second, func() string {
		bound := 0
		for _, p := range e.pods() {
			if p.Spec.NodeName != "" {
				bound++
			}
		}
		if bound != n {
			return fmt.Sprintf("%d of %d pods bound", bound, n)
		}
		return ""
	})
	// The apiserver binds a pod once (409 after); a binding canceled by the
	// stop may still have been applied, without its answer being seen.
	ok, unanswered := e.binds.count(201), e.binds.count(-1)
	if ok > n || ok+unanswered < n {
		t.Errorf("successful bindings = %d (and %d unanswered); want %d, one per pod", ok, unanswered, n)
	}
	t.Logf("first scheduler bound %d pods before it stopped; %d bindings unanswered; %d refused as already bound (409)",
		stoppedAt, unanswered, e.binds.count(409))
}

// TestRestartKeepsRoom checks the cache's bookkeeping across a restart:
// pods bound by the first scheduler count on their nodes for the second.
func TestRestartKeepsRoom(t *testing.T) {
	e := newEnv(t)
	e.addNode(nodeSpec{name: "n1", cpu: "1"})
	first := e.startScheduler(Config{})
	e.createPod(makePod("a", "600m"))
	e.waitBound(20*time.Second, "a")
	first.stop()
	e.startScheduler(Config{})
	e.createPod(makePod("b", "600m"))
	if msg := e.waitPending("b"); !strings.HasPrefix(msg, "0/1 nodes are available: 1 Insufficient cpu.") {
		t.Errorf("message of b = %q; want Insufficient cpu", msg)
	}
}

// sameMessage compares FailedScheduling messages but for their final
// periods: upstream's end in two ("... incoming pod.."), the preemption part
// being a FitError text of its own put in " %v."; tend's framework writes one.
func sameMessage(got, want string) bool {
	return strings.TrimRight(got, ".") == strings.TrimRight(want, ".")
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"defaults", DefaultConfig(), true},
		{"zero", Config{}, true},
		{"percentage over 100", Config{PercentageOfNodesToScore: 101}, false},
		{"negative parallelism", Config{Parallelism: -1}, false},
		{"backoff upside down", Config{PodInitialBackoff: 20 * time.Second, PodMaxBackoff: 10 * time.Second}, false},
		{"election without identity", Config{LeaderElect: true, LeaseNamespace: "kube-system", LeaseName: "kube-scheduler"}, false},
	}
	for _, tt := range tests {
		if err := tt.cfg.Validate(); (err == nil) != tt.ok {
			t.Errorf("%s: Validate() = %v; want ok %v", tt.name, err, tt.ok)
		}
	}
}

func TestUpdatePodCondition(t *testing.T) {
	then := metav1.NewTime(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	now := metav1.NewTime(then.Add(time.Hour))
	unsched := corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: "m"}
	old := unsched
	old.LastTransitionTime = then
	tests := []struct {
		name     string
		existing []corev1.PodCondition
		cond     corev1.PodCondition
		changed  bool
		wantTime metav1.Time
	}{
		{"new condition", nil, unsched, true, now},
		{"same condition", []corev1.PodCondition{old}, unsched, false, then},
		{"new message keeps the transition time", []corev1.PodCondition{old},
			corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: "other"}, true, then},
		{"new status moves the transition time", []corev1.PodCondition{old},
			corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}, true, now},
	}
	for _, tt := range tests {
		st := &corev1.PodStatus{Conditions: slices.Clone(tt.existing)}
		if got := updatePodCondition(st, &tt.cond, now); got != tt.changed {
			t.Errorf("%s: updatePodCondition() = %v; want %v", tt.name, got, tt.changed)
		}
		if len(st.Conditions) != 1 || !st.Conditions[0].LastTransitionTime.Equal(&tt.wantTime) {
			t.Errorf("%s: conditions = %+v; want one with transition time %v", tt.name, st.Conditions, tt.wantTime)
		}
	}
}

func TestEligibleToPreempt(t *testing.T) {
	prio := func(p int32) *int32 { return &p }
	never := corev1.PreemptNever
	terminating := testPod("victim", "n1", "1")
	terminating.Spec.Priority = prio(1)
	terminating.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	terminating.Status.Conditions = []corev1.PodCondition{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: corev1.PodReasonPreemptionByScheduler}}
	c := newCache()
	c.AddNode(testNode("n1", ""))
	if err := c.AddPod(terminating); err != nil {
		t.Fatal(err)
	}
	snap := newSnapshot()
	if err := c.UpdateSnapshot(snap); err != nil {
		t.Fatal(err)
	}
	mk := func(p int32, nnn string, policy *corev1.PreemptionPolicy) *corev1.Pod {
		pod := testPod("p", "", "1")
		pod.UID = types.UID("p")
		pod.Spec.Priority, pod.Spec.PreemptionPolicy = prio(p), policy
		pod.Status.NominatedNodeName = nnn
		return pod
	}
	tests := []struct {
		name string
		pod  *corev1.Pod
		ok   bool
		msg  string
	}{
		{"no nomination", mk(10, "", nil), true, ""},
		{"policy never", mk(10, "", &never), false, "not eligible due to preemptionPolicy=Never."},
		{"victim still terminating", mk(10, "n1", nil), false, "not eligible due to a terminating pod on the nominated node."},
		{"terminating pod of higher priority", mk(0, "n1", nil), true, ""},
		{"nominated node gone", mk(10, "n9", nil), true, ""},
	}
	for _, tt := range tests {
		ok, msg := eligibleToPreempt(tt.pod, snap, &framework.FitError{})
		if ok != tt.ok || msg != tt.msg {
			t.Errorf("%s: eligibleToPreempt() = %v, %q; want %v, %q", tt.name, ok, msg, tt.ok, tt.msg)
		}
	}
}

func TestTerminatedPodFreesRoom(t *testing.T) {
	e := newEnv(t)
	e.addNode(nodeSpec{name: "n1", cpu: "1"})
	e.startScheduler(Config{})
	e.createPod(makePod("job", "600m"))
	e.waitBound(20*time.Second, "job")
	e.createPod(makePod("next", "600m"))
	e.waitPending("next")

	// The job's pod succeeds: it leaves the scheduler's informer (terminated
	// pods hold no room) and the pending pod fits.
	p := e.getPod("job")
	p.Status.Phase = corev1.PodSucceeded
	if _, err := e.client.CoreV1().Pods(e.ns).UpdateStatus(e.ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitBound(20*time.Second, "next")
}

// TestRunLeaderElected runs two schedulers through Run: one leads and
// schedules; when it stops, the other takes over.
func TestRunLeaderElected(t *testing.T) {
	e := newEnv(t)
	e.addNode(nodeSpec{name: "n1"})
	type candidate struct {
		cancel context.CancelFunc
		done   chan struct{}
	}
	candidates := map[string]*candidate{}
	for _, id := range []string{"a", "b"} {
		cfg := DefaultConfig()
		cfg.RESTConfig = e.restConfig()
		cfg.Identity = id
		cfg.LeaseDuration, cfg.RenewDeadline, cfg.RetryPeriod = 3*time.Second, 2*time.Second, 100*time.Millisecond
		cfg.Logf = t.Logf
		ctx, cancel := context.WithCancel(e.ctx)
		c := &candidate{cancel: cancel, done: make(chan struct{})}
		candidates[id] = c
		go func() {
			defer close(c.done)
			if err := Run(ctx, cfg); err != nil {
				t.Errorf("Run(%s): %v", id, err)
			}
		}()
		t.Cleanup(func() { cancel(); <-c.done })
	}
	e.createPod(makePod("p1", "100m"))
	e.waitBound(20*time.Second, "p1")
	lease, err := e.client.CoordinationV1().Leases("kube-system").Get(e.ctx, "kube-scheduler", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	leader := *lease.Spec.HolderIdentity
	other := map[string]string{"a": "b", "b": "a"}[leader]
	if other == "" {
		t.Fatalf("Lease holder = %q; want a or b", leader)
	}
	c := candidates[leader]
	c.cancel()
	<-c.done
	e.createPod(makePod("p2", "100m"))
	e.waitBound(20*time.Second, "p2")
	lease, err = e.client.CoordinationV1().Leases("kube-system").Get(e.ctx, "kube-scheduler", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := *lease.Spec.HolderIdentity; got != other {
		t.Errorf("Lease holder after %s left = %q; want %q", leader, got, other)
	}
}
