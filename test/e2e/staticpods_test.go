package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

const staticManifest = `apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web}
spec:
  containers:
  - name: web
    image: registry.local/web:1
`

// writeStatic writes a manifest the way a careful tool does: aside, then
// renamed into place.
func writeStatic(t *testing.T, dir, file, data string) {
	t.Helper()
	tmp := filepath.Join(dir, "."+file+".tmp")
	if err := os.WriteFile(tmp, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, file)); err != nil {
		t.Fatal(err)
	}
}

// podAsJSON is a pod as `kubectl get -o json` shows it; ok is false when
// kubectl finds none.
func podAsJSON(t *testing.T, k *kubectl, name string) (corev1.Pod, bool) {
	t.Helper()
	var p corev1.Pod
	r := k.run(t, "get", "pod", name, "-o", "json")
	if r.code != 0 {
		if strings.Contains(r.stderr, "NotFound") {
			return p, false
		}
		t.Fatalf("%s", r)
	}
	if err := json.Unmarshal([]byte(r.stdout), &p); err != nil {
		t.Fatal(err)
	}
	return p, true
}

// mirrorListed waits for `kubectl get pods` to list the pod Running, 1/1, and
// returns it as kubectl gets it, once cond holds too.
func mirrorListed(t *testing.T, k *kubectl, name string, cond func(corev1.Pod) string) corev1.Pod {
	t.Helper()
	var p corev1.Pod
	eventually(t, "pod "+name+" Running in kubectl get pods", func() (bool, string) {
		out := k.ok(t, "get", "pods", "--no-headers")
		listed := false
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(line); len(f) >= 3 && f[0] == name && f[1] == "1/1" && f[2] == "Running" {
				listed = true
			}
		}
		if !listed {
			return false, out
		}
		var ok bool
		if p, ok = podAsJSON(t, k, name); !ok {
			return false, "gone again"
		}
		if _, mirror := p.Annotations["kubernetes.io/config.mirror"]; !mirror {
			return false, "not a mirror pod"
		}
		if msg := cond(p); msg != "" {
			return false, msg
		}
		return true, ""
	})
	return p
}

func container(p corev1.Pod) corev1.ContainerStatus {
	if len(p.Status.ContainerStatuses) != 1 {
		return corev1.ContainerStatus{}
	}
	return p.Status.ContainerStatuses[0]
}

func anyPod(corev1.Pod) string { return "" }

