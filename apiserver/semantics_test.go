package apiserver_test

import (
	"net/http"
	"regexp"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tendhq/tend/tendtest"
)

func TestDryRun(t *testing.T) {
	t.Parallel()
	c := tendtest.Start(t, tendtest.Options{})
	cs := c.Client()
	rc := newRawClient(t, c)
	ctx := ctxFor(t)
	ns := makeNamespace(t, cs, "dry")
	cmPath := "/api/v1/namespaces/" + ns + "/configmaps"
	existing, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "existing"}, Data: map[string]string{"k": "v"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	changed := existing.DeepCopy()
	changed.Data["k"] = "changed"
	tests := []struct {
		name   string
		method string
		path   string
		ct     string
		body   any
		code   int
		check  func(t *testing.T, r *response)
	}{
		{"create", "POST", cmPath + "?dryRun=All", "", cmJSON("new", nil), http.StatusCreated, func(t *testing.T, r *response) {
			var cm corev1.ConfigMap
			r.object(t, &cm)
			if cm.Name != "new" || cm.UID == "" || cm.CreationTimestamp.IsZero() {
				t.Errorf("dry-run create = %s; want the object as it would be stored", r.body)
			}
			if _, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, "new", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("Get after a dry-run create: %v; want NotFound", err)
			}
		}},
		{"create with generateName", "POST", cmPath + "?dryRun=All", "", map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"generateName": "gen-"}}, http.StatusCreated, func(t *testing.T, r *response) {
			var cm corev1.ConfigMap
			r.object(t, &cm)
			if !regexp.MustCompile(`^gen-[a-z0-9]{5}$`).MatchString(cm.Name) {
				t.Errorf("dry-run create with generateName: name %q; want gen- and 5 characters", cm.Name)
			}
		}},
		{"update", "PUT", cmPath + "/existing?dryRun=All", "", changed, http.StatusOK, func(t *testing.T, r *response) {
			var cm corev1.ConfigMap
			r.object(t, &cm)
			if cm.Data["k"] != "changed" {
				t.Errorf("dry-run update = %s; want the updated object", r.body)
			}
		}},
		{"patch", "PATCH", cmPath + "/existing?dryRun=All", "application/merge-patch+json", `{"data":{"k":"patched"}}`, http.StatusOK, func(t *testing.T, r *response) {
			var cm corev1.ConfigMap
			r.object(t, &cm)
			if cm.Data["k"] != "patched" {
				t.Errorf("dry-run patch = %s; want the patched object", r.body)
			}
		}},
		{"delete", "DELETE", cmPath + "/existing?dryRun=All", "", nil, http.StatusOK, nil},
		{"delete with options in the body", "DELETE", cmPath + "/existing", "", map[string]any{"kind": "DeleteOptions", "apiVersion": "v1", "dryRun": []string{"All"}}, http.StatusOK, nil},
		{"deletecollection", "DELETE", cmPath + "?dryRun=All", "", nil, http.StatusOK, nil},
		{"service with an explicit IP and NodePort", "POST", "/api/v1/namespaces/" + ns + "/services?dryRun=All", "", map[string]any{
			"apiVersion": "v1", "kind": "Service", "metadata": map[string]any{"name": "svc"},
			"spec": map[string]any{"type": "NodePort", "clusterIP": "10.43.0.77", "ports": []any{map[string]any{"port": 80, "nodePort": 30077}}},
		}, http.StatusCreated, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := revision(t, cs)
			var headers []string
			if tt.ct != "" {
				headers = []string{"Content-Type", tt.ct}
			}
			r := rc.do(tt.method, tt.path, tt.body, headers...)
			r.wantCode(t, tt.method+" "+tt.path, tt.code)
			if tt.check != nil {
				tt.check(t, r)
			}
			if after := revision(t, cs); after != before {
				t.Errorf("dry-run %s: storage revision %d → %d; want nothing stored", tt.name, before, after)
			}
			got, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, "existing", metav1.GetOptions{})
			if err != nil || got.ResourceVersion != existing.ResourceVersion {
				t.Errorf("existing after dry-run %s = %v, %v; want it unchanged", tt.name, got, err)
			}
		})
	}
	// The dry-run Service claimed nothing.
	svc := testService("real", corev1.ServiceTypeNodePort)
	svc.Spec.ClusterIP = "10.43.0.77"
	svc.Spec.Ports[0].NodePort = 30077
	if _, err := cs.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating a Service with the dry-run one's IP and port: %v", err)
	}
}

