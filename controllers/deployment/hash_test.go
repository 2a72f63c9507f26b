package deployment

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestComputeHash(t *testing.T) {
	tmpl := func(image string) *corev1.PodTemplateSpec {
		return &corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web", "tier": "front"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}}}
	}
	a := ComputeHash(tmpl("web:1"), nil)
	if a == "" || strings.Trim(a, "bcdfghjklmnpqrstvwxz2456789") != "" {
		t.Errorf("ComputeHash = %q; want characters of the safe alphabet only", a)
	}
	// Map order must not matter: spew sorts keys.
	for range 20 {
		if got := ComputeHash(tmpl("web:1"), nil); got != a {
			t.Fatalf("ComputeHash of the same template = %q, then %q; want stable", a, got)
		}
	}
	one, two := int32(1), int32(2)
	distinct := map[string]string{
		"web:1":                   a,
		"web:2":                   ComputeHash(tmpl("web:2"), nil),
		"web:1, collisionCount 1": ComputeHash(tmpl("web:1"), &one),
		"web:1, collisionCount 2": ComputeHash(tmpl("web:1"), &two),
	}
	seen := map[string]string{}
	for what, h := range distinct {
		if other, dup := seen[h]; dup {
			t.Errorf("ComputeHash(%s) = ComputeHash(%s) = %q; want distinct", what, other, h)
		}
		seen[h] = what
	}
}

func TestReplicaSetName(t *testing.T) {
	if got := replicaSetName("web", "7d9c8b6f5"); got != "web-7d9c8b6f5" {
		t.Errorf("replicaSetName = %q; want web-7d9c8b6f5", got)
	}
	long := strings.Repeat("a", 253)
	if got := replicaSetName(long, "7d9c8b6f5"); len(got) != 253 || !strings.HasSuffix(got, "a-7d9c8b6f5") {
		t.Errorf("replicaSetName(253 chars) = %d chars %q...; want 253, ending -hash", len(got), got[len(got)-12:])
	}
}
