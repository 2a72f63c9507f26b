package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/tendhq/tend/kubelet/runc"
	"github.com/tendhq/tend/test/netnstest"
	"github.com/tendhq/tend/test/testapp/testimage"
)

// reexecBinaryEnv hands a test re-run in a child process (netnstest.Rerun)
// the tend binary its parent built.
const reexecBinaryEnv = "TEND_E2E_BINARY"

const realPods = `apiVersion: v1
kind: Pod
metadata:
  name: once
spec:
  restartPolicy: Never
  containers:
  - name: once
    image: example.local/testapp:1
    command: ["/testapp", "sh", "-c", "echo hello; write /dev/termination-log done"]
---
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
  - name: web
    image: example.local/testapp:1
    args: ["serve", "--port", "8080"]
    ports:
    - containerPort: 8080
    readinessProbe:
      httpGet: {path: /readyz, port: 8080}
      periodSeconds: 1
`

// realNode prepares a test of the real runtime and returns the arguments of
// `tend server` for it: the test re-runs itself in a network namespace of
// its own (realNode reports false in the parent, which has nothing more to
// do), pods' cgroups go under a root removed once the server stopped, and
// the project's test image is imported into the server's data directory.

// webPod is a pod of the test image serving HTTP on 8080, Ready once it
// answers /readyz.
const webPod = `apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
  - name: web
    image: example.local/testapp:1
    args: ["serve", "--port", "8080"]
    readinessProbe:
      httpGet: {path: /readyz, port: 8080}
      periodSeconds: 1
`

func realNode(t *testing.T) (serverArgs []string, ok bool) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("real containers need root")
	}
	if !netnstest.Rerun(t, reexecBinaryEnv+"="+tendBinary) {
		return nil, false
	}
	cgroupRoot := fmt.Sprintf("tend-e2e-%d", os.Getpid())
	t.Cleanup(func() {
		// After the server stopped (cleanups run last first): the pods'
		// cgroups are gone, their parent is the test's to remove.
		if err := runc.RemoveCgroup(cgroupRoot); err != nil {
			t.Error(err)
		}
	})
	dataDir := t.TempDir()
	archive := filepath.Join(t.TempDir(), "testapp.tar")
	testimage.Archive(t, archive, "example.local/testapp:1")
	if r := run(nil, "", tendBinary, "images", "import", archive, "--data-dir", dataDir); r.code != 0 {
		t.Fatalf("%s", r)
	}
	return []string{"--runtime", "runc", "--cgroup-root", cgroupRoot, "--data-dir", dataDir}, true
}

// realServer starts `tend server` on a real-runtime node (realNode) and
// returns it with a kubectl for it; every Deployment and pod is deleted
// when the test ends (containers outlive the server). ok is false in the
// parent process of the re-run, which has nothing more to do.
func realServer(t *testing.T) (s *server, k *kubectl, ok bool) {
	t.Helper()
	args, ok := realNode(t)
	if !ok {
		return nil, nil, false
	}
	s = startTend(t, "server", args...)
	k = s.kubectl(t)
	t.Cleanup(func() {
		k.run(t, "delete", "deployment", "--all", "--wait=true", "--timeout=60s")
		k.run(t, "delete", "pod", "--all", "--wait=true", "--timeout=60s")
	})
	return s, k, true
}

