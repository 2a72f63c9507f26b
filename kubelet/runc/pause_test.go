package runc

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/specconv"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tendhq/tend/kubelet/images"
)

func nsInode(t *testing.T, path string) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// hostnameIn reads the hostname of a UTS namespace, from a thread that
// joins it and is then thrown away.
func hostnameIn(t *testing.T, ns string) string {
	t.Helper()
	out := make(chan string, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		f, err := os.Open(ns)
		if err != nil {
			out <- err.Error()
			return
		}
		defer f.Close()
		if err := unix.Unshare(unix.CLONE_FS); err != nil {
			out <- err.Error()
			return
		}
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWUTS); err != nil {
			out <- err.Error()
			return
		}
		h, err := os.Hostname()
		if err != nil {
			out <- err.Error()
			return
		}
		out <- h
	}()
	return <-out
}

func TestPauseHoldsThePodsNamespaces(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("new namespaces need root")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, hostNetwork := range []bool{false, true} {
		p, err := startPause(self, "web-0", hostNetwork)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = p.stop(time.Second) })
		if !p.alive() {
			t.Fatal("the sandbox process is not alive after start")
		}
		ownNet := nsInode(t, "/proc/self/ns/net") != nsInode(t, p.namespace("net"))
		if ownNet == hostNetwork {
			t.Errorf("hostNetwork %t: the sandbox has a network namespace of its own: %t", hostNetwork, ownNet)
		}
		if nsInode(t, "/proc/self/ns/uts") == nsInode(t, p.namespace("uts")) || nsInode(t, "/proc/self/ns/ipc") == nsInode(t, p.namespace("ipc")) {
			t.Error("the sandbox shares the node's UTS or IPC namespace")
		}
		deadline := time.Now().Add(5 * time.Second)
		for hostnameIn(t, p.namespace("uts")) != "web-0" && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if h := hostnameIn(t, p.namespace("uts")); h != "web-0" {
			t.Errorf("hostname in the sandbox = %q; want web-0", h)
		}
		if err := p.stop(5 * time.Second); err != nil {
			t.Fatal(err)
		}
		if p.alive() {
			t.Error("the sandbox process is alive after stop")
		}
	}
}

// TestContainerJoinsTheSandbox: a container in the sandbox's namespaces
// sees the pod's hostname and network namespace.
func TestContainerJoinsTheSandbox(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("running containers needs root")
	}
	self, _ := os.Executable()
	p, err := startPause(self, "pod-host", false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.stop(time.Second) })
	dir := t.TempDir()
	store, err := images.Open(filepath.Join(dir, "images"))
	if err != nil {
		t.Fatal(err)
	}
	img := probeImage(t, store)
	cf, _ := store.ConfigFile(img)
	cdir := filepath.Join(dir, "c")
	rootfs, err := mountRootfs(cdir, store.LayerDirs(img), testInitLayer(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unmountRootfs(cdir) })
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "pod", Namespace: "default", UID: "p2"}}
	s, err := Spec(ContainerSpec{Container: &corev1.Container{Name: "app"}, Pod: pod, Image: cf, Args: []string{"print"},
		Rootfs: rootfs, Hostname: "pod-host", CgroupsPath: "/tend-test/join",
		Namespaces: map[specs.LinuxNamespaceType]string{specs.NetworkNamespace: p.namespace("net"),
			specs.IPCNamespace: p.namespace("ipc"), specs.UTSNamespace: p.namespace("uts")}})
	if err != nil {
		t.Fatal(err)
	}
	if s.Hostname != "" {
		t.Errorf("spec hostname = %q in the sandbox's UTS namespace; want none", s.Hostname)
	}
	cfg, err := specconv.CreateLibcontainerConfig(&specconv.CreateOpts{CgroupName: "join", Spec: s})
	if err != nil {
		t.Fatal(err)
	}
	c, err := libcontainer.Create(filepath.Join(dir, "state"), "join", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Destroy()
		removeCgroupParents(t, "tend-test")
	})
	var out bytes.Buffer
	proc := &libcontainer.Process{Args: s.Process.Args, Env: s.Process.Env, Cwd: s.Process.Cwd, Stdout: &out, Stderr: &out, Init: true}
	if err := c.Run(proc); err != nil {
		t.Fatal(err)
	}
	if _, err := proc.Wait(); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if !bytes.Contains(out.Bytes(), []byte("hostname=pod-host")) {
		t.Errorf("the container printed %q; want the pod's hostname", out.String())
	}
}