// TestPatchTypes applies each patch type kubectl and client-go send.

func TestPatchTypes(t *testing.T) {
	t.Parallel()
	c := tendtest.Start(t, tendtest.Options{})
	cs := c.Client()
	rc := newRawClient(t, c)
	ctx := ctxFor(t)
	ns := makeNamespace(t, cs, "patch")
	d := testDeployment("web", 1)
	d.Spec.Template.Spec.Containers = append(d.Spec.Template.Spec.Containers, corev1.Container{Name: "sidecar", Image: "registry.local/sidecar:1"})
	if _, err := cs.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	path := "/apis/apps/v1/namespaces/" + ns + "/deployments/web"
	tests := []struct {
		name, ct, patch string
		wantImages      []string
		wantReplicas    int32
	}{
		// A strategic merge patch merges containers by name.
		{"strategic", "application/strategic-merge-patch+json", `{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"registry.local/web:2"}]}}}}`,
			[]string{"registry.local/web:2", "registry.local/sidecar:1"}, 1},
		// A merge patch replaces lists whole.
		{"merge", "application/merge-patch+json", `{"spec":{"replicas":3}}`,
			[]string{"registry.local/web:2", "registry.local/sidecar:1"}, 3},
		{"json", "application/json-patch+json", `[{"op":"replace","path":"/spec/template/spec/containers/1/image","value":"registry.local/sidecar:2"},{"op":"replace","path":"/spec/replicas","value":2}]`,
			[]string{"registry.local/web:2", "registry.local/sidecar:2"}, 2},
		{"strategic delete directive", "application/strategic-merge-patch+json", `{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","$patch":"delete"}]}}}}`,
			[]string{"registry.local/web:2"}, 2},
	}
	for _, tt := range tests {
		r := rc.do("PATCH", path, tt.patch, "Content-Type", tt.ct)
		r.wantCode(t, "PATCH "+tt.name, http.StatusOK)
		var got appsv1.Deployment
		r.object(t, &got)
		var images []string
		for _, c := range got.Spec.Template.Spec.Containers {
			images = append(images, c.Image)
		}
		if !slices.Equal(images, tt.wantImages) || *got.Spec.Replicas != tt.wantReplicas {
			t.Errorf("%s patch: images %v replicas %d; want %v %d", tt.name, images, *got.Spec.Replicas, tt.wantImages, tt.wantReplicas)
		}
	}
	// Server-side apply is refused with 415, not taken for another patch type.
	r := rc.do("PATCH", path+"?fieldManager=me", "apiVersion: apps/v1\nkind: Deployment\n", "Content-Type", "application/apply-patch+yaml")
	r.wantCode(t, "PATCH apply", http.StatusUnsupportedMediaType)
}

func TestGenerateName(t *testing.T) {
	t.Parallel()
	c := tendtest.Start(t, tendtest.Options{})
	cs := c.Client()
	ctx := ctxFor(t)
	ns := makeNamespace(t, cs, "gen")
	seen := map[string]bool{}
	for range 20 {
		cm, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{GenerateName: "web-"}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`^web-[bcdfghjklmnpqrstvwxz2456789]{5}$`).MatchString(cm.Name) || seen[cm.Name] {
			t.Fatalf("generated name %q; want web- and 5 characters, unique (seen %d)", cm.Name, len(seen))
		}
		seen[cm.Name] = true
		if cm.GenerateName != "web-" {
			t.Fatalf("generateName = %q; want it kept", cm.GenerateName)
		}
	}
	// A name wins over generateName.
	cm, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "fixed", GenerateName: "web-"}}, metav1.CreateOptions{})
	if err != nil || cm.Name != "fixed" {
		t.Fatalf("create with name and generateName = %v, %v; want name fixed", cm, err)
	}
	// Neither: 422 naming metadata.name.
	_, err = cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{}, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) {
		t.Fatalf("create without name or generateName: %v; want Invalid", err)
	}
}