// getPod is a pod as kubectl gets it.
func getPod(t *testing.T, k *kubectl, name string) corev1.Pod {
	t.Helper()
	var p corev1.Pod
	if err := json.Unmarshal([]byte(k.ok(t, "get", "pod", name, "-o", "json")), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRealPods: `tend server --runtime runc` runs pods' processes for real,
// from an image imported with `tend images import`: a pod that runs to
// completion with its termination message, a server pod that turns Ready by
// its HTTP probe, and a pod that reaches it by its address.
func TestRealPods(t *testing.T) {
	_, k, ok := realServer(t)
	if !ok {
		return
	}
	k.withStdin(realPods).ok(t, "apply", "-f", "-")
	pod := func(name string) corev1.Pod { return getPod(t, k, name) }
	eventually(t, "pod once Succeeded", func() (bool, string) {
		p := pod("once")
		return p.Status.Phase == corev1.PodSucceeded, string(p.Status.Phase)
	})
	if cs := pod("once").Status.ContainerStatuses; len(cs) != 1 || cs[0].State.Terminated == nil ||
		cs[0].State.Terminated.Message != "done" || cs[0].State.Terminated.Reason != "Completed" || !strings.HasPrefix(cs[0].ContainerID, "runc://") {
		t.Errorf("once's container = %+v; want terminated Completed with message done, a runc:// ID", cs)
	}
	var ip string
	eventually(t, "pod web Ready", func() (bool, string) {
		p := pod("web")
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				ip = p.Status.PodIP
				return true, ""
			}
		}
		return false, string(p.Status.Phase) + " " + p.Status.PodIP
	})
	if !strings.HasPrefix(ip, "10.42.") {
		t.Errorf("web's pod IP = %q; want one from 10.42.0.0/16", ip)
	}
	client := `apiVersion: v1
kind: Pod
metadata:
  name: client
spec:
  restartPolicy: Never
  containers:
  - name: client
    image: example.local/testapp:1
    command: ["/testapp", "connect", "` + ip + `:8080"]
`
	k.withStdin(client).ok(t, "apply", "-f", "-")
	eventually(t, "pod client Succeeded", func() (bool, string) {
		p := pod("client")
		return p.Status.Phase == corev1.PodSucceeded, string(p.Status.Phase)
	})
	k.ok(t, "delete", "pod", "--all", "--wait=true", "--timeout=60s")
}

// TestRealPodsSurviveRestarts: the node's containers outlive its kubelet.
// After `tend server` is killed (SIGKILL) and started again on the same data
// directory, and after it is stopped (SIGTERM) and started again, the pod
// runs on in the same container: it answered all along, its container ID
// and restart count are the same, and no second container was made.
func TestRealPodsSurviveRestarts(t *testing.T) {
	args, ok := realNode(t)
	if !ok {
		return
	}
	start := func() *server {
		s := startTend(t, "server", args...)
		// Whatever happens, a server still running removes the pods
		// before it is stopped (cleanups run last first).
		t.Cleanup(func() {
			select {
			case <-s.exited:
			default:
				s.kubectl(t).run(t, "delete", "pod", "--all", "--wait=true", "--timeout=60s")
			}
		})
		return s
	}
	s := start()
	dataDir := s.dataDir
	k := s.kubectl(t)
	k.withStdin(webPod).ok(t, "apply", "-f", "-")
	type seen struct {
		id, ip   string
		restarts int32
	}
	ready := func(k *kubectl) seen {
		var got seen
		eventually(t, "pod web Ready", func() (bool, string) {
			p := getPod(t, k, "web")
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue && len(p.Status.ContainerStatuses) == 1 {
					cs := p.Status.ContainerStatuses[0]
					got = seen{cs.ContainerID, p.Status.PodIP, cs.RestartCount}
					return true, ""
				}
			}
			return false, string(p.Status.Phase)
		})
		return got
	}
	answers := func(ip string) error {
		c, err := net.DialTimeout("tcp", net.JoinHostPort(ip, "8080"), 5*time.Second)
		if err == nil {
			c.Close()
		}
		return err
	}
	first := ready(k)
	containers := func() []string {
		entries, _ := os.ReadDir(filepath.Join(dataDir, "runtime", "containers"))
		var ids []string
		for _, e := range entries {
			ids = append(ids, e.Name())
		}
		return ids
	}

	for _, restart := range []struct {
		how  string
		stop func(*server)
	}{{"SIGKILL", func(s *server) { s.kill(t) }}, {"SIGTERM", func(s *server) { s.stop(t) }}} {
		restart.stop(s)
		if err := answers(first.ip); err != nil {
			t.Errorf("after %s to the server, the pod does not answer: %v", restart.how, err)
		}
		s = start()
		again := ready(s.kubectl(t))
		if again != first {
			t.Errorf("after %s and a new start: pod web's container %+v; want %+v, the same", restart.how, again, first)
		}
		if ids := containers(); len(ids) != 1 || !strings.HasSuffix(first.id, ids[0]) {
			t.Errorf("after %s and a new start: containers on the node %v; want only %s", restart.how, ids, first.id)
		}
		if err := answers(first.ip); err != nil {
			t.Errorf("after %s and a new start, the pod does not answer: %v", restart.how, err)
		}
	}
}
