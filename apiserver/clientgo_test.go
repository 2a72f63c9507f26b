package apiserver_test

import (
	"context"
	"encoding/json"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/tendhq/tend/tendtest"
)

// typedClient is what every client-go typed resource client offers.
type typedClient[T runtime.Object, L runtime.Object] interface {
	Create(ctx context.Context, obj T, opts metav1.CreateOptions) (T, error)
	Get(ctx context.Context, name string, opts metav1.GetOptions) (T, error)
	Update(ctx context.Context, obj T, opts metav1.UpdateOptions) (T, error)
	List(ctx context.Context, opts metav1.ListOptions) (L, error)
	Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error
}

// checkCRUD creates obj, reads it back, updates a label, finds it in a list
// and deletes it, checking what each step returns. terminating says a delete
// leaves the object being deleted (a namespace) rather than gone.
func checkCRUD[T runtime.Object, L runtime.Object](t *testing.T, c typedClient[T, L], obj T, terminating bool) {
	t.Helper()
	ctx := ctxFor(t)
	created, err := c.Create(ctx, obj, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	cm := mustAccessor(t, created)
	if cm.GetUID() == "" || cm.GetResourceVersion() == "" || cm.GetCreationTimestamp().Time.IsZero() {
		t.Fatalf("Create = uid %q, resourceVersion %q, creationTimestamp %v; want all set", cm.GetUID(), cm.GetResourceVersion(), cm.GetCreationTimestamp())
	}
	name := cm.GetName()
	got, err := c.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("Get(%q): %v", name, err)
	}
	if gm := mustAccessor(t, got); gm.GetUID() != cm.GetUID() || gm.GetResourceVersion() != cm.GetResourceVersion() {
		t.Fatalf("Get(%q) = uid %q rv %q; want uid %q rv %q", name, gm.GetUID(), gm.GetResourceVersion(), cm.GetUID(), cm.GetResourceVersion())
	}
	labels := mustAccessor(t, got).GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels["updated"] = "yes"
	mustAccessor(t, got).SetLabels(labels)
	updated, err := c.Update(ctx, got, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("Update(%q): %v", name, err)
	}
	um := mustAccessor(t, updated)
	if um.GetLabels()["updated"] != "yes" || um.GetResourceVersion() == cm.GetResourceVersion() {
		t.Fatalf("Update(%q) = labels %v rv %q; want label updated=yes and a new rv (was %q)", name, um.GetLabels(), um.GetResourceVersion(), cm.GetResourceVersion())
	}
	list, err := c.List(ctx, metav1.ListOptions{LabelSelector: "updated=yes"})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	items, err := meta.ExtractList(list)
	if err != nil {
		t.Fatalf("ExtractList: %v", err)
	}
	found := false
	for _, it := range items {
		if mustAccessor(t, it).GetName() == name {
			found = true
		}
	}
	if !found {
		t.Fatalf("List(updated=yes) has %d items without %q", len(items), name)
	}
	if err := c.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		t.Fatalf("Delete(%q): %v", name, err)
	}
	after, err := c.Get(ctx, name, metav1.GetOptions{})
	switch {
	case terminating && err != nil:
		t.Fatalf("Get(%q) after Delete: %v; want the object being deleted", name, err)
	case terminating && mustAccessor(t, after).GetDeletionTimestamp() == nil:
		t.Fatalf("Get(%q) after Delete has no deletionTimestamp", name)
	case !terminating && !apierrors.IsNotFound(err):
		t.Fatalf("Get(%q) after Delete: err = %v; want NotFound", name, err)
	}
}

func mustAccessor(t *testing.T, obj runtime.Object) metav1.Object {
	t.Helper()
	m, err := meta.Accessor(obj)
	if err != nil {
		t.Fatalf("%T has no metadata: %v", obj, err)
	}
	return m
}

func testDeployment(name string, replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "registry.local/web:1"}}},
			},
		},
	}
}

func testPod(name, node string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": name}},
		Spec: corev1.PodSpec{
			NodeName:   node,
			Containers: []corev1.Container{{Name: "c", Image: "registry.local/app:1"}},
		},
	}
}

