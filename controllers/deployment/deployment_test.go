package deployment

import (
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// These tests run the controller with the ReplicaSet controller and the
// stand-in kubelet against a real apiserver.

func TestCreateAndRollingUpdate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create(newDeployment("web", 5, "web:1")) // the default strategy: 25% surge (2), 25% unavailable (1)
	d := e.waitComplete("web")

	rss := e.replicaSets(d)
	if len(rss) != 1 {
		t.Fatalf("ReplicaSets = %d; want 1", len(rss))
	}
	first := rss[0]
	hash := ComputeHash(&d.Spec.Template, nil)
	if want := "web-" + hash; first.Name != want {
		t.Errorf("ReplicaSet name = %q; want %q", first.Name, want)
	}
	if first.Labels[appsv1.DefaultDeploymentUniqueLabelKey] != hash || first.Spec.Selector.MatchLabels[appsv1.DefaultDeploymentUniqueLabelKey] != hash ||
		first.Spec.Template.Labels[appsv1.DefaultDeploymentUniqueLabelKey] != hash {
		t.Errorf("ReplicaSet labels %v, selector %v, template labels %v; want pod-template-hash %s in each",
			first.Labels, first.Spec.Selector.MatchLabels, first.Spec.Template.Labels, hash)
	}
	for k, want := range map[string]string{RevisionAnnotation: "1", DesiredReplicasAnnotation: "5", MaxReplicasAnnotation: "7"} {
		if got := first.Annotations[k]; got != want {
			t.Errorf("ReplicaSet annotation %s = %q; want %q", k, got, want)
		}
	}
	if got := d.Annotations[RevisionAnnotation]; got != "1" {
		t.Errorf("Deployment revision = %q; want 1", got)
	}
	st := d.Status
	if st.Replicas != 5 || st.UpdatedReplicas != 5 || st.ReadyReplicas != 5 || st.AvailableReplicas != 5 || st.UnavailableReplicas != 0 || st.ObservedGeneration != d.Generation {
		t.Errorf("status = %+v; want 5 replicas, updated, ready and available, observedGeneration %d", st, d.Generation)
	}
	wantConditions(t, d,
		cond{appsv1.DeploymentAvailable, corev1.ConditionTrue, reasonMinimumReplicasAvailable, "Deployment has minimum availability."},
		cond{appsv1.DeploymentProgressing, corev1.ConditionTrue, reasonNewRSAvailable, fmt.Sprintf("ReplicaSet %q has successfully progressed.", first.Name)})
	e.waitEvent("web", "ScalingReplicaSet", fmt.Sprintf("Scaled up replica set %s from 0 to 5", first.Name))

	// kubectl set image: at no moment more than 5+2 pods, nor fewer than 5-1 ready.
	pw := e.watchPods("web", func(pods []*corev1.Pod) string {
		if active, ready, _ := counts(pods); active > 7 || ready < 4 {
			return describe(pods)
		}
		return ""
	})
	e.setImage("web", "web:2")
	d = e.waitComplete("web")
	pw.waitPods(t, func(pods []*corev1.Pod) string {
		if active, ready, images := counts(pods); active != 5 || ready != 5 || images["web:2"] != 5 {
			return "pods: " + describe(pods) + "; want 5 of web:2, ready"
		}
		return ""
	})
	bad, seen := pw.complaints()
	if len(bad) > 0 {
		t.Errorf("%d of %d pod states broke maxSurge 2 or maxUnavailable 1, the first: %s", len(bad), seen, bad[0])
	}
	t.Logf("checked %d pod states during the rollout", seen)

	rss = e.replicaSets(d)
	if len(rss) != 2 {
		t.Fatalf("ReplicaSets = %d; want 2", len(rss))
	}
	old, cur := rss[0], rss[1]
	if old.Name != first.Name || replicasOf(old.Spec.Replicas) != 0 || old.Status.Replicas != 0 {
		t.Errorf("old ReplicaSet %s: %d replicas, %d pods; want %s scaled to 0", old.Name, replicasOf(old.Spec.Replicas), old.Status.Replicas, first.Name)
	}
	if want := "web-" + ComputeHash(&d.Spec.Template, nil); cur.Name != want || cur.Annotations[RevisionAnnotation] != "2" {
		t.Errorf("new ReplicaSet %s revision %q; want %s revision 2", cur.Name, cur.Annotations[RevisionAnnotation], want)
	}
	eventually(t, 5*time.Second, func() string {
		if got := e.get("web").Annotations[RevisionAnnotation]; got != "2" {
			return fmt.Sprintf("Deployment revision = %q; want 2", got)
		}
		return ""
	})
	downs := e.events("web", "ScalingReplicaSet")
	found := false
	for _, m := range downs {
		found = found || strings.HasPrefix(m, fmt.Sprintf("Scaled down replica set %s from 5 to ", old.Name))
	}
	if !found {
		t.Errorf("ScalingReplicaSet events = %q; want one scaling %s down from 5", downs, old.Name)
	}
}

