package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/utils/exec"
)

const streamingPods = `apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
  - name: web
    image: example.local/testapp:1
    args: ["serve", "--port", "8080"]
---
apiVersion: v1
kind: Pod
metadata:
  name: talker
spec:
  restartPolicy: Always
  containers:
  - name: talker
    image: example.local/testapp:1
    command: ["/testapp", "sh", "-c", "echo started; echo line 1; echo line 2; echo line 3; sleep 2; exit 1"]
`

// TestStreaming: with the real kubectl through the apiserver to the node's
// kubelet server: logs (tail, timestamps, limit, follow, previous after a
// restart), exec with exit codes and stdin, cp both ways, and
// port-forward.
func TestStreaming(t *testing.T) {
	s, k, ok := realServer(t)
	if !ok {
		return
	}
	k.withStdin(streamingPods).ok(t, "apply", "-f", "-")
	pod := func(name string) corev1.Pod { return getPod(t, k, name) }
	eventually(t, "pod web Running", func() (bool, string) {
		p := pod("web")
		return p.Status.Phase == corev1.PodRunning, string(p.Status.Phase)
	})
	eventually(t, "web's server listening", func() (bool, string) {
		out := k.run(t, "logs", "web")
		return strings.Contains(out.stdout, "listening on"), out.String()
	})

	// Exec: output, exit codes, stdin.
	if out := k.ok(t, "exec", "web", "--", "/testapp", "echo", "hello", "exec"); out != "hello exec\n" {
		t.Errorf("kubectl exec echo = %q; want hello exec", out)
	}
	if r := k.run(t, "exec", "web", "--", "/testapp", "exit", "7"); r.code != 7 {
		t.Errorf("kubectl exec exit 7: %s\nwant exit code 7", r)
	}
	if out := k.withStdin("from stdin\n").ok(t, "exec", "-i", "web", "--", "/testapp", "cat"); out != "from stdin\n" {
		t.Errorf("kubectl exec -i cat = %q; want what it was given", out)
	}

	// The WebSocket v5 protocol alone (kubectl tries it first and falls
	// back to SPDY): the apiserver translates it to SPDY for the kubelet.
	v5Exec(t, s, "web", "hello v5\n", []string{"/testapp", "cat"}, "hello v5\n", 0)
	v5Exec(t, s, "web", "", []string{"/testapp", "exit", "3"}, "", 3)

	// cp both ways.
	local := t.TempDir()
	if err := os.WriteFile(filepath.Join(local, "in.txt"), []byte("copied in\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	k.ok(t, "cp", filepath.Join(local, "in.txt"), "web:/tmp/in.txt")
	if out := k.ok(t, "exec", "web", "--", "/testapp", "cat", "/tmp/in.txt"); out != "copied in\n" {
		t.Errorf("file copied in = %q; want copied in", out)
	}
	k.ok(t, "cp", "web:/tmp/in.txt", filepath.Join(local, "out.txt"))
	if b, err := os.ReadFile(filepath.Join(local, "out.txt")); err != nil || string(b) != "copied in\n" {
		t.Errorf("file copied out = %q, %v; want copied in", b, err)
	}

	// Port-forward, then an HTTP GET on the forwarded loopback port.
	pf := k.start(t, "port-forward", "pod/web", ":8080")
	re := regexp.MustCompile(`Forwarding from 127\.0\.0\.1:(\d+) -> 8080`)
	pf.waitFor(t, "port-forward ready", func(out string) bool { return re.MatchString(out) })
	port := re.FindStringSubmatch(pf.stdout.String())[1]
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://127.0.0.1:" + port + "/")
	if err != nil {
		t.Fatalf("GET through port-forward: %v\n%s", err, pf)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.TrimSpace(string(body)) != "web" {
		t.Errorf("through port-forward the pod answered %q; want its hostname web", body)
	}
	pf.stop()
	// The same over SPDY tunnelled through a WebSocket alone (kubectl 1.31+
	// tries it first and falls back to SPDY).
	if got := tunnelledGet(t, s, "web", 8080); got != "web" {
		t.Errorf("through a WebSocket-tunnelled port-forward the pod answered %q; want its hostname web", got)
	}

	// Logs: a container that restarts; its previous instance's log.
	eventually(t, "talker restarted", func() (bool, string) {
		p := pod("talker")
		cs := p.Status.ContainerStatuses
		return len(cs) == 1 && cs[0].RestartCount >= 1 && cs[0].State.Running != nil, fmt.Sprintf("%+v", cs)
	})
	eventually(t, "talker's current log", func() (bool, string) {
		out := k.run(t, "logs", "talker")
		return strings.Contains(out.stdout, "line 3"), out.String()
	})
	want := "started\nline 1\nline 2\nline 3\n"
	if out := k.ok(t, "logs", "talker", "--previous"); out != want {
		t.Errorf("kubectl logs --previous = %q; want %q", out, want)
	}
	if out := k.ok(t, "logs", "talker", "--tail=2"); out != "line 2\nline 3\n" {
		t.Errorf("kubectl logs --tail=2 = %q; want the last two lines", out)
	}
	if out := k.ok(t, "logs", "talker", "--limit-bytes=4"); out != "star" {
		t.Errorf("kubectl logs --limit-bytes=4 = %q; want star", out)
	}
	if out := k.ok(t, "logs", "talker", "--timestamps", "--tail=1"); !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\S+Z line 3\n$`).MatchString(out) {
		t.Errorf("kubectl logs --timestamps --tail=1 = %q; want a timestamp and line 3", out)
	}
	if out := k.ok(t, "logs", "talker", "--since=1h"); out != want {
		t.Errorf("kubectl logs --since=1h = %q; want all of it", out)
	}
	// Follow ends when the container does (it exits after 2 s).
	if out := k.ok(t, "logs", "-f", "talker"); !strings.HasSuffix(out, "line 3\n") {
		t.Errorf("kubectl logs -f = %q; want it to the end", out)
	}
	if r := k.run(t, "logs", "web", "--previous"); r.code == 0 || !strings.Contains(r.stderr, `previous terminated container "web" in pod "web" not found`) {
		t.Errorf("kubectl logs --previous of a container that never restarted: %s\nwant upstream's error", r)
	}
}

// v5Exec runs cmd in pod's first container over the WebSocket v5 remote
// command protocol only (no SPDY fallback), with stdin, and checks its
// output and exit code.
func v5Exec(t *testing.T, s *server, pod, stdin string, cmd []string, wantOut string, wantCode int) {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", s.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	q := url.Values{"command": cmd, "stdout": {"true"}, "stderr": {"true"}}
	if stdin != "" {
		q.Set("stdin", "true")
	}
	u := fmt.Sprintf("%s/api/v1/namespaces/default/pods/%s/exec?%s", cfg.Host, pod, q.Encode())
	exec, err := remotecommand.NewWebSocketExecutorForProtocols(cfg, "GET", u, "v5.channel.k8s.io")
	if err != nil {
		t.Fatal(err)
	}
	var out, errs strings.Builder
	opts := remotecommand.StreamOptions{Stdout: &out, Stderr: &errs}
	if stdin != "" {
		opts.Stdin = strings.NewReader(stdin)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	err = exec.StreamWithContext(ctx, opts)
	code := 0
	var exitErr utilexec.ExitError
	if errors.As(err, &exitErr) {
		code, err = exitErr.ExitStatus(), nil
	}
	if err != nil || code != wantCode || out.String() != wantOut {
		t.Errorf("exec %v over WebSocket v5: stdout %q, stderr %q, exit %d, %v; want stdout %q, exit %d",
			cmd, out.String(), errs.String(), code, err, wantOut, wantCode)
	}
}

// tunnelledGet forwards a local port to pod's port with SPDY tunnelled
// through a WebSocket (no SPDY fallback) and returns the body of a GET of
// / through it.
func tunnelledGet(t *testing.T, s *server, pod string, port int) string {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", s.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(fmt.Sprintf("%s/api/v1/namespaces/default/pods/%s/portforward", cfg.Host, pod))
	if err != nil {
		t.Fatal(err)
	}
	dialer, err := portforward.NewSPDYOverWebsocketDialer(u, cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop, ready := make(chan struct{}), make(chan struct{})
	var errOut strings.Builder
	pf, err := portforward.New(dialer, []string{fmt.Sprintf("0:%d", port)}, stop, ready, io.Discard, &errOut)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- pf.ForwardPorts() }()
	defer func() {
		close(stop)
		select { // a forwarder stuck in its dial does not hold the test up
		case <-done:
		case <-time.After(5 * time.Second):
		}
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("port-forward over a WebSocket tunnel: %v %s", err, errOut.String())
	case <-time.After(waitTimeout):
		t.Fatalf("port-forward over a WebSocket tunnel not ready after %v", waitTimeout)
	}
	ports, err := pf.GetPorts()
	if err != nil || len(ports) != 1 {
		t.Fatalf("forwarded ports %v, %v", ports, err)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(fmt.Sprintf("http://127.0.0.1:%d/", ports[0].Local))
	if err != nil {
		t.Fatalf("GET through a WebSocket-tunnelled port-forward: %v %s", err, errOut.String())
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(body))
}
