package runc

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/tendhq/tend/kubelet"
	"github.com/tendhq/tend/kubelet/images"
	"github.com/tendhq/tend/test/netnstest"
	"github.com/tendhq/tend/test/testapp/testimage"
)

// testappStore is an image store holding the project's test image as
// example.local/testapp:1.
func testappStore(t *testing.T, dir string) *images.Store {
	t.Helper()
	store, err := images.Open(filepath.Join(dir, "images"))
	if err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(dir, "testapp.tar")
	testimage.Archive(t, archive, "example.local/testapp:1")
	if _, err := store.Import(context.Background(), archive); err != nil {
		t.Fatal(err)
	}
	return store
}

func waitStatus(t *testing.T, rt *Runtime, id string, done func(kubelet.ContainerStatus) bool) kubelet.ContainerStatus {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := rt.ContainerStatus(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if done(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("container %s is still %+v after 20 s", id, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRuntimeLifecycle drives the runtime as the kubelet does, for a
// host-network pod (the pod network has tests of its own): a sandbox, a
// container that exits with a code and a termination message, one stopped
// with SIGTERM, probes, adoption by a second Runtime on the same state, and
// removal leaving nothing behind.
func TestRuntimeLifecycle(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("running containers needs root")
	}
	ctx := context.Background()
	dir := t.TempDir()
	store := testappStore(t, dir)
	cfg := Config{Root: filepath.Join(dir, "runtime"), Images: store, CgroupParent: "tend-test", Logf: t.Logf}
	rt, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-0", Namespace: "default", UID: "uid-1"},
		Spec: corev1.PodSpec{HostNetwork: true}}
	sbID, err := rt.RunPodSandbox(ctx, kubelet.SandboxConfig{PodUID: pod.UID, Namespace: "default", Name: "web-0",
		Hostname: "web-0", HostNetwork: true, Pod: pod})
	if err != nil {
		t.Fatal(err)
	}
	removed := false
	t.Cleanup(func() {
		if !removed {
			_ = rt.RemovePodSandbox(ctx, sbID)
		}
	})
	if sbs, _ := rt.ListPodSandboxes(ctx, pod.UID); len(sbs) != 1 || sbs[0].State != kubelet.SandboxReady {
		t.Fatalf("ListPodSandboxes = %+v; want one Ready", sbs)
	}

	// The kubelet's resolved env, expanded command and volume mounts win
	// over the spec's.
	volume := t.TempDir()
	if err := os.WriteFile(filepath.Join(volume, "greeting"), []byte("from a volume\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	once := &corev1.Container{Name: "once", Image: "example.local/testapp:1", Command: []string{"/testapp", "false"}}
	id, err := rt.CreateContainer(ctx, sbID, kubelet.ContainerConfig{Spec: once, Pod: pod,
		Env:     []string{"GREETING=from the kubelet"},
		Command: []string{"/testapp", "sh", "-c", "echo hello; env; hostname; cat /vol/greeting; write /vol/out written; write /dev/termination-log bye; exit 3"},
		Mounts:  []kubelet.Mount{{HostPath: volume, ContainerPath: "/vol"}}})
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := rt.ContainerStatus(ctx, id); st.State != kubelet.ContainerCreated || !strings.HasPrefix(st.ImageRef, "sha256:") && !strings.Contains(st.ImageRef, "@sha256:") {
		t.Errorf("status after create = %+v; want created with an image digest", st)
	}
	if err := rt.StartContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	st := waitStatus(t, rt, id, func(s kubelet.ContainerStatus) bool { return s.State == kubelet.ContainerExited })
	if st.ExitCode != 3 || st.Reason != "Error" || st.Message != "bye" || st.StartedAt.IsZero() || st.FinishedAt.Before(st.StartedAt) {
		t.Errorf("exited status = %+v; want code 3, Error, message bye", st)
	}
	rec, _ := rt.container(id)
	logs, err := os.ReadFile(rec.LogPath)
	if err != nil || !strings.Contains(string(logs), " stdout F hello\n") || !strings.Contains(string(logs), " stdout F web-0\n") ||
		!strings.Contains(string(logs), " stdout F from a volume\n") || !strings.Contains(string(logs), " stdout F GREETING=from the kubelet\n") {
		t.Errorf("log = %q, %v; want hello, GREETING, the pod's hostname and the volume's file", logs, err)
	}
	if b, err := os.ReadFile(filepath.Join(volume, "out")); err != nil || string(b) != "written" {
		t.Errorf("file the container wrote to its volume = %q, %v; want written", b, err)
	}
	if st.LogPath != rec.LogPath {
		t.Errorf("status LogPath = %q; want %q", st.LogPath, rec.LogPath)
	}
	if !strings.Contains(rec.LogPath, "default_web-0_uid-1/once/0.log") {
		t.Errorf("log path %s; want NAMESPACE_NAME_UID/CONTAINER/RESTART.log", rec.LogPath)
	}

	long := &corev1.Container{Name: "long", Image: "example.local/testapp:1", Command: []string{"/testapp", "sleep", "infinity"}}
	longID, err := rt.CreateContainer(ctx, sbID, kubelet.ContainerConfig{Spec: long, Pod: pod, RestartCount: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.StartContainer(ctx, longID); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, rt, longID, func(s kubelet.ContainerStatus) bool { return s.State == kubelet.ContainerRunning })
	for _, tt := range []struct {
		cmd  []string
		pass bool
	}{{[]string{"/testapp", "true"}, true}, {[]string{"/testapp", "false"}, false}} {
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		res, err := rt.Probe(pctx, longID, kubelet.LivenessProbe, &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: tt.cmd}}})
		cancel()
		if err != nil || res.Success != tt.pass {
			t.Errorf("exec probe %v = %+v, %v; want success %t", tt.cmd, res, err, tt.pass)
		}
	}
	if stats, err := rt.Stats(ctx, longID); err != nil || stats.MemoryWorkingSetBytes == 0 {
		t.Errorf("Stats = %+v, %v; want some memory", stats, err)
	}

	// A second runtime on the same state (the kubelet started again)
	// adopts what runs.
	rt2, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := rt2.ContainerStatus(ctx, longID); err != nil || st.State != kubelet.ContainerRunning || st.RestartCount != 2 {
		t.Errorf("adopted status = %+v, %v; want running, restart count 2", st, err)
	}
	if st, _ := rt2.ContainerStatus(ctx, id); st.State != kubelet.ContainerExited || st.ExitCode != 3 {
		t.Errorf("adopted exited container = %+v; want exited 3", st)
	}
	if sbs, _ := rt2.ListPodSandboxes(ctx, ""); len(sbs) != 1 || sbs[0].State != kubelet.SandboxReady {
		t.Errorf("adopted sandboxes = %+v; want one Ready", sbs)
	}
	start := time.Now()
	if err := rt2.StopContainer(ctx, longID, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if st, _ := rt2.ContainerStatus(ctx, longID); st.State != kubelet.ContainerExited || st.ExitCode != 143 || time.Since(start) > 9*time.Second {
		t.Errorf("after SIGTERM: %+v after %v; want exited 143 well before the grace ran out", st, time.Since(start))
	}
	if err := rt2.RemovePodSandbox(ctx, sbID); err != nil {
		t.Fatal(err)
	}
	removed = true
	if cs, _ := rt2.ListContainers(ctx, ""); len(cs) != 0 {
		t.Errorf("containers after RemovePodSandbox = %+v; want none", cs)
	}
	if m, _ := isMountPoint(filepath.Join(cfg.Root, "containers", longID, "rootfs")); m {
		t.Error("a container's root is still mounted")
	}
	if left, _ := filepath.Glob("/sys/fs/cgroup/*/tend-test/poduid-1"); len(left) != 0 {
		t.Errorf("pod cgroups left: %v", left)
	}
	removeCgroupParents(t, "tend-test")
}

func TestCreateContainerErrors(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("sandboxes need root")
	}
	ctx := context.Background()
	dir := t.TempDir()
	store := testappStore(t, dir)
	rt, err := New(Config{Root: filepath.Join(dir, "runtime"), Images: store, CgroupParent: "tend-test"})
	if err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default", UID: "uid-2"}, Spec: corev1.PodSpec{HostNetwork: true}}
	sbID, err := rt.RunPodSandbox(ctx, kubelet.SandboxConfig{PodUID: pod.UID, Namespace: "default", Name: "p", Hostname: "p", HostNetwork: true, Pod: pod})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.RemovePodSandbox(ctx, sbID); removeCgroupParents(t, "tend-test") })
	for _, tt := range []struct {
		c    *corev1.Container
		want string
	}{
		{&corev1.Container{Name: "a", Image: "example.local/missing:1"}, `image "example.local/missing:1" is not present on the node`},
		{&corev1.Container{Name: "b", Image: "example.local/testapp:1", SecurityContext: &corev1.SecurityContext{RunAsNonRoot: boolp(true)}},
			"container has runAsNonRoot and image will run as root"},
	} {
		if _, err := rt.CreateContainer(ctx, sbID, kubelet.ContainerConfig{Spec: tt.c, Pod: pod}); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("CreateContainer(%s) = %v; want %q", tt.c.Name, err, tt.want)
		}
	}
	if cs, _ := rt.ListContainers(ctx, ""); len(cs) != 0 {
		t.Errorf("failed creates left containers: %+v", cs)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "runtime", "containers")); len(entries) != 0 {
		t.Errorf("failed creates left %d container directories", len(entries))
	}
	if _, err := rt.CreateContainer(ctx, "nosuchsandbox", kubelet.ContainerConfig{Spec: &corev1.Container{Name: "c"}}); err == nil {
		t.Error("CreateContainer in a missing sandbox = nil error")
	}
}