func TestRecreate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := newDeployment("db", 3, "db:1")
	d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
	e.create(d)
	d = e.waitComplete("db")
	first := e.replicaSets(d)[0]

	// No new pod while any old one exists, even one being deleted.
	pw := e.watchPods("db", func(pods []*corev1.Pod) string {
		images := map[string]int{}
		for _, p := range pods {
			images[p.Spec.Containers[0].Image]++
		}
		if images["db:1"] > 0 && images["db:2"] > 0 {
			return describe(pods)
		}
		return ""
	})
	e.setImage("db", "db:2")
	d = e.waitComplete("db")
	pw.waitPods(t, func(pods []*corev1.Pod) string {
		if active, ready, images := counts(pods); active != 3 || ready != 3 || images["db:2"] != 3 {
			return "pods: " + describe(pods) + "; want 3 of db:2, ready"
		}
		return ""
	})
	if bad, seen := pw.complaints(); len(bad) > 0 {
		t.Errorf("%d of %d pod states mixed old and new pods, the first: %s", len(bad), seen, bad[0])
	}
	rss := e.replicaSets(d)
	if len(rss) != 2 {
		t.Fatalf("ReplicaSets = %d; want 2", len(rss))
	}
	e.waitEvent("db", "ScalingReplicaSet", fmt.Sprintf("Scaled down replica set %s from 3 to 0", first.Name))
	e.waitEvent("db", "ScalingReplicaSet", fmt.Sprintf("Scaled up replica set %s from 0 to 3", rss[1].Name))
}

func TestPauseAndResume(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create(newDeployment("api", 3, "api:1"))
	d := e.waitComplete("api")

	e.patch("api", map[string]any{"spec": map[string]any{"paused": true}})
	e.setImage("api", "api:2")
	e.scale("api", 4) // scaling still applies to a paused Deployment
	eventually(t, 10*time.Second, func() string {
		d = e.get("api")
		c := getCondition(d.Status, appsv1.DeploymentProgressing)
		switch {
		case d.Status.ObservedGeneration != d.Generation:
			return fmt.Sprintf("observedGeneration %d; want %d", d.Status.ObservedGeneration, d.Generation)
		case c == nil || c.Status != corev1.ConditionUnknown || c.Reason != reasonPaused || c.Message != "Deployment is paused":
			return fmt.Sprintf("Progressing = %+v; want Unknown, %s, \"Deployment is paused\"", c, reasonPaused)
		case d.Status.AvailableReplicas != 4:
			return fmt.Sprintf("available replicas %d; want 4", d.Status.AvailableReplicas)
		}
		return ""
	})
	rss := e.replicaSets(d)
	if len(rss) != 1 || replicasOf(rss[0].Spec.Replicas) != 4 || rss[0].Spec.Template.Spec.Containers[0].Image != "api:1" {
		t.Fatalf("paused: %d ReplicaSets, the first of %d replicas; want only the api:1 one, scaled to 4", len(rss), replicasOf(rss[0].Spec.Replicas))
	}

	e.patch("api", map[string]any{"spec": map[string]any{"paused": false}})
	d = e.waitComplete("api")
	rss = e.replicaSets(d)
	if len(rss) != 2 || replicasOf(rss[1].Spec.Replicas) != 4 || rss[1].Spec.Template.Spec.Containers[0].Image != "api:2" || replicasOf(rss[0].Spec.Replicas) != 0 {
		t.Fatalf("resumed: ReplicaSets %s; want api:1 at 0 and api:2 at 4", rsSummary(rss))
	}
}

