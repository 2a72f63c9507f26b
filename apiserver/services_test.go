package apiserver_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/tendhq/tend/tendtest"
)

func TestServiceAllocation(t *testing.T) {
	t.Parallel()
	c := tendtest.Start(t, tendtest.Options{})
	cs := c.Client()
	ctx := ctxFor(t)
	ns := makeNamespace(t, cs, "svc")
	svcs := cs.CoreV1().Services(ns)

	t.Run("concurrent creates", func(t *testing.T) {
		const n = 50
		type result struct {
			svc *corev1.Service
			err error
		}
		results := make(chan result, n)
		for i := range n {
			go func() {
				s := testService(fmt.Sprintf("np-%d", i), corev1.ServiceTypeNodePort)
				s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: "https", Port: 443})
				got, err := svcs.Create(ctx, s, metav1.CreateOptions{})
				results <- result{got, err}
			}()
		}
		ips, ports := map[string]string{}, map[int32]string{}
		for range n {
			r := <-results
			if r.err != nil {
				t.Fatalf("Create: %v", r.err)
			}
			s := r.svc
			if other, dup := ips[s.Spec.ClusterIP]; dup || s.Spec.ClusterIP == "" {
				t.Fatalf("%s got ClusterIP %q, already %s's", s.Name, s.Spec.ClusterIP, other)
			}
			ips[s.Spec.ClusterIP] = s.Name
			if !slices.Equal(s.Spec.ClusterIPs, []string{s.Spec.ClusterIP}) {
				t.Fatalf("%s clusterIPs %q; want [%s]", s.Name, s.Spec.ClusterIPs, s.Spec.ClusterIP)
			}
			// Dynamic allocation keeps out of the static bands upstream leaves to
			// explicit requests: 10.43.0.0-255 (min(max(16, size/16), 256)
			// addresses) and 30000-30085 (min(max(16, size/32), 128) ports).
			if strings.HasPrefix(s.Spec.ClusterIP, "10.43.0.") {
				t.Errorf("%s got ClusterIP %s, in the static band", s.Name, s.Spec.ClusterIP)
			}
			for _, p := range s.Spec.Ports {
				if other, dup := ports[p.NodePort]; dup || p.NodePort < 30086 || p.NodePort > 32767 {
					t.Fatalf("%s got NodePort %d, already %s's, or out of the dynamic band 30086-32767", s.Name, p.NodePort, other)
				}
				ports[p.NodePort] = s.Name
			}
		}
		// What the server stored agrees.
		l, err := svcs.List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		stored := map[string]bool{}
		for _, s := range l.Items {
			if stored[s.Spec.ClusterIP] {
				t.Fatalf("stored ClusterIP %s twice", s.Spec.ClusterIP)
			}
			stored[s.Spec.ClusterIP] = true
		}
	})

	t.Run("explicit conflicts", func(t *testing.T) {
		first := testService("first", corev1.ServiceTypeNodePort)
		first.Spec.ClusterIP = "10.43.0.50"
		first.Spec.Ports[0].NodePort = 30080
		if _, err := svcs.Create(ctx, first, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name    string
			mutate  func(s *corev1.Service)
			field   string
			message string
		}{
			{"same IP", func(s *corev1.Service) { s.Spec.ClusterIP = "10.43.0.50" },
				"spec.clusterIPs", `Service "second" is invalid: spec.clusterIPs: Invalid value: ["10.43.0.50"]: failed to allocate IP 10.43.0.50: provided IP is already allocated`},
			{"same NodePort", func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeNodePort; s.Spec.Ports[0].NodePort = 30080 },
				"spec.ports[0].nodePort", `Service "second" is invalid: spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated`},
			{"IP outside the range", func(s *corev1.Service) { s.Spec.ClusterIP = "1.1.1.1" },
				"spec.clusterIPs", `Service "second" is invalid: spec.clusterIPs: Invalid value: ["1.1.1.1"]: failed to allocate IP 1.1.1.1: the provided IP (1.1.1.1) is not in the valid range. The range of valid IPs is 10.43.0.0/16`},
			{"NodePort outside the range", func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeNodePort; s.Spec.Ports[0].NodePort = 80 },
				"spec.ports[0].nodePort", `Service "second" is invalid: spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767`},
		}
		for _, tt := range tests {
			s := testService("second", corev1.ServiceTypeClusterIP)
			tt.mutate(s)
			_, err := svcs.Create(ctx, s, metav1.CreateOptions{})
			var se *apierrors.StatusError
			if !apierrors.IsInvalid(err) || !errorsAs(err, &se) {
				t.Fatalf("%s: Create = %v; want Invalid", tt.name, err)
			}
			if fields := fieldsOf(se.ErrStatus); !slices.Equal(fields, []string{tt.field}) || se.ErrStatus.Message != tt.message {
				t.Errorf("%s: causes %q, message %q; want [%s], %q", tt.name, fields, se.ErrStatus.Message, tt.field, tt.message)
			}
		}
	})

	t.Run("release on delete", func(t *testing.T) {
		s := testService("reuse", corev1.ServiceTypeNodePort)
		s.Spec.ClusterIP = "10.43.0.60"
		s.Spec.Ports[0].NodePort = 30060
		if _, err := svcs.Create(ctx, s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := svcs.Delete(ctx, "reuse", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		s2 := s.DeepCopy()
		s2.Name = "reuse-2"
		if _, err := svcs.Create(ctx, s2, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating a Service with a deleted one's IP and NodePort: %v", err)
		}
	})

	t.Run("update keeps allocations", func(t *testing.T) {
		got, err := svcs.Create(ctx, testService("keep", corev1.ServiceTypeNodePort), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ip, port := got.Spec.ClusterIP, got.Spec.Ports[0].NodePort
		// kubectl replace of a manifest without the allocated values.
		got.Spec.ClusterIP, got.Spec.ClusterIPs, got.Spec.Ports[0].NodePort = "", nil, 0
		got.Labels = map[string]string{"replaced": "yes"}
		up, err := svcs.Update(ctx, got, metav1.UpdateOptions{})
		if err != nil {
			t.Fatalf("Update without clusterIP and nodePort: %v", err)
		}
		if up.Spec.ClusterIP != ip || up.Spec.Ports[0].NodePort != port {
			t.Fatalf("after Update: clusterIP %s nodePort %d; want %s %d kept", up.Spec.ClusterIP, up.Spec.Ports[0].NodePort, ip, port)
		}
	})

	t.Run("release on type change", func(t *testing.T) {
		s := testService("was-nodeport", corev1.ServiceTypeNodePort)
		s.Spec.Ports[0].NodePort = 30070
		got, err := svcs.Create(ctx, s, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got.Spec.Type = corev1.ServiceTypeClusterIP
		got, err = svcs.Update(ctx, got, metav1.UpdateOptions{})
		if err != nil {
			t.Fatalf("changing type to ClusterIP: %v", err)
		}
		if got.Spec.Ports[0].NodePort != 0 {
			t.Fatalf("nodePort after the change to ClusterIP = %d; want 0", got.Spec.Ports[0].NodePort)
		}
		s2 := testService("takes-port", corev1.ServiceTypeNodePort)
		s2.Spec.Ports[0].NodePort = 30070
		if _, err := svcs.Create(ctx, s2, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating a Service with the released NodePort: %v", err)
		}
	})

	t.Run("headless and ExternalName get no IP", func(t *testing.T) {
		h := testService("headless", corev1.ServiceTypeClusterIP)
		h.Spec.ClusterIP = corev1.ClusterIPNone
		got, err := svcs.Create(ctx, h, metav1.CreateOptions{})
		if err != nil || got.Spec.ClusterIP != "None" {
			t.Fatalf("headless Service = %v, %v; want clusterIP None", got, err)
		}
		e := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "ext"}, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "example.com"}}
		got, err = svcs.Create(ctx, e, metav1.CreateOptions{})
		if err != nil || got.Spec.ClusterIP != "" {
			t.Fatalf("ExternalName Service = %v, %v; want no clusterIP", got, err)
		}
	})
}

