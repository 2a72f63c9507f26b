package apiserver_test

import (
	"crypto/tls"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	statsv1alpha1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"

	"github.com/tendhq/tend/apiserver/pki"
	"github.com/tendhq/tend/tendtest"
)

// fakeKubelet serves a fixed /stats/summary over TLS with a serving
// certificate of the cluster CA, and accepts only client certificates of
// that CA, as tend's kubelet server does.
type fakeKubelet struct {
	srv  *httptest.Server
	port int32

	mu    sync.Mutex
	reads int
	users []string
}

func startFakeKubelet(t *testing.T, c *tendtest.Cluster, summary *statsv1alpha1.Summary) *fakeKubelet {
	t.Helper()
	ca, err := pki.LoadOrCreateCA(filepath.Join(c.Dir(), "pki"), "tend-ca")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Serving(t.TempDir(), "kubelet", []string{"localhost"}, []net.IP{net.ParseIP("127.0.0.1")})
	if err != nil {
		t.Fatal(err)
	}
	cert, err := leaf.TLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(summary)
	fk := &fakeKubelet{}
	fk.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/stats/summary" {
			http.NotFound(w, r)
			return
		}
		fk.mu.Lock()
		fk.reads++
		fk.users = append(fk.users, r.TLS.PeerCertificates[0].Subject.CommonName)
		fk.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	fk.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: ca.Pool()}
	fk.srv.StartTLS()
	t.Cleanup(fk.srv.Close)
	_, port, _ := net.SplitHostPort(fk.srv.Listener.Addr().String())
	p, _ := strconv.Atoi(port)
	fk.port = int32(p)
	return fk
}

func u64(v uint64) *uint64 { return &v }

func usageStats(at time.Time, nanocores, bytes uint64) (*statsv1alpha1.CPUStats, *statsv1alpha1.MemoryStats) {
	return &statsv1alpha1.CPUStats{Time: metav1.NewTime(at), UsageNanoCores: u64(nanocores), UsageCoreNanoSeconds: u64(nanocores * 10)},
		&statsv1alpha1.MemoryStats{Time: metav1.NewTime(at), WorkingSetBytes: u64(bytes)}
}

func containerStats(name string, at time.Time, nanocores, bytes uint64) statsv1alpha1.ContainerStats {
	cpu, mem := usageStats(at, nanocores, bytes)
	return statsv1alpha1.ContainerStats{Name: name, StartTime: metav1.NewTime(at.Add(-time.Minute)), CPU: cpu, Memory: mem}
}

// metricsCluster is a cluster with node n1, whose kubelet reports pods
// web (containers app 250m/64Mi and sidecar 10m/8Mi), db (100m/128Mi) and
// half (a container without stats) of namespace m, and hollow node n2,
// which serves no kubelet endpoint and runs pod hollow. Pod gone is on n1
// but not reported.
func metricsCluster(t *testing.T) (*tendtest.Cluster, *fakeKubelet) {
	t.Helper()
	c := tendtest.Start(t, tendtest.Options{})
	at := time.Now().Add(-2 * time.Second).Truncate(time.Second)
	ncpu, nmem := usageStats(at, 1_500_000_000, 2<<30)
	sum := &statsv1alpha1.Summary{
		Node: statsv1alpha1.NodeStats{NodeName: "n1", StartTime: metav1.NewTime(at.Add(-time.Hour)), CPU: ncpu, Memory: nmem},
		Pods: []statsv1alpha1.PodStats{
			{PodRef: statsv1alpha1.PodReference{Namespace: "m", Name: "web"}, StartTime: metav1.NewTime(at.Add(-time.Minute)),
				Containers: []statsv1alpha1.ContainerStats{containerStats("app", at, 250_000_000, 64<<20), containerStats("sidecar", at, 10_000_000, 8<<20)}},
			{PodRef: statsv1alpha1.PodReference{Namespace: "m", Name: "db"}, StartTime: metav1.NewTime(at.Add(-time.Minute)),
				Containers: []statsv1alpha1.ContainerStats{containerStats("db", at, 100_000_000, 128<<20)}},
			{PodRef: statsv1alpha1.PodReference{Namespace: "m", Name: "half"}, StartTime: metav1.NewTime(at.Add(-time.Minute)),
				Containers: []statsv1alpha1.ContainerStats{containerStats("a", at, 1, 1), {Name: "b"}}},
		},
	}
	fk := startFakeKubelet(t, c, sum)
	cs := c.Client()
	ctx := ctxFor(t)
	for _, n := range []struct {
		name string
		port int32
	}{{"n1", fk.port}, {"n2", 0}} {
		node, err := cs.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n.name, Labels: map[string]string{"name": n.name}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		node.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}}
		node.Status.DaemonEndpoints.KubeletEndpoint.Port = n.port
		node.Status.Capacity = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("8Gi")}
		node.Status.Allocatable = node.Status.Capacity
		if _, err := cs.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	makeNamespace(t, cs, "m")
	for _, p := range []struct{ name, node, app string }{
		{"web", "n1", "web"}, {"db", "n1", "db"}, {"half", "n1", "web"}, {"gone", "n1", "web"}, {"hollow", "n2", "web"},
	} {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: p.name, Namespace: "m", Labels: map[string]string{"app": p.app}},
			Spec: corev1.PodSpec{NodeName: p.node, Containers: []corev1.Container{{Name: "c", Image: "i"}}}}
		if _, err := cs.CoreV1().Pods("m").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return c, fk
}