func testService(name string, typ corev1.ServiceType) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.ServiceSpec{
			Type:     typ,
			Selector: map[string]string{"app": name},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}
}

func TestClientGoCRUD(t *testing.T) {
	t.Parallel()
	c := tendtest.Start(t, tendtest.Options{})
	cs := c.Client()
	ns := makeNamespace(t, cs, "crud")
	tests := []struct {
		kind string
		run  func(t *testing.T)
	}{
		{"ConfigMap", func(t *testing.T) {
			checkCRUD(t, cs.CoreV1().ConfigMaps(ns), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm"}, Data: map[string]string{"k": "v"}}, false)
		}},
		{"Deployment", func(t *testing.T) { checkCRUD(t, cs.AppsV1().Deployments(ns), testDeployment("web", 2), false) }},
		{"Service", func(t *testing.T) {
			checkCRUD(t, cs.CoreV1().Services(ns), testService("svc", corev1.ServiceTypeClusterIP), false)
		}},
		{"Pod", func(t *testing.T) { checkCRUD(t, cs.CoreV1().Pods(ns), testPod("pod", ""), false) }},
		{"Namespace", func(t *testing.T) {
			checkCRUD(t, cs.CoreV1().Namespaces(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "crud-ns"}}, true)
		}},
		{"Lease", func(t *testing.T) {
			checkCRUD(t, cs.CoordinationV1().Leases(ns), &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "lock"},
				Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr("me"), LeaseDurationSeconds: ptr[int32](15)}}, false)
		}},
		{"HPA v2", func(t *testing.T) {
			checkCRUD(t, cs.AutoscalingV2().HorizontalPodAutoscalers(ns), testHPAv2("hpa2"), false)
		}},
		{"HPA v1", func(t *testing.T) {
			checkCRUD(t, cs.AutoscalingV1().HorizontalPodAutoscalers(ns), testHPAv1("hpa1"), false)
		}},
		{"Event events.k8s.io", func(t *testing.T) {
			checkCRUD(t, cs.EventsV1().Events(ns), testEventsV1("ev", ns), false)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			t.Parallel()
			tt.run(t)
		})
	}
}

func testHPAv2(name string) *autoscalingv2.HorizontalPodAutoscaler {
	return &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MinReplicas:    ptr[int32](2),
			MaxReplicas:    10,
			Metrics: []autoscalingv2.MetricSpec{{
				Type: autoscalingv2.ResourceMetricSourceType,
				Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceCPU,
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr[int32](70)}},
			}},
		},
	}
}

func testHPAv1(name string) *autoscalingv1.HorizontalPodAutoscaler {
	return &autoscalingv1.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: autoscalingv1.HorizontalPodAutoscalerSpec{
			ScaleTargetRef:                 autoscalingv1.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MinReplicas:                    ptr[int32](1),
			MaxReplicas:                    5,
			TargetCPUUtilizationPercentage: ptr[int32](60),
		},
	}
}

func testEventsV1(name, ns string) *eventsv1.Event {
	return &eventsv1.Event{
		ObjectMeta:          metav1.ObjectMeta{Name: name},
		EventTime:           metav1.NowMicro(),
		ReportingController: "tend.test/controller",
		ReportingInstance:   "tend-test-1",
		Action:              "Testing",
		Reason:              "Tested",
		Note:                "a note",
		Type:                corev1.EventTypeNormal,
		Regarding:           corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: "web-1", APIVersion: "v1"},
	}
}

