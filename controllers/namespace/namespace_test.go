package namespace_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"

	"github.com/tendhq/tend/controllers"
	"github.com/tendhq/tend/controllers/namespace"
	"github.com/tendhq/tend/informers"
	"github.com/tendhq/tend/schemas"
	"github.com/tendhq/tend/tendtest"
)

// env is a test cluster with the namespace controller running.
type env struct {
	c      *tendtest.Cluster
	client kubernetes.Interface
	md     metadata.Interface
	ctx    context.Context
}

func start(t *testing.T) *env {
	t.Helper()
	c := tendtest.Start(t, tendtest.Options{})
	cfg := c.RESTConfig()
	client := kubernetes.NewForConfigOrDie(cfg)
	md, err := metadata.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f, err := informers.NewFactory(cfg, informers.FactoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rec := controllers.NewRecorder(client, "namespace-controller", controllers.RecorderOptions{})
	ctrl := namespace.New(f, client, md, schemas.Builtin().Kinds(), rec, controllers.Options{Workers: 2, Logf: t.Logf})
	ctx, cancel := context.WithCancel(context.Background())
	f.Start(ctx)
	if !f.WaitForSync(ctx) {
		t.Fatal("the informers did not sync")
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); rec.Run(ctx) }()
	go func() { defer wg.Done(); _ = ctrl.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	return &env{c: c, client: client, md: md, ctx: t.Context()}
}

func eventually(t *testing.T, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ok, err := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not true after 10s (last error: %v)", what, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (e *env) namespace(t *testing.T, name string) {
	t.Helper()
	if _, err := e.client.CoreV1().Namespaces().Create(e.ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
}

func (e *env) deleteNamespace(t *testing.T, name string) {
	t.Helper()
	if err := e.client.CoreV1().Namespaces().Delete(e.ctx, name, metav1.DeleteOptions{}); err != nil {
		t.Fatalf("deleting namespace %s: %v", name, err)
	}
}

func (e *env) namespaceGone(name string) func() (bool, error) {
	return func() (bool, error) {
		_, err := e.client.CoreV1().Namespaces().Get(e.ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	}
}

func pod(name string, finalizers ...string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Finalizers: finalizers},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
}

func must[T any](t *testing.T, what string) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
}

func TestDeletesEveryKindInANamespace(t *testing.T) {
	t.Parallel()
	e := start(t)
	const ns = "doomed"
	e.namespace(t, ns)
	core := e.client.CoreV1()
	for i := range 3 {
		name := fmt.Sprintf("x-%d", i)
		must[*corev1.ConfigMap](t, "creating a ConfigMap")(core.ConfigMaps(ns).Create(e.ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}))
		must[*corev1.Secret](t, "creating a Secret")(core.Secrets(ns).Create(e.ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}))
		must[*corev1.Pod](t, "creating a Pod")(core.Pods(ns).Create(e.ctx, pod(name), metav1.CreateOptions{}))
	}
	must[*corev1.Service](t, "creating a Service")(core.Services(ns).Create(e.ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}}, metav1.CreateOptions{}))
	labels := map[string]string{"app": "web"}
	must[*appsv1.Deployment](t, "creating a Deployment")(e.client.AppsV1().Deployments(ns).Create(e.ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}},
	}, metav1.CreateOptions{}))

	e.deleteNamespace(t, ns)
	eventually(t, "the namespace is gone", e.namespaceGone(ns))
	for _, gvr := range []schema.GroupVersionResource{
		{Version: "v1", Resource: "configmaps"}, {Version: "v1", Resource: "secrets"}, {Version: "v1", Resource: "pods"},
		{Version: "v1", Resource: "services"}, {Group: "apps", Version: "v1", Resource: "deployments"},
	} {
		l, err := e.md.Resource(gvr).Namespace(ns).List(e.ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatalf("listing the %s of the deleted namespace: %v", gvr.Resource, err)
		}
		if len(l.Items) != 0 {
			t.Errorf("%d %s remain in the deleted namespace; want 0", len(l.Items), gvr.Resource)
		}
	}
}