func errorsAs(err error, target **apierrors.StatusError) bool {
	se, ok := err.(*apierrors.StatusError)
	if ok {
		*target = se
	}
	return ok
}

func TestBindingAndEviction(t *testing.T) {
	t.Parallel()
	c := tendtest.Start(t, tendtest.Options{})
	cs := c.Client()
	rc := newRawClient(t, c)
	ctx := ctxFor(t)
	ns := makeNamespace(t, cs, "bind")
	pods := cs.CoreV1().Pods(ns)

	t.Run("binding", func(t *testing.T) {
		if _, err := pods.Create(ctx, testPod("b", ""), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		b := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "b"}, Target: corev1.ObjectReference{Kind: "Node", Name: "n1"}}
		if err := pods.Bind(ctx, b, metav1.CreateOptions{}); err != nil {
			t.Fatalf("Bind: %v", err)
		}
		got, err := pods.Get(ctx, "b", metav1.GetOptions{})
		if err != nil || got.Spec.NodeName != "n1" {
			t.Fatalf("after Bind: %v, %v; want spec.nodeName n1", got, err)
		}
		var scheduled bool
		for _, c := range got.Status.Conditions {
			scheduled = scheduled || c.Type == corev1.PodScheduled && c.Status == corev1.ConditionTrue
		}
		if !scheduled {
			t.Errorf("after Bind: conditions %v; want PodScheduled True", got.Status.Conditions)
		}
		b.Target.Name = "n2"
		if err := pods.Bind(ctx, b, metav1.CreateOptions{}); !apierrors.IsConflict(err) {
			t.Fatalf("second Bind: %v; want Conflict", err)
		}
		r := rc.do("POST", "/api/v1/namespaces/"+ns+"/pods/nope/binding", map[string]any{"apiVersion": "v1", "kind": "Binding", "metadata": map[string]any{"name": "nope"}, "target": map[string]any{"name": "n1"}})
		r.wantCode(t, "binding of a missing pod", http.StatusNotFound)
		r = rc.do("POST", "/api/v1/namespaces/"+ns+"/pods/b/binding", map[string]any{"apiVersion": "v1", "kind": "Binding", "metadata": map[string]any{"name": "b"}, "target": map[string]any{}})
		r.wantCode(t, "binding without a target", http.StatusUnprocessableEntity)
	})

	t.Run("eviction", func(t *testing.T) {
		running := func(name string) {
			t.Helper()
			p, err := pods.Create(ctx, testPod(name, "n1"), metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			p.Labels = map[string]string{"app": "guarded"}
			if p, err = pods.Update(ctx, p, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
			p.Status.Phase = corev1.PodRunning
			if _, err := pods.UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		evict := func(name string) error {
			return pods.EvictV1(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}})
		}

		// No PodDisruptionBudget: the eviction deletes (gracefully).
		running("free")
		if err := evict("free"); err != nil {
			t.Fatalf("eviction without a PDB: %v", err)
		}
		if got, err := pods.Get(ctx, "free", metav1.GetOptions{}); err == nil && got.DeletionTimestamp == nil {
			t.Fatalf("after eviction: pod not being deleted")
		}

		pdb := &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "guard"},
			Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: ptr(intstr.FromInt32(1)), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "guarded"}}}}
		pdb, err := cs.PolicyV1().PodDisruptionBudgets(ns).Create(ctx, pdb, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		running("g1")
		running("g2")
		pdb.Status = policyv1.PodDisruptionBudgetStatus{ObservedGeneration: pdb.Generation, DisruptionsAllowed: 0, CurrentHealthy: 1, DesiredHealthy: 1, ExpectedPods: 2}
		if pdb, err = cs.PolicyV1().PodDisruptionBudgets(ns).UpdateStatus(ctx, pdb, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		err = evict("g1")
		if !apierrors.IsTooManyRequests(err) {
			t.Fatalf("eviction with disruptionsAllowed 0: %v; want 429 TooManyRequests", err)
		}
		if got, err := pods.Get(ctx, "g1", metav1.GetOptions{}); err != nil || got.DeletionTimestamp != nil {
			t.Fatalf("after a refused eviction: %v, %v; want the pod untouched", got, err)
		}
		pdb.Status.DisruptionsAllowed, pdb.Status.CurrentHealthy = 1, 2
		if _, err = cs.PolicyV1().PodDisruptionBudgets(ns).UpdateStatus(ctx, pdb, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := evict("g1"); err != nil {
			t.Fatalf("eviction with disruptionsAllowed 1: %v", err)
		}
		after, err := cs.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, "guard", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, recorded := after.Status.DisruptedPods["g1"]; after.Status.DisruptionsAllowed != 0 || !recorded {
			t.Fatalf("PDB after an eviction: disruptionsAllowed %d, disruptedPods %v; want 0 and g1 recorded", after.Status.DisruptionsAllowed, after.Status.DisruptedPods)
		}
		if err := evict("g2"); !apierrors.IsTooManyRequests(err) {
			t.Fatalf("second eviction: %v; want 429 TooManyRequests", err)
		}
	})
}
