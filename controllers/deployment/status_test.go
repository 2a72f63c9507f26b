package deployment

import (
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
)

func condString(c *appsv1.DeploymentCondition) string {
	if c == nil {
		return "none"
	}
	return fmt.Sprintf("%s/%s %q updated %s transitioned %s", c.Status, c.Reason, c.Message,
		c.LastUpdateTime.UTC().Format(time.TimeOnly), c.LastTransitionTime.UTC().Format(time.TimeOnly))
}

func TestCalculateStatus(t *testing.T) {
	d := deployment(5, 2, 1)
	d.Generation = 4
	d.Status.CollisionCount = ptr(int32(2))
	cur, old := rs("v2", 3, 2, newTime), rs("v1", 3, 3, oldTime)
	cur.Status.TerminatingReplicas = ptr(int32(1))
	got := calculateStatus([]*appsv1.ReplicaSet{old, cur}, cur, d, t0)
	want := appsv1.DeploymentStatus{ObservedGeneration: 4, Replicas: 6, UpdatedReplicas: 3, ReadyReplicas: 5, AvailableReplicas: 5,
		UnavailableReplicas: 1, TerminatingReplicas: ptr(int32(1)), CollisionCount: ptr(int32(2))}
	gotCounts := got
	gotCounts.Conditions = nil
	if !apiequality.Semantic.DeepEqual(gotCounts, want) {
		t.Errorf("calculateStatus = %+v; want %+v", gotCounts, want)
	}
	if c := getCondition(got, appsv1.DeploymentAvailable); c == nil || c.Status != corev1.ConditionTrue || c.Reason != reasonMinimumReplicasAvailable {
		t.Errorf("Available = %s; want True/%s (5 available of 5-1 needed)", condString(c), reasonMinimumReplicasAvailable)
	}

	old.Status.AvailableReplicas = 1
	got = calculateStatus([]*appsv1.ReplicaSet{old, cur, nil}, cur, d, t0)
	if c := getCondition(got, appsv1.DeploymentAvailable); c == nil || c.Status != corev1.ConditionFalse || c.Reason != reasonMinimumReplicasUnavailable ||
		c.Message != "Deployment does not have minimum availability." {
		t.Errorf("Available = %s; want False/%s", condString(c), reasonMinimumReplicasUnavailable)
	}
	if got.TerminatingReplicas == nil || calculateStatus([]*appsv1.ReplicaSet{old}, nil, d, t0).TerminatingReplicas != nil {
		t.Errorf("terminatingReplicas: want set when a ReplicaSet reports it, nil when none does")
	}
}