// TestPodNetwork: pods get their address on the node's bridge and reach
// each other; HTTP and TCP probes reach them from the node; a host port
// reaches a pod from the node.
func TestPodNetwork(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root")
	}
	if !netnstest.Rerun(t) {
		return
	}
	ctx := context.Background()
	dir := t.TempDir()
	store := testappStore(t, dir)
	rt, err := New(Config{Root: filepath.Join(dir, "runtime"), Images: store, CgroupParent: "tend-test", Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := rt.Status(ctx); st.Network.Ready {
		t.Error("the network is ready before the node has a pod CIDR")
	}
	if err := rt.UpdatePodCIDR(ctx, "10.42.7.0/24"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.currentNetwork().Teardown(context.Background()) })
	if st, _ := rt.Status(ctx); !st.Network.Ready {
		t.Errorf("network not ready after UpdatePodCIDR: %+v", st.Network)
	}
	run := func(name, ip string, c *corev1.Container) (sandbox, container string) {
		t.Helper()
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name)},
			Spec: corev1.PodSpec{Containers: []corev1.Container{*c}}}
		sb, err := rt.RunPodSandbox(ctx, kubelet.SandboxConfig{PodUID: pod.UID, Namespace: "default", Name: name, Hostname: name, IP: ip, Pod: pod})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := rt.RemovePodSandbox(context.Background(), sb); err != nil {
				t.Errorf("RemovePodSandbox(%s): %v", name, err)
			}
			removeCgroupParents(t, "tend-test")
		})
		id, err := rt.CreateContainer(ctx, sb, kubelet.ContainerConfig{Spec: c, Pod: pod})
		if err != nil {
			t.Fatal(err)
		}
		if err := rt.StartContainer(ctx, id); err != nil {
			t.Fatal(err)
		}
		return sb, id
	}
	server := &corev1.Container{Name: "web", Image: "example.local/testapp:1", Command: []string{"/testapp", "serve", "--port", "8080"},
		Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, HostPort: 30080, Protocol: corev1.ProtocolTCP}}}
	_, web := run("web", "10.42.7.2", server)
	probe := func(p *corev1.Probe) kubelet.ProbeResult {
		pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		res, err := rt.Probe(pctx, web, kubelet.ReadinessProbe, p)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	httpProbe := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/readyz", Port: intstr.FromString("http")}}}
	deadline := time.Now().Add(10 * time.Second)
	for !probe(httpProbe).Success && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if res := probe(httpProbe); !res.Success {
		t.Fatalf("HTTP probe of a serving pod = %+v; want success", res)
	}
	if res := probe(&corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(8080)}}}); !res.Success {
		t.Errorf("TCP probe = %+v; want success", res)
	}
	if res := probe(&corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(9999)}}}); res.Success || !strings.Contains(res.Output, "refused") {
		t.Errorf("TCP probe of a closed port = %+v; want a refusal", res)
	}
	// The pod turns unready.
	if res := probe(&corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"/testapp", "write", "/tmp/unready", "x"}}}}); !res.Success {
		t.Fatalf("exec write = %+v", res)
	}
	if res := probe(httpProbe); res.Success || res.Output != "HTTP probe failed with statuscode: 503" {
		t.Errorf("HTTP probe of an unready pod = %+v; want the upstream failure", res)
	}

	// Another pod reaches it by its address.
	client := &corev1.Container{Name: "client", Image: "example.local/testapp:1", Command: []string{"/testapp", "connect", "10.42.7.2:8080"}}
	_, cid := run("client", "10.42.7.3", client)
	st := waitStatus(t, rt, cid, func(s kubelet.ContainerStatus) bool { return s.State == kubelet.ContainerExited })
	if st.ExitCode != 0 {
		rec, _ := rt.container(cid)
		logs, _ := os.ReadFile(rec.LogPath)
		t.Errorf("a pod connecting to another = exit %d, log %q; want 0", st.ExitCode, logs)
	}
	// The node reaches it through its host port.
	gw := rt.currentNetwork().Gateway()
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + net.JoinHostPort(gw.String(), "30080") + "/")
	if err != nil {
		t.Fatalf("GET through the host port: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.TrimSpace(string(body)) != "web" {
		t.Errorf("through the host port the pod answered %q; want its hostname web", body)
	}
}