func TestProportionalScalingMidRollout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := newDeployment("prop", 10, "prop:1")
	d.Spec.Strategy = rolling(3, 2)
	e.create(d)
	d = e.waitComplete("prop")

	// A template whose pods never become ready stalls the rollout at 8 old
	// pods (10-2 available) and 5 new ones (10+3 in all), as upstream's e2e.
	e.patch("prop", map[string]any{"spec": map[string]any{"template": map[string]any{
		"metadata": map[string]any{"labels": map[string]string{stuckLabel: "true"}},
		"spec":     map[string]any{"containers": []map[string]any{{"name": "app", "image": "prop:2"}}},
	}}})
	waitSizes := func(old, cur int32) []appsv1.ReplicaSet {
		t.Helper()
		var rss []appsv1.ReplicaSet
		eventually(t, 15*time.Second, func() string {
			rss = e.replicaSets(d)
			if len(rss) != 2 || replicasOf(rss[0].Spec.Replicas) != old || replicasOf(rss[1].Spec.Replicas) != cur ||
				rss[0].Status.Replicas != old || rss[1].Status.Replicas != cur {
				return fmt.Sprintf("ReplicaSets %s; want the old at %d and the new at %d", rsSummary(rss), old, cur)
			}
			return ""
		})
		return rss
	}
	waitSizes(8, 5)

	// kubectl scale to 30: 33 pods allowed, shared in proportion.
	e.scale("prop", 30)
	rss := waitSizes(20, 13)
	for k, want := range map[string]string{DesiredReplicasAnnotation: "30", MaxReplicasAnnotation: "33"} {
		for _, rs := range rss {
			if got := rs.Annotations[k]; got != want {
				t.Errorf("ReplicaSet %s annotation %s = %q; want %q", rs.Name, k, got, want)
			}
		}
	}
	e.waitEvent("prop", "ScalingReplicaSet", fmt.Sprintf("Scaled up replica set %s from 8 to 20", rss[0].Name))
	e.waitEvent("prop", "ScalingReplicaSet", fmt.Sprintf("Scaled up replica set %s from 5 to 13", rss[1].Name))
}

func TestRevisionHistoryLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := newDeployment("hist", 2, "hist:1")
	d.Spec.RevisionHistoryLimit = ptr(int32(1))
	e.create(d)
	e.waitComplete("hist")
	for _, image := range []string{"hist:2", "hist:3"} {
		e.setImage("hist", image)
		d = e.waitComplete("hist")
	}
	eventually(t, 10*time.Second, func() string {
		rss := e.replicaSets(d)
		if len(rss) != 2 || rss[0].Annotations[RevisionAnnotation] != "2" || rss[1].Annotations[RevisionAnnotation] != "3" {
			return fmt.Sprintf("ReplicaSets %s; want revisions 2 and 3 only", rsSummary(rss))
		}
		return ""
	})
}

func TestRollbackReusesReplicaSet(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create(newDeployment("undo", 3, "undo:1"))
	d := e.waitComplete("undo")
	first := e.replicaSets(d)[0]
	e.setImage("undo", "undo:2")
	e.waitComplete("undo")

	// kubectl rollout undo writes revision 1's template back.
	e.setImage("undo", "undo:1")
	d = e.waitComplete("undo")
	eventually(t, 10*time.Second, func() string {
		d = e.get("undo")
		rss := e.replicaSets(d)
		if len(rss) != 2 {
			return fmt.Sprintf("ReplicaSets %s; want 2", rsSummary(rss))
		}
		back := rss[1]
		switch {
		case back.Name != first.Name:
			return fmt.Sprintf("newest ReplicaSet %s; want %s again", back.Name, first.Name)
		case back.Annotations[RevisionAnnotation] != "3" || back.Annotations[RevisionHistoryAnnotation] != "1":
			return fmt.Sprintf("ReplicaSet %s revision %q history %q; want 3 and 1", back.Name,
				back.Annotations[RevisionAnnotation], back.Annotations[RevisionHistoryAnnotation])
		case replicasOf(back.Spec.Replicas) != 3 || replicasOf(rss[0].Spec.Replicas) != 0:
			return fmt.Sprintf("ReplicaSets %s; want %s at 3, the other at 0", rsSummary(rss), first.Name)
		case d.Annotations[RevisionAnnotation] != "3":
			return fmt.Sprintf("Deployment revision %q; want 3", d.Annotations[RevisionAnnotation])
		}
		return ""
	})
}

