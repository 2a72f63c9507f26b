package apiserver_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tendhq/tend/tendtest"
)

func TestFinalizersAndPropagation(t *testing.T) {
	t.Parallel()
	c := tendtest.Start(t, tendtest.Options{})
	cs := c.Client()
	rc := newRawClient(t, c)
	ctx := ctxFor(t)
	ns := makeNamespace(t, cs, "fin")
	cms := cs.CoreV1().ConfigMaps(ns)
	cmPath := "/api/v1/namespaces/" + ns + "/configmaps/"

	tests := []struct {
		name           string
		finalizers     []string
		query          string
		wantFinalizers []string // after the DELETE; nil means deleted at once
	}{
		{"finalizer holds", []string{"example.com/hold"}, "", []string{"example.com/hold"}},
		{"foreground", nil, "?propagationPolicy=Foreground", []string{metav1.FinalizerDeleteDependents}},
		{"orphan", nil, "?propagationPolicy=Orphan", []string{metav1.FinalizerOrphanDependents}},
		{"orphanDependents=true", nil, "?orphanDependents=true", []string{metav1.FinalizerOrphanDependents}},
		{"background", nil, "?propagationPolicy=Background", nil},
		{"foreground with a finalizer", []string{"example.com/hold"}, "?propagationPolicy=Foreground", []string{"example.com/hold", metav1.FinalizerDeleteDependents}},
		{"none", nil, "", nil},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := fmt.Sprintf("cm-%d", i)
			if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Finalizers: tt.finalizers}}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			r := rc.do("DELETE", cmPath+name+tt.query, nil)
			r.wantCode(t, "DELETE "+name+tt.query, http.StatusOK)
			got, err := cms.Get(ctx, name, metav1.GetOptions{})
			if tt.wantFinalizers == nil {
				var st metav1.Status
				r.object(t, &st)
				if !apierrors.IsNotFound(err) || st.Kind != "Status" || st.Status != metav1.StatusSuccess || st.Details == nil || st.Details.Name != name {
					t.Fatalf("DELETE%s = %s, then Get: %v; want a Success Status and NotFound", tt.query, r.body, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Get after DELETE%s: %v; want the object being deleted", tt.query, err)
			}
			var answered corev1.ConfigMap
			r.object(t, &answered)
			if answered.DeletionTimestamp == nil || got.DeletionTimestamp == nil || !slices.Equal(got.Finalizers, tt.wantFinalizers) {
				t.Fatalf("after DELETE%s: answered deletionTimestamp %v, stored %v, finalizers %q; want deletionTimestamp set and finalizers %q",
					tt.query, answered.DeletionTimestamp, got.DeletionTimestamp, got.Finalizers, tt.wantFinalizers)
			}
			// Removing finalizers one at a time: the last removal deletes.
			for len(got.Finalizers) > 0 {
				got.Finalizers = got.Finalizers[1:]
				updated, err := cms.Update(ctx, got, metav1.UpdateOptions{})
				if err != nil {
					t.Fatalf("removing a finalizer: %v", err)
				}
				_, err = cms.Get(ctx, name, metav1.GetOptions{})
				if len(got.Finalizers) > 0 && err != nil {
					t.Fatalf("Get with finalizers %q left: %v; want the object", got.Finalizers, err)
				}
				got = updated
			}
			if _, err := cms.Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Fatalf("Get after the last finalizer went: %v; want NotFound", err)
			}
		})
	}

	t.Run("no new finalizers while deleting", func(t *testing.T) {
		if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "deleting", Finalizers: []string{"example.com/hold"}}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := cms.Delete(ctx, "deleting", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		got, err := cms.Get(ctx, "deleting", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// A second DELETE leaves it as it is.
		if err := cms.Delete(ctx, "deleting", metav1.DeleteOptions{}); err != nil {
			t.Fatalf("second Delete: %v", err)
		}
		again, err := cms.Get(ctx, "deleting", metav1.GetOptions{})
		if err != nil || !again.DeletionTimestamp.Equal(got.DeletionTimestamp) {
			t.Fatalf("after a second Delete: %v, %v; want the same deletionTimestamp %v", again, err, got.DeletionTimestamp)
		}
	})
}

func TestPodGracefulDeletion(t *testing.T) {
	t.Parallel()
	c := tendtest.Start(t, tendtest.Options{})
	cs := c.Client()
	ctx := ctxFor(t)
	ns := makeNamespace(t, cs, "grace")
	pods := cs.CoreV1().Pods(ns)
	tests := []struct {
		name      string
		node      string
		podGrace  *int64
		opts      metav1.DeleteOptions
		wantGrace *int64 // nil: deleted at once
	}{
		{"scheduled pod gets the default grace", "n1", nil, metav1.DeleteOptions{}, ptr[int64](30)},
		{"scheduled pod gets its own grace", "n1", ptr[int64](5), metav1.DeleteOptions{}, ptr[int64](5)},
		{"scheduled pod with an explicit grace", "n1", nil, metav1.DeleteOptions{GracePeriodSeconds: ptr[int64](7)}, ptr[int64](7)},
		{"scheduled pod with grace 0", "n1", nil, metav1.DeleteOptions{GracePeriodSeconds: ptr[int64](0)}, nil},
		{"unscheduled pod", "", nil, metav1.DeleteOptions{}, nil},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testPod(fmt.Sprintf("p-%d", i), tt.node)
			p.Spec.TerminationGracePeriodSeconds = tt.podGrace
			if _, err := pods.Create(ctx, p, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			if err := pods.Delete(ctx, p.Name, tt.opts); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			got, err := pods.Get(ctx, p.Name, metav1.GetOptions{})
			if tt.wantGrace == nil {
				if !apierrors.IsNotFound(err) {
					t.Fatalf("Get after Delete: %v, %v; want NotFound", got, err)
				}
				return
			}
			if err != nil || got.DeletionTimestamp == nil || got.DeletionGracePeriodSeconds == nil || *got.DeletionGracePeriodSeconds != *tt.wantGrace {
				t.Fatalf("after Delete: %v; want deletionTimestamp set and deletionGracePeriodSeconds %d", err, *tt.wantGrace)
			}
			if d := got.DeletionTimestamp.Sub(got.CreationTimestamp.Time).Seconds(); d < float64(*tt.wantGrace)-2 {
				t.Fatalf("deletionTimestamp is %.0fs after creation; want about %ds later (the end of the grace period)", d, *tt.wantGrace)
			}
			// The kubelet's final delete, with grace 0, removes it.
			if err := pods.Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr[int64](0)}); err != nil {
				t.Fatalf("Delete with grace 0: %v", err)
			}
			if _, err := pods.Get(ctx, p.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Fatalf("Get after the final Delete: %v; want NotFound", err)
			}
		})
	}
}

