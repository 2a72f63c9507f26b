package stats_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tendhq/tend/apiserver/pki"
	"github.com/tendhq/tend/kubelet"
	"github.com/tendhq/tend/kubelet/server"
	"github.com/tendhq/tend/kubelet/simulated"
	"github.com/tendhq/tend/kubelet/stats"
	"github.com/tendhq/tend/tendtest"
)

// TestKubectlTopThroughTheKubeletServer wires a node as tend's agent does:
// the stats endpoints on the kubelet's HTTPS server (client certificates of
// the cluster CA), the node's kubelet port in its status, and reads it with
// the real kubectl through the apiserver's metrics.k8s.io.
func TestKubectlTopThroughTheKubeletServer(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("no kubectl")
	}
	c := tendtest.Start(t, tendtest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// A simulated node running pod default/web with 300m and 100Mi.
	cs := c.Client()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "app", Image: "nginx"}}}}
	if pod, err = cs.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rt := simulated.New(simulated.Config{StartDelay: -1})
	if err := rt.UpdatePodCIDR(ctx, "10.42.0.0/24"); err != nil {
		t.Fatal(err)
	}
	sb, err := rt.RunPodSandbox(ctx, kubelet.SandboxConfig{PodUID: pod.UID, Namespace: "default", Name: "web", IP: "10.42.0.2",
		Annotations: map[string]string{simulated.CPU: "300m", simulated.Memory: "100Mi"}})
	if err != nil {
		t.Fatal(err)
	}
	id, err := rt.CreateContainer(ctx, sb, kubelet.ContainerConfig{Spec: &corev1.Container{Name: "app", Image: "nginx"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.StartContainer(ctx, id); err != nil {
		t.Fatal(err)
	}

	ca, err := pki.LoadOrCreateCA(filepath.Join(c.Dir(), "pki"), "tend-ca")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Serving(t.TempDir(), "kubelet-n1", []string{"n1", "localhost"}, []net.IP{net.ParseIP("127.0.0.1")})
	if err != nil {
		t.Fatal(err)
	}
	cert, err := leaf.TLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{Certificate: cert, ClientCAs: ca.Pool(), Runtime: rt,
		GetPod: func(string, string) (*corev1.Pod, bool) { return nil, false }})
	if err != nil {
		t.Fatal(err)
	}
	p, err := stats.New(stats.Config{NodeName: "n1", Runtime: rt})
	if err != nil {
		t.Fatal(err)
	}
	stats.Install(srv, p, t.Logf)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srvCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(srvCtx, ln)
	}()
	t.Cleanup(func() {
		stop()
		<-done
	})

	node, err := cs.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	node.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}}
	node.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(ln.Addr().(*net.TCPAddr).Port)
	node.Status.Allocatable = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("1Gi")}
	if _, err := cs.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	run := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, kubectl, append([]string{"--kubeconfig", c.KubeconfigPath()}, args...)...)
		cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	if out := run("top", "node"); !strings.Contains(out, "n1") || !strings.Contains(out, "300m") || !strings.Contains(out, "15%") || !strings.Contains(out, "100Mi") {
		t.Errorf("kubectl top node:\n%s\nwant n1 at 300m (15%%) and 100Mi (the sum of its pods)", out)
	}
	if out := run("top", "pod"); !strings.Contains(out, "web") || !strings.Contains(out, "300m") || !strings.Contains(out, "100Mi") {
		t.Errorf("kubectl top pod:\n%s\nwant web at 300m and 100Mi", out)
	}
}