func TestMetricsAPI(t *testing.T) {
	c, fk := metricsCluster(t)
	mc, err := metricsclient.NewForConfig(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxFor(t)
	m := mc.MetricsV1beta1()

	nodes, err := m.NodeMetricses().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("listing node metrics: %v", err)
	}
	if len(nodes.Items) != 1 || nodes.Items[0].Name != "n1" {
		t.Fatalf("node metrics = %+v; want n1's only (n2 serves no kubelet endpoint)", nodes.Items)
	}
	n1 := nodes.Items[0]
	if got, want := n1.Usage.Cpu().MilliValue(), int64(1500); got != want {
		t.Errorf("n1 cpu = %dm; want %dm", got, want)
	}
	if got, want := n1.Usage.Memory().Value(), int64(2<<30); got != want {
		t.Errorf("n1 memory = %d; want %d", got, want)
	}
	if n1.Labels["name"] != "n1" || n1.Window.Duration != time.Hour {
		t.Errorf("n1 labels = %v, window %v; want the node's labels, a window of 1h (since the node's start: the first read)", n1.Labels, n1.Window.Duration)
	}
	if _, err := m.NodeMetricses().Get(ctx, "n2", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("get node metrics n2 = %v; want NotFound", err)
	}
	if got, err := m.NodeMetricses().Get(ctx, "n1", metav1.GetOptions{}); err != nil || got.Usage.Cpu().MilliValue() != 1500 {
		t.Errorf("get node metrics n1 = %v, %v; want 1500m", got, err)
	}
	if l, err := m.NodeMetricses().List(ctx, metav1.ListOptions{LabelSelector: "name=n2"}); err != nil || len(l.Items) != 0 {
		t.Errorf("node metrics with name=n2 = %v, %v; want none", l, err)
	}

	pods, err := m.PodMetricses("m").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("listing pod metrics: %v", err)
	}
	var names []string
	for _, p := range pods.Items {
		names = append(names, p.Name)
	}
	if got, want := strings.Join(names, ","), "db,web"; got != want {
		t.Errorf("pod metrics in m = %s; want %s (half has a container without stats, gone is not reported, hollow's node serves none)", got, want)
	}
	web, err := m.PodMetricses("m").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get pod metrics web: %v", err)
	}
	if len(web.Containers) != 2 || web.Containers[0].Name != "app" || web.Containers[0].Usage.Cpu().MilliValue() != 250 ||
		web.Containers[0].Usage.Memory().Value() != 64<<20 || web.Labels["app"] != "web" {
		t.Errorf("pod metrics web = %+v; want app 250m/64Mi and sidecar, labels app=web", web)
	}
	for _, name := range []string{"gone", "half", "hollow", "nosuch"} {
		if _, err := m.PodMetricses("m").Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("get pod metrics %s = %v; want NotFound", name, err)
		}
	}
	for sel, want := range map[string]string{"app=web": "web", "app=db": "db", "app=none": ""} {
		l, err := m.PodMetricses("").List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			t.Fatalf("listing pod metrics with %s: %v", sel, err)
		}
		var got []string
		for _, p := range l.Items {
			got = append(got, p.Namespace+"/"+p.Name)
		}
		if w := strings.TrimSuffix("m/"+want, "m/"); strings.Join(got, ",") != w {
			t.Errorf("pod metrics in all namespaces with %s = %v; want %q", sel, got, w)
		}
	}
	if l, err := m.PodMetricses("m").List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=db"}); err != nil || len(l.Items) != 1 {
		t.Errorf("pod metrics with metadata.name=db = %v, %v; want db", l, err)
	}
	if _, err := m.PodMetricses("m").List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=n1"}); !apierrors.IsBadRequest(err) {
		t.Errorf("pod metrics with field spec.nodeName = %v; want BadRequest", err)
	}
	if _, err := m.PodMetricses("other").List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("pod metrics of a namespace without pods = %v; want an empty list", err)
	}

	fk.mu.Lock()
	reads, users := fk.reads, fk.users
	fk.mu.Unlock()
	if reads == 0 || reads > 3 {
		t.Errorf("the kubelet was read %d times; want once or a few (reads are cached for a few seconds)", reads)
	}
	for _, u := range users {
		if u != "kube-apiserver-kubelet-client" {
			t.Errorf("the apiserver read the kubelet as %q; want kube-apiserver-kubelet-client", u)
		}
	}
}