func TestDeleteCollection(t *testing.T) {
	t.Parallel()
	c := tendtest.Start(t, tendtest.Options{})
	cs := c.Client()
	ctx := ctxFor(t)
	ns := makeNamespace(t, cs, "dc")
	other := makeNamespace(t, cs, "dc-other")
	for _, n := range []struct{ ns, name, tier string }{{ns, "a1", "a"}, {ns, "a2", "a"}, {ns, "b1", "b"}, {other, "a3", "a"}} {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: n.name, Labels: map[string]string{"tier": n.tier}}}
		if _, err := cs.CoreV1().ConfigMaps(n.ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := cs.CoreV1().ConfigMaps(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: "tier=a"}); err != nil {
		t.Fatalf("DeleteCollection: %v", err)
	}
	for _, n := range []struct {
		ns, name string
		exists   bool
	}{{ns, "a1", false}, {ns, "a2", false}, {ns, "b1", true}, {other, "a3", true}} {
		_, err := cs.CoreV1().ConfigMaps(n.ns).Get(ctx, n.name, metav1.GetOptions{})
		if got := err == nil; got != n.exists {
			t.Errorf("%s/%s exists = %v (%v); want %v", n.ns, n.name, got, err, n.exists)
		}
	}
}

func TestNamespaceLifecycle(t *testing.T) {
	t.Parallel()
	c := tendtest.Start(t, tendtest.Options{})
	cs := c.Client()
	rc := newRawClient(t, c)
	ctx := ctxFor(t)

	t.Run("create in a missing namespace", func(t *testing.T) {
		_, err := cs.CoreV1().ConfigMaps("nope").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{})
		var se *apierrors.StatusError
		if !apierrors.IsNotFound(err) || !errorsAs(err, &se) || se.ErrStatus.Message != `namespaces "nope" not found` {
			t.Fatalf("create in a missing namespace: %v; want NotFound %q", err, `namespaces "nope" not found`)
		}
	})

	t.Run("terminating namespace", func(t *testing.T) {
		ns := makeNamespace(t, cs, "ending")
		if err := cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		got, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if err != nil || got.DeletionTimestamp == nil || got.Status.Phase != corev1.NamespaceTerminating || !slices.Equal(got.Spec.Finalizers, []corev1.FinalizerName{corev1.FinalizerKubernetes}) {
			t.Fatalf("namespace after Delete = %v, %v; want deletionTimestamp, phase Terminating, finalizers [kubernetes]", got, err)
		}
		_, err = cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{})
		var se *apierrors.StatusError
		if !apierrors.IsForbidden(err) || !errorsAs(err, &se) {
			t.Fatalf("create in a terminating namespace: %v; want Forbidden", err)
		}
		wantMsg := `configmaps "x" is forbidden: unable to create new content in namespace ending because it is being terminated`
		wantCause := metav1.StatusCause{Type: corev1.NamespaceTerminatingCause, Message: "namespace ending is being terminated", Field: "metadata.namespace"}
		if se.ErrStatus.Message != wantMsg || se.ErrStatus.Details == nil || !slices.Contains(se.ErrStatus.Details.Causes, wantCause) {
			t.Errorf("create in a terminating namespace: %+v; want message %q and cause %+v", se.ErrStatus, wantMsg, wantCause)
		}

		// finalize changes spec.finalizers only; with none left the namespace goes.
		got.Labels = map[string]string{"through": "finalize"}
		got.Spec.Finalizers = nil
		data, _ := json.Marshal(got)
		r := rc.do("PUT", "/api/v1/namespaces/"+ns+"/finalize", data, "Content-Type", "application/json")
		r.wantCode(t, "PUT finalize", http.StatusOK)
		var fin corev1.Namespace
		r.object(t, &fin)
		if len(fin.Spec.Finalizers) != 0 || fin.Labels["through"] != "" {
			t.Fatalf("PUT finalize = finalizers %q labels %v; want none and no label", fin.Spec.Finalizers, fin.Labels)
		}
		// Upstream's namespace controller deletes a finalized namespace; tend may
		// have done so already.
		if err := cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Fatalf("Delete after finalize: %v", err)
		}
		if _, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("Get after finalize and Delete: %v; want NotFound", err)
		}
	})

	t.Run("immortal namespaces", func(t *testing.T) {
		for _, ns := range []string{"default", "kube-system", "kube-public"} {
			err := cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
			if !apierrors.IsForbidden(err) {
				t.Errorf("Delete(%s): %v; want Forbidden", ns, err)
			}
			got, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
			if err != nil || got.DeletionTimestamp != nil {
				t.Errorf("%s after Delete: %v, %v; want it untouched", ns, got, err)
			}
		}
	})
}