func TestReportsContentRemaining(t *testing.T) {
	t.Parallel()
	e := start(t)
	const ns, hold = "held", "test.tend.dev/hold"
	e.namespace(t, ns)
	core := e.client.CoreV1()
	must[*corev1.Pod](t, "creating a held pod")(core.Pods(ns).Create(e.ctx, pod("held", hold), metav1.CreateOptions{}))
	must[*corev1.ConfigMap](t, "creating a ConfigMap")(core.ConfigMaps(ns).Create(e.ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "free"}}, metav1.CreateOptions{}))

	e.deleteNamespace(t, ns)
	want := map[corev1.NamespaceConditionType]struct {
		status  corev1.ConditionStatus
		message string
	}{
		corev1.NamespaceContentRemaining:         {corev1.ConditionTrue, "Some resources are remaining: pods. has 1 resource instances"},
		corev1.NamespaceFinalizersRemaining:      {corev1.ConditionTrue, "Some finalizers are remaining: " + hold + " in 1 resource instances"},
		corev1.NamespaceDeletionContentFailure:   {corev1.ConditionFalse, "All content successfully deleted, may be waiting on finalization"},
		corev1.NamespaceDeletionDiscoveryFailure: {corev1.ConditionFalse, "All resources successfully discovered"},
	}
	eventually(t, "the namespace reports its remaining content", func() (bool, error) {
		n, err := core.Namespaces().Get(e.ctx, ns, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if n.Status.Phase != corev1.NamespaceTerminating {
			return false, fmt.Errorf("phase %s", n.Status.Phase)
		}
		for typ, w := range want {
			c := condition(n, typ)
			if c == nil || c.Status != w.status || c.Message != w.message {
				return false, fmt.Errorf("condition %s is %+v; want status %s, message %q", typ, c, w.status, w.message)
			}
		}
		return true, nil
	})
	if _, err := core.ConfigMaps(ns).Get(e.ctx, "free", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the ConfigMap of the namespace being deleted: %v; want NotFound", err)
	}

	p, _ := json.Marshal(map[string]any{"metadata": map[string]any{"finalizers": nil}})
	if _, err := core.Pods(ns).Patch(e.ctx, "held", types.MergePatchType, p, metav1.PatchOptions{}); err != nil {
		t.Fatalf("releasing the held pod: %v", err)
	}
	eventually(t, "the namespace is gone once its last pod is", e.namespaceGone(ns))
}

func TestPodsWaitForTheirKubelet(t *testing.T) {
	t.Parallel()
	e := start(t)
	tendtest.StartKubelet(t, e.c, tendtest.KubeletOptions{NodeName: "node-a"})
	const ns = "graceful"
	e.namespace(t, ns)
	for i := range 3 {
		must[*corev1.Pod](t, "creating a pod")(e.client.CoreV1().Pods(ns).Create(e.ctx, pod(fmt.Sprintf("p-%d", i)), metav1.CreateOptions{}))
	}
	eventually(t, "the pods run on the node", func() (bool, error) {
		l, err := e.client.CoreV1().Pods(ns).List(e.ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, p := range l.Items {
			if p.Spec.NodeName == "" || p.Status.Phase != corev1.PodRunning {
				return false, nil
			}
		}
		return len(l.Items) == 3, nil
	})
	start := time.Now()
	e.deleteNamespace(t, ns)
	eventually(t, "the namespace is gone once the kubelet ended its pods", e.namespaceGone(ns))
	// The pods' 30 s grace period is an upper bound: the controller looks
	// again as soon as the kubelet deletes the last one.
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the namespace took %v to go; want well under the pods' grace period", d)
	}
}

func TestLeavesOtherNamespacesAlone(t *testing.T) {
	t.Parallel()
	e := start(t)
	e.namespace(t, "kept")
	e.namespace(t, "dropped")
	for _, ns := range []string{"kept", "dropped"} {
		must[*corev1.ConfigMap](t, "creating a ConfigMap")(e.client.CoreV1().ConfigMaps(ns).Create(e.ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm"}}, metav1.CreateOptions{}))
	}
	e.deleteNamespace(t, "dropped")
	eventually(t, "the deleted namespace is gone", e.namespaceGone("dropped"))
	if _, err := e.client.CoreV1().ConfigMaps("kept").Get(e.ctx, "cm", metav1.GetOptions{}); err != nil {
		t.Errorf("the ConfigMap of a namespace not deleted: %v", err)
	}
	n, err := e.client.CoreV1().Namespaces().Get(e.ctx, "kept", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(n.Status.Conditions) != 0 || !strings.EqualFold(string(n.Status.Phase), string(corev1.NamespaceActive)) {
		t.Errorf("the namespace not deleted has phase %s and conditions %v; want Active and none", n.Status.Phase, n.Status.Conditions)
	}
}

func condition(ns *corev1.Namespace, t corev1.NamespaceConditionType) *corev1.NamespaceCondition {
	for i := range ns.Status.Conditions {
		if ns.Status.Conditions[i].Type == t {
			return &ns.Status.Conditions[i]
		}
	}
	return nil
}
