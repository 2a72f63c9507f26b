package deployment

import (
	"sort"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

func withTemplate(r *appsv1.ReplicaSet, image, hash string) *appsv1.ReplicaSet {
	r.Spec.Template = corev1.PodTemplateSpec{}
	r.Spec.Template.Labels = map[string]string{"app": "foo"}
	if hash != "" {
		r.Spec.Template.Labels[appsv1.DefaultDeploymentUniqueLabelKey] = hash
	}
	r.Spec.Template.Spec.Containers = []corev1.Container{{Name: "app", Image: image}}
	return r
}

func deploymentOf(image string) *appsv1.Deployment {
	d := deployment(3, 1, 0)
	d.Spec.Template.Labels = map[string]string{"app": "foo"}
	d.Spec.Template.Spec.Containers = []corev1.Container{{Name: "app", Image: image}}
	return d
}

func names(rss []*appsv1.ReplicaSet) string {
	var out []string
	for _, r := range rss {
		out = append(out, r.Name)
	}
	return strings.Join(out, " ")
}

func TestFindNewAndOldReplicaSets(t *testing.T) {
	d := deploymentOf("img:2")
	v1 := withTemplate(rs("v1", 2, 2, olderTime), "img:1", "h1")
	v2a := withTemplate(rs("v2a", 1, 1, newTime), "img:2", "h2") // the same template twice:
	v2b := withTemplate(rs("v2b", 1, 1, oldTime), "img:2", "h3") // the oldest is the new one
	v0 := withTemplate(rs("v0", 0, 0, olderTime), "img:0", "h0")
	list := []*appsv1.ReplicaSet{v2a, v1, v2b, v0}
	if got := findNewReplicaSet(d, list); got != v2b {
		t.Errorf("findNewReplicaSet = %v; want v2b (the oldest with the template, hash aside)", got.Name)
	}
	active, all := findOldReplicaSets(d, list)
	if names(active) != "v2a v1" || names(all) != "v2a v1 v0" {
		t.Errorf("findOldReplicaSets = [%s], [%s]; want [v2a v1], [v2a v1 v0]", names(active), names(all))
	}
	if got := findNewReplicaSet(deploymentOf("img:3"), list); got != nil {
		t.Errorf("findNewReplicaSet(img:3) = %s; want none", got.Name)
	}
}

func TestFindActiveOrLatest(t *testing.T) {
	for _, tc := range []struct {
		name string
		cur  *appsv1.ReplicaSet
		old  []*appsv1.ReplicaSet
		want string
	}{
		{name: "only the new one active", cur: rs("new", 3, 0, newTime), old: []*appsv1.ReplicaSet{rs("old", 0, 0, oldTime)}, want: "new"},
		{name: "only an old one active", cur: rs("new", 0, 0, newTime), old: []*appsv1.ReplicaSet{rs("old", 2, 0, oldTime)}, want: "old"},
		{name: "none active: the new one", cur: rs("new", 0, 0, newTime), old: []*appsv1.ReplicaSet{rs("old", 0, 0, oldTime)}, want: "new"},
		{name: "none active, no new: the newest old", old: []*appsv1.ReplicaSet{rs("older", 0, 0, olderTime), rs("old", 0, 0, oldTime)}, want: "old"},
		{name: "two active", cur: rs("new", 1, 0, newTime), old: []*appsv1.ReplicaSet{rs("old", 2, 0, oldTime)}, want: ""},
		{name: "nothing", want: ""},
	} {
		got := ""
		if r := findActiveOrLatest(tc.cur, tc.old); r != nil {
			got = r.Name
		}
		if got != tc.want {
			t.Errorf("%s: findActiveOrLatest = %q; want %q", tc.name, got, tc.want)
		}
	}
}

func TestIsSaturated(t *testing.T) {
	d := deployment(3, 1, 0)
	for _, tc := range []struct {
		name string
		rs   *appsv1.ReplicaSet
		want bool
	}{
		{name: "saturated", rs: sized(rs("a", 3, 3, newTime), 3, 4), want: true},
		{name: "not all available", rs: sized(rs("a", 3, 2, newTime), 3, 4)},
		{name: "sized for another size", rs: sized(rs("a", 3, 3, newTime), 2, 3)},
		{name: "no annotation", rs: rs("a", 3, 3, newTime)},
		{name: "none", rs: nil},
	} {
		if got := isSaturated(d, tc.rs); got != tc.want {
			t.Errorf("%s: isSaturated = %v; want %v", tc.name, got, tc.want)
		}
	}
}

func TestSetNewReplicaSetAnnotations(t *testing.T) {
	d := deployment(4, 2, 0)
	d.Annotations = map[string]string{
		"kubernetes.io/change-cause":       "kubectl set image",
		"team":                             "a",
		RevisionAnnotation:                 "7",
		corev1.LastAppliedConfigAnnotation: "{}",
		deprecatedRollbackTo:               "1",
		DesiredReplicasAnnotation:          "99",
		"deployment.kubernetes.io/something-else-to-copy": "x",
	}

	// A ReplicaSet about to be created.
	fresh := rs("new", 0, 0, newTime)
	if !setNewReplicaSetAnnotations(d, fresh, "3", false) {
		t.Error("setNewReplicaSetAnnotations(new) = false; want true")
	}
	want := map[string]string{
		"kubernetes.io/change-cause": "kubectl set image", "team": "a", "deployment.kubernetes.io/something-else-to-copy": "x",
		RevisionAnnotation: "3", DesiredReplicasAnnotation: "4", MaxReplicasAnnotation: "6",
	}
	if len(fresh.Annotations) != len(want) {
		t.Errorf("annotations = %v; want %v", fresh.Annotations, want)
	}
	for k, v := range want {
		if fresh.Annotations[k] != v {
			t.Errorf("annotation %s = %q; want %q", k, fresh.Annotations[k], v)
		}
	}

	// Rolling back to a ReplicaSet renumbers it and remembers its revisions.
	back := rs("back", 0, 0, oldTime)
	back.Annotations = map[string]string{RevisionAnnotation: "1", DesiredReplicasAnnotation: "2"}
	setNewReplicaSetAnnotations(d, back, "3", true)
	if back.Annotations[RevisionAnnotation] != "3" || back.Annotations[RevisionHistoryAnnotation] != "1" || back.Annotations[DesiredReplicasAnnotation] != "2" {
		t.Errorf("rolled back to: annotations %v; want revision 3, history 1, replicas annotations untouched", back.Annotations)
	}
	setNewReplicaSetAnnotations(d, back, "5", true)
	if back.Annotations[RevisionAnnotation] != "5" || back.Annotations[RevisionHistoryAnnotation] != "1,3" {
		t.Errorf("rolled back to again: revision %q history %q; want 5 and 1,3", back.Annotations[RevisionAnnotation], back.Annotations[RevisionHistoryAnnotation])
	}
	// Never lowered: old ReplicaSets were deleted since it was numbered.
	if setNewReplicaSetAnnotations(d, back, "4", true) || back.Annotations[RevisionAnnotation] != "5" {
		t.Errorf("lower revision: revision %q; want 5 kept, nothing changed", back.Annotations[RevisionAnnotation])
	}
}

func TestAppendRevisionHistory(t *testing.T) {
	long := strings.Repeat("1234,", 399) + "1234" // 1999 characters
	for _, tc := range []struct{ history, rev, want string }{
		{"", "1", "1"},
		{"1", "3", "1,3"},
		{long, "5", strings.Repeat("1234,", 398) + "1234,5"},
	} {
		got := appendRevisionHistory(tc.history, tc.rev)
		if got != tc.want || len(got) > maxRevHistoryLengthInChars {
			t.Errorf("appendRevisionHistory(%d chars, %q) = %d chars ending %q; want %d chars", len(tc.history), tc.rev, len(got), got[max(len(got)-10, 0):], len(tc.want))
		}
	}
}

func TestScaleOrders(t *testing.T) {
	a, b, c := rs("a", 2, 0, olderTime), rs("b", 2, 0, newTime), rs("c", 5, 0, oldTime)
	up := []*appsv1.ReplicaSet{a, b, c}
	sort.Sort(bySizeNewer(up))
	if names(up) != "c b a" {
		t.Errorf("bySizeNewer = %s; want c b a", names(up))
	}
	down := []*appsv1.ReplicaSet{b, a, c}
	sort.Sort(bySizeOlder(down))
	if names(down) != "c a b" {
		t.Errorf("bySizeOlder = %s; want c a b", names(down))
	}
	r1, r2, r10 := rs("r1", 0, 0, newTime), rs("r2", 0, 0, oldTime), rs("r10", 0, 0, olderTime)
	r1.Annotations = map[string]string{RevisionAnnotation: "1"}
	r2.Annotations = map[string]string{RevisionAnnotation: "2"}
	r10.Annotations = map[string]string{RevisionAnnotation: "10"}
	revs := []*appsv1.ReplicaSet{r10, r2, r1}
	sort.Sort(byRevision(revs))
	if names(revs) != "r1 r2 r10" {
		t.Errorf("byRevision = %s; want r1 r2 r10 (numeric)", names(revs))
	}
}