func TestProgressDeadlineExceeded(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := newDeployment("slow", 2, "slow:1")
	d.Spec.Template.Labels[stuckLabel] = "true" // never ready
	d.Spec.ProgressDeadlineSeconds = ptr(int32(1))
	e.create(d)
	eventually(t, 15*time.Second, func() string {
		d = e.get("slow")
		c := getCondition(d.Status, appsv1.DeploymentProgressing)
		if c == nil || c.Status != corev1.ConditionFalse || c.Reason != reasonTimedOut {
			return fmt.Sprintf("Progressing = %+v; want False, %s", c, reasonTimedOut)
		}
		return ""
	})
	rs := e.replicaSets(d)[0]
	wantConditions(t, d,
		cond{appsv1.DeploymentAvailable, corev1.ConditionFalse, reasonMinimumReplicasUnavailable, "Deployment does not have minimum availability."},
		cond{appsv1.DeploymentProgressing, corev1.ConditionFalse, reasonTimedOut, fmt.Sprintf("ReplicaSet %q has timed out progressing.", rs.Name)})
	if d.Status.UnavailableReplicas != 2 {
		t.Errorf("unavailableReplicas = %d; want 2", d.Status.UnavailableReplicas)
	}
}

func TestAdoptsMatchingReplicaSet(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := newDeployment("adopt", 3, "adopt:1")
	orphan := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "adopt-orphan", Labels: map[string]string{"app": "adopt"}},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr(int32(2)),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "adopt", appsv1.DefaultDeploymentUniqueLabelKey: "orphan"}},
			Template: *d.Spec.Template.DeepCopy(),
		},
	}
	orphan.Spec.Template.Labels[appsv1.DefaultDeploymentUniqueLabelKey] = "orphan"
	if _, err := e.client.AppsV1().ReplicaSets(e.ns).Create(e.ctx, orphan, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.create(d)
	d = e.waitComplete("adopt")
	rss := e.replicaSets(d)
	if len(rss) != 1 || rss[0].Name != "adopt-orphan" || replicasOf(rss[0].Spec.Replicas) != 3 || rss[0].Annotations[RevisionAnnotation] != "1" {
		t.Fatalf("ReplicaSets %s; want adopt-orphan adopted, at 3, revision 1", rsSummary(rss))
	}
}

func TestHashCollisionBumpsCollisionCount(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := newDeployment("coll", 1, "coll:1")
	dry, err := e.client.AppsV1().Deployments(e.ns).Create(e.ctx, d, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	if err != nil {
		t.Fatal(err)
	}
	// Another template's ReplicaSet, not matching the selector, holds the name.
	other := map[string]string{"app": "other"}
	squatter := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "coll-" + ComputeHash(&dry.Spec.Template, nil), Labels: other},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr(int32(0)),
			Selector: &metav1.LabelSelector{MatchLabels: other},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: other},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "other"}}}},
		},
	}
	if _, err := e.client.AppsV1().ReplicaSets(e.ns).Create(e.ctx, squatter, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.create(d)
	d = e.waitComplete("coll")
	if d.Status.CollisionCount == nil || *d.Status.CollisionCount != 1 {
		t.Fatalf("collisionCount = %v; want 1", d.Status.CollisionCount)
	}
	rss := e.replicaSets(d)
	if want := "coll-" + ComputeHash(&d.Spec.Template, d.Status.CollisionCount); len(rss) != 1 || rss[0].Name != want {
		t.Fatalf("ReplicaSets %s; want only %s", rsSummary(rss), want)
	}
}

type cond struct {
	typ             appsv1.DeploymentConditionType
	status          corev1.ConditionStatus
	reason, message string
}

func wantConditions(t *testing.T, d *appsv1.Deployment, want ...cond) {
	t.Helper()
	for _, w := range want {
		c := getCondition(d.Status, w.typ)
		if c == nil || c.Status != w.status || c.Reason != w.reason || c.Message != w.message {
			t.Errorf("Deployment %s condition %s = %+v; want %s, %s, %q", d.Name, w.typ, c, w.status, w.reason, w.message)
		}
	}
}

func rsSummary(rss []appsv1.ReplicaSet) string {
	var parts []string
	for _, rs := range rss {
		parts = append(parts, fmt.Sprintf("%s(rev %s, %d/%d pods, %s)", rs.Name, rs.Annotations[RevisionAnnotation],
			rs.Status.Replicas, replicasOf(rs.Spec.Replicas), rs.Spec.Template.Spec.Containers[0].Image))
	}
	return "[" + strings.Join(parts, " ") + "]"
}