func TestGeneration(t *testing.T) {
	t.Parallel()
	c := tendtest.Start(t, tendtest.Options{})
	cs := c.Client()
	ctx := ctxFor(t)
	ns := makeNamespace(t, cs, "gen")
	deps := cs.AppsV1().Deployments(ns)
	d, err := deps.Create(ctx, testDeployment("web", 1), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name   string
		change func(d *appsv1.Deployment) (*appsv1.Deployment, error)
		want   int64
	}{
		{"labels", func(d *appsv1.Deployment) (*appsv1.Deployment, error) {
			d.Labels = map[string]string{"a": "b"}
			return deps.Update(ctx, d, metav1.UpdateOptions{})
		}, 1},
		{"annotations (a Deployment's count)", func(d *appsv1.Deployment) (*appsv1.Deployment, error) {
			d.Annotations = map[string]string{"kubernetes.io/change-cause": "x"}
			return deps.Update(ctx, d, metav1.UpdateOptions{})
		}, 2},
		{"spec", func(d *appsv1.Deployment) (*appsv1.Deployment, error) {
			d.Spec.Template.Spec.Containers[0].Image = "registry.local/web:2"
			return deps.Update(ctx, d, metav1.UpdateOptions{})
		}, 3},
		{"unchanged spec", func(d *appsv1.Deployment) (*appsv1.Deployment, error) {
			return deps.Update(ctx, d, metav1.UpdateOptions{})
		}, 3},
		{"status", func(d *appsv1.Deployment) (*appsv1.Deployment, error) {
			d.Status.ObservedGeneration = 3
			d.Status.Replicas = 1
			return deps.UpdateStatus(ctx, d, metav1.UpdateOptions{})
		}, 3},
		{"spec through a patch", func(d *appsv1.Deployment) (*appsv1.Deployment, error) {
			return deps.Patch(ctx, "web", "application/strategic-merge-patch+json", []byte(`{"spec":{"replicas":4}}`), metav1.PatchOptions{})
		}, 4},
		{"status through a patch", func(d *appsv1.Deployment) (*appsv1.Deployment, error) {
			return deps.Patch(ctx, "web", "application/merge-patch+json", []byte(`{"status":{"replicas":4}}`), metav1.PatchOptions{}, "status")
		}, 4},
	}
	for _, s := range steps {
		before := d.ResourceVersion
		if d, err = s.change(d); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if d.Generation != s.want {
			t.Fatalf("after a change of %s: generation %d; want %d", s.name, d.Generation, s.want)
		}
		// An update that changes nothing writes nothing, as upstream.
		if unchanged := s.name == "unchanged spec"; unchanged != (d.ResourceVersion == before) {
			t.Fatalf("after a change of %s: resourceVersion %s → %s; want a new one only for a real change", s.name, before, d.ResourceVersion)
		}
	}
	// Kinds without generation keep 0.
	cm, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm"}}, metav1.CreateOptions{})
	if err != nil || cm.Generation != 0 {
		t.Fatalf("ConfigMap generation = %d (%v); want 0", cm.Generation, err)
	}
}

// TestStatusSplit checks that status is written only through /status and

// spec only through the object, for Deployments and Pods, with every verb.