func TestMetricsAPIDiscoveryAndVerbs(t *testing.T) {
	c := tendtest.Start(t, tendtest.Options{})
	groups, err := c.Client().Discovery().ServerGroups()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, g := range groups.Groups {
		if g.Name == "metrics.k8s.io" && g.PreferredVersion.Version == "v1beta1" {
			found = true
		}
	}
	if !found {
		t.Errorf("discovery groups lack metrics.k8s.io/v1beta1")
	}
	rl, err := c.Client().Discovery().ServerResourcesForGroupVersion("metrics.k8s.io/v1beta1")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rl.APIResources {
		got = append(got, r.Name+":"+r.Kind+":"+strconv.FormatBool(r.Namespaced)+":"+strings.Join(r.Verbs, "/"))
	}
	if g, want := strings.Join(got, ","), "nodes:NodeMetrics:false:get/list,pods:PodMetrics:true:get/list"; g != want {
		t.Errorf("metrics.k8s.io resources = %s; want %s", g, want)
	}

	raw := newRawClient(t, c)
	for _, tc := range []struct {
		method, path string
		code         int
	}{
		{"GET", "/apis/metrics.k8s.io/v1beta1/nodes", 200},
		{"GET", "/apis/metrics.k8s.io/v1beta1/pods", 200},
		{"GET", "/apis/metrics.k8s.io/v1beta1/nodes?watch=true", 405},
		{"DELETE", "/apis/metrics.k8s.io/v1beta1/nodes/x", 405},
		{"GET", "/apis/metrics.k8s.io/v1beta1/namespaces/x/nodes", 404},
		{"GET", "/apis/metrics.k8s.io/v1beta1/services", 404},
		{"GET", "/apis/metrics.k8s.io/v1beta1/nodes?labelSelector=a%20in", 400},
		{"GET", "/openapi/v3/apis/metrics.k8s.io/v1beta1", 200},
	} {
		req, _ := http.NewRequest(tc.method, c.URL()+tc.path, nil)
		resp, err := raw.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.code {
			t.Errorf("%s %s = %d; want %d", tc.method, tc.path, resp.StatusCode, tc.code)
		}
	}
}

// TestKubectlTop runs the real kubectl against the metrics API.
func TestKubectlTop(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("no kubectl")
	}
	c, _ := metricsCluster(t)
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(kubectl, append([]string{"--kubeconfig", c.KubeconfigPath()}, args...)...)
		cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	out := run("top", "node")
	t.Log(out)
	if !strings.Contains(out, "n1") || !strings.Contains(out, "1500m") || !strings.Contains(out, "37%") || !strings.Contains(out, "2048Mi") || !strings.Contains(out, "25%") {
		t.Errorf("kubectl top node:\n%s\nwant n1 with 1500m (37%%) and 2048Mi (25%%)", out)
	}
	out = run("top", "pod", "-n", "m", "--containers")
	t.Log(out)
	for _, want := range []string{"web", "app", "250m", "64Mi", "db", "128Mi"} {
		if !strings.Contains(out, want) {
			t.Errorf("kubectl top pod --containers:\n%s\nwant %s", out, want)
		}
	}
	out = run("top", "pod", "-A", "-l", "app=db")
	if !strings.Contains(out, "db") || strings.Contains(out, "web") {
		t.Errorf("kubectl top pod -A -l app=db:\n%s\nwant db only", out)
	}
}
