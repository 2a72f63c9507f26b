package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// TestRealPodVolumes: with the real runtime, two containers of one pod share
// localhost and an emptyDir; a container reads a configMap volume and env
// from a secret, a configMap key and its pod's fields; and deleting a pod
// runs its preStop hook (which writes to a hostPath volume) before the
// container is stopped.
func TestRealPodVolumes(t *testing.T) {
	s, k, ok := realServer(t)
	if !ok {
		return
	}
	hostDir := t.TempDir()
	k.withStdin(`apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  greeting: hello from a configmap
  color: blue
---
apiVersion: v1
kind: Secret
metadata:
  name: creds
stringData:
  password: s3cret
---
apiVersion: v1
kind: Pod
metadata:
  name: pair
  labels: {app: pair}
spec:
  volumes:
  - name: shared
    emptyDir: {}
  - name: settings
    configMap: {name: settings}
  containers:
  - name: server
    image: example.local/testapp:1
    args: ["serve", "--port", "8080"]
    volumeMounts:
    - {name: shared, mountPath: /shared}
  - name: client
    image: example.local/testapp:1
    command: ["/testapp", "sh", "-c", "write /shared/note from-the-client; cat /etc/settings/greeting; env; connect 127.0.0.1:8080; sleep infinity"]
    env:
    - name: PASSWORD
      valueFrom: {secretKeyRef: {name: creds, key: password}}
    - name: COLOR
      valueFrom: {configMapKeyRef: {name: settings, key: color}}
    - name: POD_NAME
      valueFrom: {fieldRef: {fieldPath: metadata.name}}
    - name: MESSAGE
      value: "$(POD_NAME) is $(COLOR)"
    volumeMounts:
    - {name: shared, mountPath: /shared}
    - {name: settings, mountPath: /etc/settings}
---
apiVersion: v1
kind: Pod
metadata:
  name: stopper
spec:
  terminationGracePeriodSeconds: 10
  volumes:
  - name: host
    hostPath: {path: `+hostDir+`, type: Directory}
  containers:
  - name: app
    image: example.local/testapp:1
    args: ["sleep", "infinity"]
    volumeMounts:
    - {name: host, mountPath: /host}
    lifecycle:
      preStop:
        exec:
          command: ["/testapp", "write", "/host/prestop", "ran"]
`).ok(t, "apply", "-f", "-")
	running := func(name string) {
		eventually(t, "pod "+name+" Running", func() (bool, string) {
			p := getPod(t, k, name)
			return p.Status.Phase == corev1.PodRunning, string(p.Status.Phase) + " " + k.ok(t, "get", "pod", name)
		})
	}
	running("pair")
	running("stopper")
	eventually(t, "the client's log", func() (bool, string) {
		logs, err := os.ReadFile(firstLog(t, s.dataDir, "pair", "client"))
		out := string(logs)
		for _, want := range []string{"hello from a configmap", "PASSWORD=s3cret", "COLOR=blue", "MESSAGE=pair is blue"} {
			if !strings.Contains(out, want) {
				return false, fmt.Sprintf("%v: missing %q in %q", err, want, out)
			}
		}
		return true, ""
	})
	// The server container sees the file the client wrote in their emptyDir.
	eventually(t, "the shared emptyDir", func() (bool, string) {
		matches, _ := filepath.Glob(filepath.Join(s.dataDir, "pods", "*", "volumes", "kubernetes.io~empty-dir", "shared", "note"))
		if len(matches) != 1 {
			return false, fmt.Sprint(matches)
		}
		b, _ := os.ReadFile(matches[0])
		return string(b) == "from-the-client", string(b)
	})
	k.ok(t, "delete", "pod", "stopper", "--wait=true", "--timeout=60s")
	if b, err := os.ReadFile(filepath.Join(hostDir, "prestop")); err != nil || string(b) != "ran" {
		t.Errorf("the preStop hook's file = %q, %v; want ran", b, err)
	}
}

// firstLog is the path of a pod's container's first log on the node.
func firstLog(t *testing.T, dataDir, pod, container string) string {
	t.Helper()
	matches, _ := filepath.Glob(filepath.Join(dataDir, "logs", "pods", "default_"+pod+"_*", container, "0.log"))
	if len(matches) != 1 {
		return filepath.Join(dataDir, "logs", "pods", "default_"+pod+"_?", container, "0.log")
	}
	return matches[0]
}