func TestRolloutStatus(t *testing.T) {
	earlier, now := t0, t0.Add(11*time.Minute) // the deadline is 10 minutes
	progressing := func(status corev1.ConditionStatus, reason string, at time.Time) appsv1.DeploymentCondition {
		return newCondition(appsv1.DeploymentProgressing, status, reason, "before", at)
	}
	type tc struct {
		name     string
		deadline *int32
		before   appsv1.DeploymentStatus
		cur      *appsv1.ReplicaSet // the new ReplicaSet; the old one is "v1"
		old      *appsv1.ReplicaSet
		want     string
	}
	for _, c := range []tc{
		{name: "complete", cur: rs("v2", 3, 3, newTime), old: rs("v1", 0, 0, oldTime),
			before: appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 2, Conditions: []appsv1.DeploymentCondition{progressing(corev1.ConditionTrue, reasonReplicaSetUpdated, earlier)}},
			want:   `True/NewReplicaSetAvailable "ReplicaSet \"v2\" has successfully progressed." updated 00:11:00 transitioned 00:00:00`},
		{name: "progressing moves lastUpdateTime only", cur: rs("v2", 2, 1, newTime), old: rs("v1", 2, 2, oldTime),
			before: appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 1, Conditions: []appsv1.DeploymentCondition{progressing(corev1.ConditionTrue, reasonReplicaSetUpdated, earlier)}},
			want:   `True/ReplicaSetUpdated "ReplicaSet \"v2\" is progressing." updated 00:11:00 transitioned 00:00:00`},
		{name: "progress after a timeout transitions", cur: rs("v2", 2, 1, newTime), old: rs("v1", 2, 2, oldTime),
			before: appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 1, Conditions: []appsv1.DeploymentCondition{progressing(corev1.ConditionFalse, reasonTimedOut, earlier)}},
			want:   `True/ReplicaSetUpdated "ReplicaSet \"v2\" is progressing." updated 00:11:00 transitioned 00:11:00`},
		{name: "stalled past the deadline", cur: rs("v2", 2, 0, newTime), old: rs("v1", 2, 2, oldTime),
			before: appsv1.DeploymentStatus{Replicas: 4, UpdatedReplicas: 2, ReadyReplicas: 2, AvailableReplicas: 2,
				Conditions: []appsv1.DeploymentCondition{progressing(corev1.ConditionTrue, reasonReplicaSetUpdated, earlier)}},
			want: `False/ProgressDeadlineExceeded "ReplicaSet \"v2\" has timed out progressing." updated 00:11:00 transitioned 00:11:00`},
		{name: "stalled within the deadline", deadline: ptr(int32(3600)), cur: rs("v2", 2, 0, newTime), old: rs("v1", 2, 2, oldTime),
			before: appsv1.DeploymentStatus{Replicas: 4, UpdatedReplicas: 2, ReadyReplicas: 2, AvailableReplicas: 2,
				Conditions: []appsv1.DeploymentCondition{progressing(corev1.ConditionTrue, reasonReplicaSetUpdated, earlier)}},
			want: `True/ReplicaSetUpdated "before" updated 00:00:00 transitioned 00:00:00`},
		{name: "complete stays complete", cur: rs("v2", 3, 1, newTime), old: rs("v1", 0, 0, oldTime),
			before: appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 3, AvailableReplicas: 3,
				Conditions: []appsv1.DeploymentCondition{progressing(corev1.ConditionTrue, reasonNewRSAvailable, earlier)}},
			want: `True/NewReplicaSetAvailable "before" updated 00:00:00 transitioned 00:00:00`},
		{name: "no progress deadline", deadline: ptr(int32(2147483647)), cur: rs("v2", 3, 3, newTime), old: rs("v1", 0, 0, oldTime),
			before: appsv1.DeploymentStatus{Conditions: []appsv1.DeploymentCondition{progressing(corev1.ConditionTrue, reasonReplicaSetUpdated, earlier)}},
			want:   "none"},
		{name: "no new ReplicaSet", cur: nil, old: rs("v1", 3, 0, oldTime),
			before: appsv1.DeploymentStatus{Replicas: 3, Conditions: []appsv1.DeploymentCondition{progressing(corev1.ConditionTrue, reasonReplicaSetUpdated, earlier)}},
			want:   `False/ProgressDeadlineExceeded "Deployment \"foo\" has timed out progressing." updated 00:11:00 transitioned 00:11:00`},
	} {
		d := deployment(3, 1, 0)
		d.Spec.ProgressDeadlineSeconds = ptr(int32(600))
		if c.deadline != nil {
			d.Spec.ProgressDeadlineSeconds = c.deadline
		}
		d.Status = c.before
		got := rolloutStatus(withNew([]*appsv1.ReplicaSet{c.old}, c.cur), c.cur, d, now)
		if s := condString(getCondition(got, appsv1.DeploymentProgressing)); s != c.want {
			t.Errorf("%s: Progressing = %s; want %s", c.name, s, c.want)
		}
	}
}

func TestReplicaFailures(t *testing.T) {
	failure := func(r *appsv1.ReplicaSet, msg string) *appsv1.ReplicaSet {
		r.Status.Conditions = []appsv1.ReplicaSetCondition{{Type: appsv1.ReplicaSetReplicaFailure, Status: corev1.ConditionTrue, Reason: "FailedCreate", Message: msg}}
		return r
	}
	d := deployment(2, 1, 0)
	cur, old := failure(rs("v2", 2, 0, newTime), "quota"), failure(rs("v1", 1, 1, oldTime), "old")
	got := getCondition(rolloutStatus([]*appsv1.ReplicaSet{old, cur}, cur, d, t0), appsv1.DeploymentReplicaFailure)
	if got == nil || got.Message != "quota" || got.Reason != "FailedCreate" {
		t.Errorf("ReplicaFailure = %+v; want the new ReplicaSet's (quota)", got)
	}
	d.Status.Conditions = []appsv1.DeploymentCondition{*got}
	if got := getCondition(rolloutStatus([]*appsv1.ReplicaSet{rs("v1", 1, 1, oldTime)}, nil, d, t0), appsv1.DeploymentReplicaFailure); got != nil {
		t.Errorf("ReplicaFailure = %+v; want it removed once no ReplicaSet fails", got)
	}
}