// TestClientGoConversion writes a kind in one version and reads it in another.
func TestClientGoConversion(t *testing.T) {
	t.Parallel()
	c := tendtest.Start(t, tendtest.Options{})
	cs := c.Client()
	ctx := ctxFor(t)
	ns := makeNamespace(t, cs, "conv")

	t.Run("HPA v1 read as v2", func(t *testing.T) {
		if _, err := cs.AutoscalingV1().HorizontalPodAutoscalers(ns).Create(ctx, testHPAv1("from-v1"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		got, err := cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "from-v1", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Spec.Metrics) != 1 || got.Spec.Metrics[0].Resource == nil ||
			got.Spec.Metrics[0].Resource.Name != corev1.ResourceCPU ||
			got.Spec.Metrics[0].Resource.Target.AverageUtilization == nil || *got.Spec.Metrics[0].Resource.Target.AverageUtilization != 60 {
			t.Fatalf("v2 metrics = %+v; want one CPU utilization metric of 60", got.Spec.Metrics)
		}
		if got.Spec.MaxReplicas != 5 || got.Spec.MinReplicas == nil || *got.Spec.MinReplicas != 1 {
			t.Fatalf("v2 replicas = min %v max %d; want 1, 5", got.Spec.MinReplicas, got.Spec.MaxReplicas)
		}
		if got.APIVersion != "" && got.APIVersion != "autoscaling/v2" {
			t.Fatalf("apiVersion = %q; want autoscaling/v2", got.APIVersion)
		}
	})
	t.Run("HPA v2 read as v1", func(t *testing.T) {
		if _, err := cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, testHPAv2("from-v2"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		got, err := cs.AutoscalingV1().HorizontalPodAutoscalers(ns).Get(ctx, "from-v2", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Spec.TargetCPUUtilizationPercentage == nil || *got.Spec.TargetCPUUtilizationPercentage != 70 {
			t.Fatalf("v1 targetCPUUtilizationPercentage = %v; want 70", got.Spec.TargetCPUUtilizationPercentage)
		}
		list, err := cs.AutoscalingV1().HorizontalPodAutoscalers(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(list.Items), 2; got != want {
			t.Fatalf("v1 list has %d items; want %d", got, want)
		}
	})
	t.Run("HPA v1 watch and list", func(t *testing.T) {
		rc := newRawClient(t, c)
		ws := rc.watch("/apis/autoscaling/v1/namespaces/" + ns + "/horizontalpodautoscalers?watch=true&fieldSelector=metadata.name%3Dfrom-v2")
		e := ws.next()
		var hpa autoscalingv1.HorizontalPodAutoscaler
		if err := json.Unmarshal(e.Object, &hpa); err != nil {
			t.Fatal(err)
		}
		if hpa.APIVersion != "autoscaling/v1" || hpa.Spec.TargetCPUUtilizationPercentage == nil || *hpa.Spec.TargetCPUUtilizationPercentage != 70 {
			t.Fatalf("v1 watch event = %s; want an autoscaling/v1 object with targetCPUUtilizationPercentage 70", e.Object)
		}
		r := rc.do("GET", "/apis/autoscaling/v1/namespaces/"+ns+"/horizontalpodautoscalers/from-v2", nil, "Accept", kubectlTableAccept)
		r.wantCode(t, "GET v1 HPA as Table", 200)
	})
	t.Run("events.k8s.io Event read as core v1", func(t *testing.T) {
		if _, err := cs.EventsV1().Events(ns).Create(ctx, testEventsV1("ev1", ns), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		got, err := cs.CoreV1().Events(ns).Get(ctx, "ev1", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got.InvolvedObject.Name != "web-1" || got.Message != "a note" || got.Reason != "Tested" || got.ReportingController != "tend.test/controller" {
			t.Fatalf("core/v1 Event = involvedObject %q message %q reason %q reportingComponent %q; want web-1, a note, Tested, tend.test/controller",
				got.InvolvedObject.Name, got.Message, got.Reason, got.ReportingController)
		}
		back, err := cs.EventsV1().Events(ns).Get(ctx, "ev1", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if back.Note != "a note" || back.Regarding.Name != "web-1" {
			t.Fatalf("events.k8s.io Event = note %q regarding %q; want a note, web-1", back.Note, back.Regarding.Name)
		}
	})
}

func TestClientGoStatusAndScale(t *testing.T) {
	t.Parallel()
	c := tendtest.Start(t, tendtest.Options{})
	cs := c.Client()
	ctx := ctxFor(t)
	ns := makeNamespace(t, cs, "scale")
	deps := cs.AppsV1().Deployments(ns)
	d, err := deps.Create(ctx, testDeployment("web", 2), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Generation != 1 {
		t.Fatalf("generation after create = %d; want 1", d.Generation)
	}

	// UpdateStatus writes status only.
	d.Status.Replicas, d.Status.ObservedGeneration = 2, 1
	d.Spec.Replicas = ptr[int32](9)
	st, err := deps.UpdateStatus(ctx, d, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("UpdateStatus: %v", err)
	}
	if st.Status.Replicas != 2 || *st.Spec.Replicas != 2 || st.Generation != 1 {
		t.Fatalf("UpdateStatus = status.replicas %d, spec.replicas %d, generation %d; want 2, 2 (spec untouched), 1",
			st.Status.Replicas, *st.Spec.Replicas, st.Generation)
	}

	// Update writes spec only.
	st.Status.Replicas = 7
	st.Spec.Replicas = ptr[int32](3)
	up, err := deps.Update(ctx, st, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if up.Status.Replicas != 2 || *up.Spec.Replicas != 3 || up.Generation != 2 {
		t.Fatalf("Update = status.replicas %d, spec.replicas %d, generation %d; want 2 (status untouched), 3, 2",
			up.Status.Replicas, *up.Spec.Replicas, up.Generation)
	}

	sc, err := deps.GetScale(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("GetScale: %v", err)
	}
	if sc.Spec.Replicas != 3 || sc.Status.Replicas != 2 || sc.Status.Selector != "app=web" || sc.ResourceVersion != up.ResourceVersion {
		t.Fatalf("GetScale = spec %d status %d selector %q rv %q; want 3, 2, app=web, %q",
			sc.Spec.Replicas, sc.Status.Replicas, sc.Status.Selector, sc.ResourceVersion, up.ResourceVersion)
	}
	sc.Spec.Replicas = 5
	sc2, err := deps.UpdateScale(ctx, "web", sc, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("UpdateScale: %v", err)
	}
	if sc2.Spec.Replicas != 5 {
		t.Fatalf("UpdateScale = spec.replicas %d; want 5", sc2.Spec.Replicas)
	}
	got, err := deps.Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *got.Spec.Replicas != 5 || got.Generation != 3 {
		t.Fatalf("after UpdateScale: spec.replicas %d generation %d; want 5, 3", *got.Spec.Replicas, got.Generation)
	}
	// A stale Scale is a conflict.
	sc.Spec.Replicas = 1
	if _, err := deps.UpdateScale(ctx, "web", sc, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
		t.Fatalf("UpdateScale with a stale resourceVersion: err = %v; want Conflict", err)
	}
	// The scale subresource takes patches too, the way kubectl scale sends them.
	rc := newRawClient(t, c)
	r := rc.do("PATCH", "/apis/apps/v1/namespaces/"+ns+"/deployments/web/scale", `{"spec":{"replicas":6}}`, "Content-Type", "application/merge-patch+json")
	r.wantCode(t, "PATCH deployments/web/scale", 200)
	var patched autoscalingv1.Scale
	r.object(t, &patched)
	if patched.Kind != "Scale" || patched.APIVersion != "autoscaling/v1" || patched.Spec.Replicas != 6 {
		t.Fatalf("PATCH scale = %s; want an autoscaling/v1 Scale of 6 replicas", r.body)
	}
	// ReplicaSets and StatefulSets scale too.
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "rs"}, Spec: appsv1.ReplicaSetSpec{
		Replicas: ptr[int32](1), Selector: d.Spec.Selector, Template: d.Spec.Template}}
	if _, err := cs.AppsV1().ReplicaSets(ns).Create(ctx, rs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rsScale, err := cs.AppsV1().ReplicaSets(ns).GetScale(ctx, "rs", metav1.GetOptions{})
	if err != nil || rsScale.Spec.Replicas != 1 {
		t.Fatalf("ReplicaSet GetScale = %v, %v; want 1 replica", rsScale, err)
	}
}
