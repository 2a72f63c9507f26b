package garbagecollector_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"

	"github.com/tendhq/tend/controllers"
	"github.com/tendhq/tend/controllers/garbagecollector"
	"github.com/tendhq/tend/informers"
	"github.com/tendhq/tend/schemas"
	"github.com/tendhq/tend/tendtest"
)

const ns = "default"

// env is a test cluster with a garbage collector running.
type env struct {
	client kubernetes.Interface
	ctx    context.Context
}

func start(t *testing.T) *env {
	t.Helper()
	c := tendtest.Start(t, tendtest.Options{})
	e := newEnv(t, c)
	startGC(t, c)
	return e
}

func newEnv(t *testing.T, c *tendtest.Cluster) *env {
	return &env{client: kubernetes.NewForConfigOrDie(c.RESTConfig()), ctx: t.Context()}
}

// startGC runs a garbage collector on c until t ends, and waits for its graph
// to sync.
func startGC(t *testing.T, c *tendtest.Cluster) *garbagecollector.GC {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cfg := c.RESTConfig()
	f, err := informers.NewFactory(cfg, informers.FactoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	md, err := metadata.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rec := controllers.NewRecorder(kubernetes.NewForConfigOrDie(cfg), "garbage-collector", controllers.RecorderOptions{})
	gc, err := garbagecollector.New(f, md, schemas.Builtin().Kinds(), rec, controllers.Options{Workers: 4, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	f.Start(ctx)
	done := make(chan struct{}, 2)
	go func() { rec.Run(ctx); done <- struct{}{} }()
	go func() { _ = gc.Run(ctx); done <- struct{}{} }()
	t.Cleanup(func() {
		cancel()
		<-done
		<-done
	})
	if !informers.WaitForSync(ctx, gc) {
		t.Fatal("the garbage collector did not sync")
	}
	return gc
}

// eventually polls cond until it holds, failing t after 10 s.
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

// never checks that cond stays false for d.
func never(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			t.Fatalf("%s happened", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func ref(apiVersion, kind, name string, uid types.UID, block bool) metav1.OwnerReference {
	return metav1.OwnerReference{APIVersion: apiVersion, Kind: kind, Name: name, UID: uid, BlockOwnerDeletion: &block}
}

func controllerRef(apiVersion, kind, name string, uid types.UID) metav1.OwnerReference {
	r := ref(apiVersion, kind, name, uid, true)
	yes := true
	r.Controller = &yes
	return r
}

func (e *env) configMap(t *testing.T, name string, finalizers []string, owners ...metav1.OwnerReference) *corev1.ConfigMap {
	t.Helper()
	cm, err := e.client.CoreV1().ConfigMaps(ns).Create(e.ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
		Name: name, OwnerReferences: owners, Finalizers: finalizers}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating ConfigMap %s: %v", name, err)
	}
	return cm
}

func (e *env) pod(t *testing.T, name string, owners ...metav1.OwnerReference) *corev1.Pod {
	t.Helper()
	p, err := e.client.CoreV1().Pods(ns).Create(e.ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, OwnerReferences: owners},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating Pod %s: %v", name, err)
	}
	return p
}

func (e *env) replicaSet(t *testing.T, name string, owners ...metav1.OwnerReference) *appsv1.ReplicaSet {
	t.Helper()
	zero := int32(0)
	labels := map[string]string{"app": name}
	rs, err := e.client.AppsV1().ReplicaSets(ns).Create(e.ctx, &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, OwnerReferences: owners},
		Spec: appsv1.ReplicaSetSpec{Replicas: &zero, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating ReplicaSet %s: %v", name, err)
	}
	return rs
}

// gone reports whether get says NotFound.
func gone(err error) (bool, error) {
	if apierrors.IsNotFound(err) {
		return true, nil
	}
	return false, err
}

func (e *env) podGone(name string) func() (bool, error) {
	return func() (bool, error) {
		_, err := e.client.CoreV1().Pods(ns).Get(e.ctx, name, metav1.GetOptions{})
		return gone(err)
	}
}

func (e *env) configMapGone(name string) func() (bool, error) {
	return func() (bool, error) {
		_, err := e.client.CoreV1().ConfigMaps(ns).Get(e.ctx, name, metav1.GetOptions{})
		return gone(err)
	}
}

func (e *env) replicaSetGone(name string) func() (bool, error) {
	return func() (bool, error) {
		_, err := e.client.AppsV1().ReplicaSets(ns).Get(e.ctx, name, metav1.GetOptions{})
		return gone(err)
	}
}

func (e *env) exists(t *testing.T, get func() error) bool {
	t.Helper()
	err := get()
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	return err == nil
}

func (e *env) delete(t *testing.T, del func(context.Context, string, metav1.DeleteOptions) error, name string, policy metav1.DeletionPropagation) {
	t.Helper()
	if err := del(e.ctx, name, metav1.DeleteOptions{PropagationPolicy: &policy}); err != nil {
		t.Fatalf("deleting %s with propagationPolicy %s: %v", name, policy, err)
	}
}

// dropFinalizers removes every finalizer of the ConfigMap name.
func (e *env) dropFinalizers(t *testing.T, name string) {
	t.Helper()
	p, _ := json.Marshal(map[string]any{"metadata": map[string]any{"finalizers": nil}})
	if _, err := e.client.CoreV1().ConfigMaps(ns).Patch(e.ctx, name, types.MergePatchType, p, metav1.PatchOptions{}); err != nil {
		t.Fatalf("removing the finalizers of ConfigMap %s: %v", name, err)
	}
}

const hold = "test.tend.dev/hold"

func TestBackgroundDeletesDependents(t *testing.T) {
	t.Parallel()
	e := start(t)
	rs := e.replicaSet(t, "web")
	for i := range 3 {
		e.pod(t, fmt.Sprintf("web-%d", i), controllerRef("apps/v1", "ReplicaSet", rs.Name, rs.UID))
	}
	other := e.pod(t, "unowned")
	e.delete(t, e.client.AppsV1().ReplicaSets(ns).Delete, rs.Name, metav1.DeletePropagationBackground)
	for i := range 3 {
		eventually(t, fmt.Sprintf("pod web-%d is collected", i), e.podGone(fmt.Sprintf("web-%d", i)))
	}
	if !e.exists(t, func() error {
		_, err := e.client.CoreV1().Pods(ns).Get(e.ctx, other.Name, metav1.GetOptions{})
		return err
	}) {
		t.Errorf("pod %s, which has no owner, was deleted", other.Name)
	}
}

func TestBackgroundChain(t *testing.T) {
	t.Parallel()
	e := start(t)
	labels := map[string]string{"app": "chain"}
	zero := int32(0)
	d, err := e.client.AppsV1().Deployments(ns).Create(e.ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "chain"},
		Spec: appsv1.DeploymentSpec{Replicas: &zero, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rs := e.replicaSet(t, "chain-1", controllerRef("apps/v1", "Deployment", d.Name, d.UID))
	e.pod(t, "chain-1-a", controllerRef("apps/v1", "ReplicaSet", rs.Name, rs.UID))
	e.pod(t, "chain-1-b", controllerRef("apps/v1", "ReplicaSet", rs.Name, rs.UID))
	e.delete(t, e.client.AppsV1().Deployments(ns).Delete, d.Name, metav1.DeletePropagationBackground)
	eventually(t, "the ReplicaSet is collected", e.replicaSetGone(rs.Name))
	eventually(t, "pod chain-1-a is collected", e.podGone("chain-1-a"))
	eventually(t, "pod chain-1-b is collected", e.podGone("chain-1-b"))
}

func TestOwnersAcrossKinds(t *testing.T) {
	t.Parallel()
	e := start(t)
	secret, err := e.client.CoreV1().Secrets(ns).Create(e.ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "owner"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cr, err := e.client.RbacV1().ClusterRoles().Create(e.ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "gc-test-owner"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e.configMap(t, "of-secret", nil, ref("v1", "Secret", secret.Name, secret.UID, false))
	e.configMap(t, "of-clusterrole", nil, ref("rbac.authorization.k8s.io/v1", "ClusterRole", cr.Name, cr.UID, false))
	e.configMap(t, "of-both", nil, ref("v1", "Secret", secret.Name, secret.UID, false),
		ref("rbac.authorization.k8s.io/v1", "ClusterRole", cr.Name, cr.UID, false))

	e.delete(t, e.client.CoreV1().Secrets(ns).Delete, secret.Name, metav1.DeletePropagationBackground)
	eventually(t, "the ConfigMap owned by a Secret is collected", e.configMapGone("of-secret"))
	// of-both keeps its live owner, and loses its dangling reference.
	eventually(t, "of-both loses its reference to the Secret", func() (bool, error) {
		cm, err := e.client.CoreV1().ConfigMaps(ns).Get(e.ctx, "of-both", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return len(cm.OwnerReferences) == 1 && cm.OwnerReferences[0].UID == cr.UID, nil
	})

	e.delete(t, e.client.RbacV1().ClusterRoles().Delete, cr.Name, metav1.DeletePropagationBackground)
	eventually(t, "the ConfigMap owned by a ClusterRole is collected", e.configMapGone("of-clusterrole"))
	eventually(t, "of-both is collected", e.configMapGone("of-both"))
}

func TestDanglingReferences(t *testing.T) {
	t.Parallel()
	e := start(t)
	owner := e.configMap(t, "owner", nil)
	// A reference with the owner's name but another UID: the owner it meant
	// is gone (deleted and created again, say).
	e.configMap(t, "stale", nil, ref("v1", "ConfigMap", owner.Name, "00000000-0000-0000-0000-000000000001", false))
	// A reference to an owner that never existed.
	e.configMap(t, "invented", nil, ref("v1", "Secret", "nobody", "00000000-0000-0000-0000-000000000002", true))
	// A live owner: stays.
	e.configMap(t, "kept", nil, ref("v1", "ConfigMap", owner.Name, owner.UID, false))

	eventually(t, "the ConfigMap with a UID mismatch is collected", e.configMapGone("stale"))
	eventually(t, "the ConfigMap whose owner never existed is collected", e.configMapGone("invented"))
	if !e.exists(t, func() error {
		_, err := e.client.CoreV1().ConfigMaps(ns).Get(e.ctx, "kept", metav1.GetOptions{})
		return err
	}) {
		t.Error("the ConfigMap with a live owner was deleted")
	}
	if !e.exists(t, func() error {
		_, err := e.client.CoreV1().ConfigMaps(ns).Get(e.ctx, owner.Name, metav1.GetOptions{})
		return err
	}) {
		t.Error("the owner was deleted")
	}
}

func TestForegroundWaitsForBlockingDependents(t *testing.T) {
	t.Parallel()
	e := start(t)
	owner := e.configMap(t, "owner", nil)
	blocker := e.configMap(t, "blocker", []string{hold}, ref("v1", "ConfigMap", owner.Name, owner.UID, true))
	e.configMap(t, "plain", nil, ref("v1", "ConfigMap", owner.Name, owner.UID, true))
	// A dependent that does not block: it is deleted too, but not waited for.
	e.configMap(t, "nonblocking", []string{hold}, ref("v1", "ConfigMap", owner.Name, owner.UID, false))

	e.delete(t, e.client.CoreV1().ConfigMaps(ns).Delete, owner.Name, metav1.DeletePropagationForeground)
	eventually(t, "the plain dependent is collected", e.configMapGone("plain"))
	eventually(t, "the held dependents are being deleted", func() (bool, error) {
		for _, name := range []string{blocker.Name, "nonblocking"} {
			cm, err := e.client.CoreV1().ConfigMaps(ns).Get(e.ctx, name, metav1.GetOptions{})
			if err != nil || cm.DeletionTimestamp == nil {
				return false, err
			}
		}
		return true, nil
	})
	never(t, "the owner went while a blocking dependent remains", 300*time.Millisecond, func() bool {
		cm, err := e.client.CoreV1().ConfigMaps(ns).Get(e.ctx, owner.Name, metav1.GetOptions{})
		return err != nil || cm.DeletionTimestamp == nil
	})
	e.dropFinalizers(t, blocker.Name)
	eventually(t, "the blocking dependent goes", e.configMapGone(blocker.Name))
	eventually(t, "the owner goes once no blocking dependent remains", e.configMapGone(owner.Name))
	e.dropFinalizers(t, "nonblocking")
}

func TestForegroundRecursive(t *testing.T) {
	t.Parallel()
	e := start(t)
	rs := e.replicaSet(t, "top")
	middle := e.configMap(t, "middle", nil, controllerRef("apps/v1", "ReplicaSet", rs.Name, rs.UID))
	leaf := e.configMap(t, "leaf", []string{hold}, ref("v1", "ConfigMap", middle.Name, middle.UID, true))
	e.delete(t, e.client.AppsV1().ReplicaSets(ns).Delete, rs.Name, metav1.DeletePropagationForeground)
	// The middle object has dependents: it is deleted in the foreground too,
	// and the owner waits for it, which waits for the held leaf.
	eventually(t, "the middle dependent is deleted in the foreground", func() (bool, error) {
		cm, err := e.client.CoreV1().ConfigMaps(ns).Get(e.ctx, middle.Name, metav1.GetOptions{})
		if err != nil || cm.DeletionTimestamp == nil {
			return false, err
		}
		for _, f := range cm.Finalizers {
			if f == metav1.FinalizerDeleteDependents {
				return true, nil
			}
		}
		return false, fmt.Errorf("finalizers %v", cm.Finalizers)
	})
	never(t, "the owner went while its dependents wait for theirs", 300*time.Millisecond, func() bool {
		_, err := e.client.AppsV1().ReplicaSets(ns).Get(e.ctx, rs.Name, metav1.GetOptions{})
		return err != nil
	})
	e.dropFinalizers(t, leaf.Name)
	eventually(t, "the leaf goes", e.configMapGone(leaf.Name))
	eventually(t, "the middle goes", e.configMapGone(middle.Name))
	eventually(t, "the owner goes", e.replicaSetGone(rs.Name))
}

func TestOrphanKeepsDependents(t *testing.T) {
	t.Parallel()
	e := start(t)
	rs := e.replicaSet(t, "orphaner")
	other := e.configMap(t, "other-owner", nil)
	e.pod(t, "orphan-a", controllerRef("apps/v1", "ReplicaSet", rs.Name, rs.UID))
	e.pod(t, "orphan-b", controllerRef("apps/v1", "ReplicaSet", rs.Name, rs.UID), ref("v1", "ConfigMap", other.Name, other.UID, false))
	e.delete(t, e.client.AppsV1().ReplicaSets(ns).Delete, rs.Name, metav1.DeletePropagationOrphan)
	eventually(t, "the orphaning owner goes", e.replicaSetGone(rs.Name))
	want := map[string]int{"orphan-a": 0, "orphan-b": 1}
	for name, n := range want {
		p, err := e.client.CoreV1().Pods(ns).Get(e.ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("pod %s after its owner was deleted with Orphan: %v", name, err)
		}
		if len(p.OwnerReferences) != n {
			t.Errorf("pod %s has ownerReferences %v; want %d", name, p.OwnerReferences, n)
		}
		for _, r := range p.OwnerReferences {
			if r.UID == rs.UID {
				t.Errorf("pod %s still references the orphaning owner", name)
			}
		}
	}
	never(t, "an orphaned pod was collected", 300*time.Millisecond, func() bool {
		ok, _ := e.podGone("orphan-a")()
		return ok
	})
}

func TestCollectsGarbageLeftWhileStopped(t *testing.T) {
	t.Parallel()
	c := tendtest.Start(t, tendtest.Options{})
	e := newEnv(t, c)
	rs := e.replicaSet(t, "before")
	e.pod(t, "before-a", controllerRef("apps/v1", "ReplicaSet", rs.Name, rs.UID))
	e.delete(t, e.client.AppsV1().ReplicaSets(ns).Delete, rs.Name, metav1.DeletePropagationBackground)
	startGC(t, c)
	eventually(t, "a dependent whose owner went before the collector started is collected", e.podGone("before-a"))
}

func TestInvalidNamespaceReference(t *testing.T) {
	t.Parallel()
	c := tendtest.Start(t, tendtest.Options{})
	e := newEnv(t, c)
	startGC(t, c)
	owner := e.configMap(t, "ns-owner", nil)
	// A cluster-scoped object cannot be owned by a namespaced one: it is left
	// alone, with a warning.
	cr, err := e.client.RbacV1().ClusterRoles().Create(e.ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{
		Name: "gc-test-invalid", OwnerReferences: []metav1.OwnerReference{ref("v1", "ConfigMap", owner.Name, owner.UID, false)}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e.delete(t, e.client.CoreV1().ConfigMaps(ns).Delete, owner.Name, metav1.DeletePropagationBackground)
	eventually(t, "a warning event on the cluster-scoped dependent", func() (bool, error) {
		evs, err := e.client.CoreV1().Events(ns).List(e.ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, ev := range evs.Items {
			if ev.InvolvedObject.UID == cr.UID && ev.Reason == "OwnerRefInvalidNamespace" {
				return true, nil
			}
		}
		return false, nil
	})
	if _, err := e.client.RbacV1().ClusterRoles().Get(e.ctx, cr.Name, metav1.GetOptions{}); err != nil {
		t.Errorf("the cluster-scoped object with an invalid reference: %v; want it kept", err)
	}
}

func TestOwnerServedInAnotherVersion(t *testing.T) {
	t.Parallel()
	e := start(t)
	hpa, err := e.client.AutoscalingV1().HorizontalPodAutoscalers(ns).Create(e.ctx, &autoscalingv1.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "scaler"},
		Spec: autoscalingv1.HorizontalPodAutoscalerSpec{MaxReplicas: 3,
			ScaleTargetRef: autoscalingv1.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The collector watches HorizontalPodAutoscalers as autoscaling/v2; the
	// reference says v1: the same object.
	e.configMap(t, "of-hpa", nil, ref("autoscaling/v1", "HorizontalPodAutoscaler", hpa.Name, hpa.UID, true))
	never(t, "the ConfigMap of a live owner named in another version was collected", 200*time.Millisecond, func() bool {
		ok, _ := e.configMapGone("of-hpa")()
		return ok
	})
	e.delete(t, e.client.AutoscalingV1().HorizontalPodAutoscalers(ns).Delete, hpa.Name, metav1.DeletePropagationBackground)
	eventually(t, "the ConfigMap of the deleted owner is collected", e.configMapGone("of-hpa"))
}

func TestOwnerOfAnUnknownKind(t *testing.T) {
	t.Parallel()
	e := start(t)
	cm := e.configMap(t, "of-widget", nil, ref("example.com/v1", "Widget", "w", "00000000-0000-0000-0000-000000000003", true))
	eventually(t, "a warning event on the dependent", func() (bool, error) {
		evs, err := e.client.CoreV1().Events(ns).List(e.ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, ev := range evs.Items {
			if ev.InvolvedObject.UID == cm.UID && ev.Reason == "OwnerRefInvalid" && ev.Type == corev1.EventTypeWarning {
				return true, nil
			}
		}
		return false, nil
	})
	if _, err := e.client.CoreV1().ConfigMaps(ns).Get(e.ctx, cm.Name, metav1.GetOptions{}); err != nil {
		t.Errorf("the ConfigMap owned by an unknown kind: %v; want it kept", err)
	}
}

func TestForegroundWaitsForGracefulPods(t *testing.T) {
	t.Parallel()
	c := tendtest.Start(t, tendtest.Options{})
	e := newEnv(t, c)
	startGC(t, c)
	tendtest.StartKubelet(t, c, tendtest.KubeletOptions{NodeName: "node-a"})
	rs := e.replicaSet(t, "graceful")
	for i := range 2 {
		e.pod(t, fmt.Sprintf("graceful-%d", i), controllerRef("apps/v1", "ReplicaSet", rs.Name, rs.UID))
	}
	eventually(t, "the pods are bound", func() (bool, error) {
		for i := range 2 {
			p, err := e.client.CoreV1().Pods(ns).Get(e.ctx, fmt.Sprintf("graceful-%d", i), metav1.GetOptions{})
			if err != nil || p.Spec.NodeName == "" {
				return false, err
			}
		}
		return true, nil
	})
	e.delete(t, e.client.AppsV1().ReplicaSets(ns).Delete, rs.Name, metav1.DeletePropagationForeground)
	// The pods' deletions are graceful: the kubelet ends them, then the
	// owner goes.
	for i := range 2 {
		eventually(t, fmt.Sprintf("pod graceful-%d goes", i), e.podGone(fmt.Sprintf("graceful-%d", i)))
	}
	eventually(t, "the owner goes after its pods", e.replicaSetGone(rs.Name))
}