func TestStatusSplit(t *testing.T) {
	t.Parallel()
	c := tendtest.Start(t, tendtest.Options{})
	cs := c.Client()
	rc := newRawClient(t, c)
	ctx := ctxFor(t)
	ns := makeNamespace(t, cs, "split")
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, testPod("p", "n1"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	podPath := "/api/v1/namespaces/" + ns + "/pods/p"
	merge := []string{"Content-Type", "application/merge-patch+json"}
	steps := []struct {
		path, body            string
		wantPhase, wantAnnot  string
		wantActiveDeadlineSet bool
	}{
		// A patch of the object ignores its status part.
		{podPath, `{"metadata":{"annotations":{"a":"1"}},"status":{"phase":"Running"}}`, "Pending", "1", false},
		// A patch of /status ignores its spec part; metadata still changes there,
		// as upstream's status strategy keeps only labels, annotations and the like.
		{podPath + "/status", `{"spec":{"activeDeadlineSeconds":5},"status":{"phase":"Running"}}`, "Running", "1", false},
		{podPath, `{"spec":{"activeDeadlineSeconds":5}}`, "Running", "1", true},
	}
	for _, s := range steps {
		r := rc.do("PATCH", s.path, s.body, merge...)
		r.wantCode(t, "PATCH "+s.path, http.StatusOK)
		var p corev1.Pod
		r.object(t, &p)
		if string(p.Status.Phase) != s.wantPhase || p.Annotations["a"] != s.wantAnnot || (p.Spec.ActiveDeadlineSeconds != nil) != s.wantActiveDeadlineSet {
			t.Fatalf("PATCH %s %s = phase %q annotation %q activeDeadlineSeconds %v; want %q %q set=%v",
				s.path, s.body, p.Status.Phase, p.Annotations["a"], p.Spec.ActiveDeadlineSeconds, s.wantPhase, s.wantAnnot, s.wantActiveDeadlineSet)
		}
	}
	// GET /status answers the whole object.
	r := rc.do("GET", podPath+"/status", nil)
	r.wantCode(t, "GET /status", http.StatusOK)
	var p corev1.Pod
	r.object(t, &p)
	if p.Kind != "Pod" || p.Status.Phase != corev1.PodRunning {
		t.Fatalf("GET /status = %s; want the Pod", r.body)
	}
	// Kinds without a status subresource have no /status.
	if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	r = rc.do("GET", "/api/v1/namespaces/"+ns+"/configmaps/cm/status", nil)
	r.wantCode(t, "GET configmaps/cm/status", http.StatusNotFound)
}

func TestCreateOnUpdate(t *testing.T) {
	t.Parallel()
	c := tendtest.Start(t, tendtest.Options{})
	cs := c.Client()
	ctx := ctxFor(t)
	ns := makeNamespace(t, cs, "cou")

	lease, err := cs.CoordinationV1().Leases(ns).Update(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "l"},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr("me")}}, metav1.UpdateOptions{})
	if err != nil || lease.UID == "" || lease.ResourceVersion == "" {
		t.Fatalf("Update of a missing Lease = %v, %v; want it created", lease, err)
	}
	ep, err := cs.CoreV1().Endpoints(ns).Update(ctx, &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: "ep"}}, metav1.UpdateOptions{})
	if err != nil || ep.UID == "" {
		t.Fatalf("Update of missing Endpoints = %v, %v; want them created", ep, err)
	}
	// The answer to a PUT that creates is 201, to one that updates 200.
	rc := newRawClient(t, c)
	leaseJSON := map[string]any{"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": map[string]any{"name": "raw"}}
	rc.do("PUT", "/apis/coordination.k8s.io/v1/namespaces/"+ns+"/leases/raw", leaseJSON).wantCode(t, "PUT creating a Lease", http.StatusCreated)
	rc.do("PUT", "/apis/coordination.k8s.io/v1/namespaces/"+ns+"/leases/raw", leaseJSON).wantCode(t, "PUT updating a Lease", http.StatusOK)
	_, err = cs.CoreV1().ConfigMaps(ns).Update(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm"}}, metav1.UpdateOptions{})
	if !apierrors.IsNotFound(err) {
		t.Fatalf("Update of a missing ConfigMap: %v; want NotFound", err)
	}
	_, err = cs.AppsV1().Deployments(ns).Update(ctx, testDeployment("d", 1), metav1.UpdateOptions{})
	if !apierrors.IsNotFound(err) {
		t.Fatalf("Update of a missing Deployment: %v; want NotFound", err)
	}
	// Create-on-update still runs admission: not in a missing namespace.
	_, err = cs.CoordinationV1().Leases("nope").Update(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "l"}}, metav1.UpdateOptions{})
	if !apierrors.IsNotFound(err) {
		t.Fatalf("Update of a Lease in a missing namespace: %v; want NotFound", err)
	}
}
