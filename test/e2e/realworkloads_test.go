package e2e

import (
	"strings"
	"testing"
)

// burnerDeployment's two pods each burn CPU up to their limit, 200m.
const burnerDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: burner
spec:
  replicas: 2
  selector:
    matchLabels: {app: burner}
  template:
    metadata:
      labels: {app: burner}
    spec:
      containers:
      - name: burner
        image: example.local/testapp:1
        args: ["burn-cpu", "1h"]
        resources:
          limits: {cpu: 200m, memory: 64Mi}
`

// TestRealRunDeploymentTop: as a new user would after the README's run
// command, with the real runtime and an imported image: `kubectl run` gives
// a Running pod whose process answers, `kubectl apply` of a Deployment rolls
// out its replicas, and `kubectl top node` and `kubectl top pod` show what the
// node's containers use, read from their cgroups.
func TestRealRunDeploymentTop(t *testing.T) {
	_, k, ok := realServer(t)
	if !ok {
		return
	}

	k.ok(t, "run", "solo", "--image=example.local/testapp:1", "--", "serve", "--port", "8080")
	k.ok(t, "wait", "--for=condition=Ready", "pod/solo", "--timeout=60s")
	if out := k.ok(t, "exec", "solo", "--", "/testapp", "connect", "127.0.0.1:8080"); out != "connected\n" {
		t.Errorf("connecting to solo's server from inside it printed %q; want connected", out)
	}

	k.withStdin(burnerDeployment).ok(t, "apply", "-f", "-")
	k.ok(t, "rollout", "status", "deployment/burner", "--timeout=60s")
	pods := strings.Fields(k.ok(t, "get", "pods", "-l", "app=burner", "-o", "jsonpath={.items[*].metadata.name}"))
	if len(pods) != 2 {
		t.Fatalf("deployment burner has pods %v; want 2", pods)
	}
	for _, name := range pods {
		if p := getPod(t, k, name); p.Status.Phase != "Running" || len(p.Status.ContainerStatuses) != 1 || p.Status.ContainerStatuses[0].State.Running == nil {
			t.Errorf("pod %s: phase %s, containers %+v; want Running", name, p.Status.Phase, p.Status.ContainerStatuses)
		}
	}

	// Metrics come from the kubelet's /stats/summary, each CPU figure a rate
	// between two readings: they show once the containers have run a while.
	eventually(t, "kubectl top node and pod with the burners' CPU", func() (bool, string) {
		node := k.run(t, "top", "node")
		pod := k.run(t, "top", "pod")
		if node.code != 0 || pod.code != 0 {
			return false, node.stderr + pod.stderr
		}
		for _, name := range append(pods, "solo") {
			if !strings.Contains(pod.stdout, name) {
				return false, pod.stdout
			}
		}
		// A burner uses its limit: hundreds of millicores.
		for _, l := range strings.Split(pod.stdout, "\n") {
			if f := strings.Fields(l); len(f) >= 3 && strings.HasPrefix(f[0], "burner") && (len(f[1]) < 4 || !strings.HasSuffix(f[1], "m")) {
				return false, pod.stdout
			}
		}
		return len(strings.Split(strings.TrimSpace(node.stdout), "\n")) == 2, node.stdout + pod.stdout
	})
}