func TestProgressCheckAfter(t *testing.T) {
	now := t0.Add(3 * time.Minute)
	for _, tc := range []struct {
		name   string
		reason string
		at     time.Time
		status appsv1.DeploymentStatus
		want   time.Duration
		wantOK bool
	}{
		{name: "7 minutes left", reason: reasonReplicaSetUpdated, at: t0, want: 7*time.Minute + time.Second, wantOK: true},
		{name: "nearly due", reason: reasonReplicaSetUpdated, at: now.Add(-10*time.Minute + 500*time.Millisecond), want: 600 * time.Millisecond, wantOK: true},
		{name: "overdue", reason: reasonReplicaSetUpdated, at: now.Add(-time.Hour), want: 100 * time.Millisecond, wantOK: true},
		{name: "timed out already", reason: reasonTimedOut, at: t0},
		{name: "complete", reason: reasonReplicaSetUpdated, at: t0, status: appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 3, AvailableReplicas: 3}},
	} {
		d := deployment(3, 1, 0)
		d.Spec.ProgressDeadlineSeconds = ptr(int32(600))
		d.Status.Conditions = []appsv1.DeploymentCondition{newCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, tc.reason, "", tc.at)}
		got, ok := progressCheckAfter(d, tc.status, now)
		if got != tc.want || ok != tc.wantOK {
			t.Errorf("%s: progressCheckAfter = %v, %v; want %v, %v", tc.name, got, ok, tc.want, tc.wantOK)
		}
	}
}

func TestPausedCondition(t *testing.T) {
	now := t0.Add(time.Hour)
	for _, tc := range []struct {
		name   string
		paused bool
		before string // reason of the current Progressing condition, "" for none
		want   string // reason after, "" for none
		change bool
	}{
		{name: "pause", paused: true, before: reasonReplicaSetUpdated, want: reasonPaused, change: true},
		{name: "pause without condition", paused: true, want: reasonPaused, change: true},
		{name: "stay paused", paused: true, before: reasonPaused, want: reasonPaused},
		{name: "resume", paused: false, before: reasonPaused, want: reasonResumed, change: true},
		{name: "running", paused: false, before: reasonReplicaSetUpdated, want: reasonReplicaSetUpdated},
		{name: "timed out stays", paused: true, before: reasonTimedOut, want: reasonTimedOut},
	} {
		d := deployment(1, 1, 0)
		d.Spec.ProgressDeadlineSeconds = ptr(int32(600))
		d.Spec.Paused = tc.paused
		if tc.before != "" {
			d.Status.Conditions = []appsv1.DeploymentCondition{newCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, tc.before, "", t0)}
		}
		changed := pausedCondition(d, now)
		c := getCondition(d.Status, appsv1.DeploymentProgressing)
		got := ""
		if c != nil {
			got = c.Reason
		}
		if got != tc.want || changed != tc.change {
			t.Errorf("%s: pausedCondition = %v, Progressing %s; want %v, %s", tc.name, changed, got, tc.change, tc.want)
		}
		if changed && (c.Status != corev1.ConditionUnknown || !c.LastUpdateTime.Time.Equal(now)) {
			t.Errorf("%s: Progressing = %s; want Unknown, updated now", tc.name, condString(c))
		}
	}
	d := deployment(1, 1, 0)
	d.Spec.Paused = true
	if pausedCondition(d, now) {
		t.Error("pausedCondition without progressDeadlineSeconds changed the status; want no condition")
	}
}

func TestSetCondition(t *testing.T) {
	st := &appsv1.DeploymentStatus{}
	setCondition(st, newCondition(appsv1.DeploymentAvailable, corev1.ConditionTrue, "A", "first", t0))
	setCondition(st, newCondition(appsv1.DeploymentAvailable, corev1.ConditionTrue, "A", "second", t0.Add(time.Hour)))
	if c := getCondition(*st, appsv1.DeploymentAvailable); c.Message != "first" {
		t.Errorf("same status and reason: condition = %s; want unchanged", condString(c))
	}
	setCondition(st, newCondition(appsv1.DeploymentAvailable, corev1.ConditionTrue, "B", "third", t0.Add(time.Hour)))
	if c := getCondition(*st, appsv1.DeploymentAvailable); c.Reason != "B" || !c.LastTransitionTime.Time.Equal(t0) || !c.LastUpdateTime.Time.Equal(t0.Add(time.Hour)) {
		t.Errorf("same status, new reason: condition = %s; want B, transition time kept", condString(c))
	}
	setCondition(st, newCondition(appsv1.DeploymentAvailable, corev1.ConditionFalse, "C", "", t0.Add(2*time.Hour)))
	if c := getCondition(*st, appsv1.DeploymentAvailable); !c.LastTransitionTime.Time.Equal(t0.Add(2*time.Hour)) || len(st.Conditions) != 1 {
		t.Errorf("new status: condition = %s (%d conditions); want one, transitioned", condString(c), len(st.Conditions))
	}
}