// TestStaticPods: `tend server --pod-manifest-path DIR` runs the pods of DIR's
// manifests on its node, each shown in the API as a mirror pod
// <name>-<node>. kubectl delete of a mirror pod gets it made again, the pod
// running on in the same container; an edited manifest replaces the pod; a
// removed one stops it and its mirror pod goes; a server started again on
// its data directory finds the same pod.
func TestStaticPods(t *testing.T) {
	dir := t.TempDir()
	writeStatic(t, dir, "web.yaml", staticManifest)
	writeStatic(t, dir, "broken.yaml", "kind: Pod\n")
	args := []string{"--node-name", "static-0", "--pod-manifest-path", dir, "--file-check-frequency", "1s"}
	s := startTend(t, "server", args...)
	k := s.kubectl(t)

	first := mirrorListed(t, k, "web-static-0", anyPod)
	hash := first.Annotations["kubernetes.io/config.hash"]
	if first.Annotations["kubernetes.io/config.mirror"] != hash || first.Annotations["kubernetes.io/config.source"] != "file" ||
		first.Spec.NodeName != "static-0" || len(first.OwnerReferences) != 1 || first.OwnerReferences[0].Kind != "Node" ||
		first.OwnerReferences[0].Name != "static-0" {
		t.Errorf("mirror pod annotations %v, node %q, owners %v; want config.mirror = config.hash, source file, node static-0 its owner",
			first.Annotations, first.Spec.NodeName, first.OwnerReferences)
	}
	eventually(t, "an event about broken.yaml", func() (bool, string) {
		out := k.ok(t, "get", "events", "--field-selector", "involvedObject.kind=Node,reason=FailedValidation")
		return strings.Contains(out, filepath.Join(dir, "broken.yaml")), out
	})

	// kubectl delete waits until the mirror pod is gone: the kubelet deletes
	// it at once and makes another; the pod itself runs on.
	k.ok(t, "delete", "pod", "web-static-0", "--timeout=60s")
	again := mirrorListed(t, k, "web-static-0", func(p corev1.Pod) string {
		if p.UID == first.UID {
			return "still the first mirror pod"
		}
		return ""
	})
	if c, c0 := container(again), container(first); c.ContainerID != c0.ContainerID || c.RestartCount != 0 {
		t.Errorf("after kubectl delete: container %s restarts %d; want %s, 0: the same container", c.ContainerID, c.RestartCount, c0.ContainerID)
	}

	writeStatic(t, dir, "web.yaml", strings.Replace(staticManifest, "web:1", "web:2", 1))
	edited := mirrorListed(t, k, "web-static-0", func(p corev1.Pod) string {
		if p.Spec.Containers[0].Image != "registry.local/web:2" {
			return "still the first version"
		}
		return ""
	})
	if edited.Annotations["kubernetes.io/config.hash"] == hash || container(edited).ContainerID == container(first).ContainerID {
		t.Errorf("after the edit: hash %s, container %s; want a new pod", edited.Annotations["kubernetes.io/config.hash"], container(edited).ContainerID)
	}

	if err := os.Remove(filepath.Join(dir, "web.yaml")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "mirror pod web-static-0 gone", func() (bool, string) {
		p, ok := podAsJSON(t, k, "web-static-0")
		return !ok, fmt.Sprintf("%s %s", p.UID, p.Status.Phase)
	})

	writeStatic(t, dir, "web.yaml", staticManifest)
	before := mirrorListed(t, k, "web-static-0", anyPod)
	s.stop(t)
	s = startTend(t, "server", append(args, "--data-dir", s.dataDir)...)
	k = s.kubectl(t)
	// The simulated runtime keeps nothing across processes, so the container
	// runs again (restart 1); the pod is the same: same UID, same mirror pod.
	after := mirrorListed(t, k, "web-static-0", func(p corev1.Pod) string {
		if container(p).RestartCount != 1 {
			return fmt.Sprintf("restarts %d", container(p).RestartCount)
		}
		return ""
	})
	if after.UID != before.UID || after.Annotations["kubernetes.io/config.hash"] != before.Annotations["kubernetes.io/config.hash"] {
		t.Errorf("after the restart: mirror pod %s of static pod %s; want %s of %s, the same", after.UID,
			after.Annotations["kubernetes.io/config.hash"], before.UID, before.Annotations["kubernetes.io/config.hash"])
	}
}

// TestStaticPodsSurviveRestartsReal: with real containers, kubectl logs and
// exec reach a static pod by its mirror pod's name, and the pod outlives
// `tend server`: started again on the same data directory, the server finds
// the same mirror pod and the same container, not restarted.
func TestStaticPodsSurviveRestartsReal(t *testing.T) {
	args, ok := realNode(t)
	if !ok {
		return
	}
	dir := t.TempDir()
	writeStatic(t, dir, "web.yaml", webPod)
	args = append(args, "--node-name", "static-real", "--pod-manifest-path", dir, "--file-check-frequency", "1s")
	start := func() *server {
		s := startTend(t, "server", args...)
		// Before the server stops (cleanups run last first), whatever
		// happened: the manifest goes, and with it the pod's processes.
		t.Cleanup(func() {
			select {
			case <-s.exited:
				return
			default:
			}
			_ = os.Remove(filepath.Join(dir, "web.yaml"))
			k := s.kubectl(t)
			eventually(t, "the static pod gone", func() (bool, string) {
				_, ok := podAsJSON(t, k, "web-static-real")
				return !ok, "web-static-real is still there"
			})
		})
		return s
	}
	s := start()
	k := s.kubectl(t)
	before := mirrorListed(t, k, "web-static-real", anyPod)
	// The kubelet server finds the static pod by its mirror pod's name.
	eventually(t, "kubectl logs of the static pod", func() (bool, string) {
		out := k.run(t, "logs", "web-static-real")
		return strings.Contains(out.stdout, "listening on"), out.String()
	})
	if out := k.ok(t, "exec", "web-static-real", "--", "/testapp", "echo", "hello", "static"); out != "hello static\n" {
		t.Errorf("kubectl exec in the static pod printed %q; want %q", out, "hello static\n")
	}
	s.stop(t)
	s = start()
	after := mirrorListed(t, s.kubectl(t), "web-static-real", anyPod)
	if after.UID != before.UID || container(after).ContainerID != container(before).ContainerID || container(after).RestartCount != 0 {
		t.Errorf("after the restart: mirror pod %s, container %s, restarts %d; want %s, %s, 0: the same pod, not restarted",
			after.UID, container(after).ContainerID, container(after).RestartCount, before.UID, container(before).ContainerID)
	}
}
