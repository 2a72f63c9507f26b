package runc

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tendhq/tend/kubelet"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestExecAttachPortForward: commands run in a running container with its
// environment, exit codes, stdin and a terminal; attach follows its
// output and feeds its stdin; port-forward reaches its server on the
// pod's loopback; the log rotates past its maximum size.
func TestExecAttachPortForward(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("running containers needs root")
	}
	ctx := context.Background()
	dir := t.TempDir()
	store := testappStore(t, dir)
	rt, err := New(Config{Root: filepath.Join(dir, "runtime"), Images: store, CgroupParent: "tend-test", Logf: t.Logf,
		ContainerLogMaxSize: 200, ContainerLogMaxFiles: 3})
	if err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "ex", Namespace: "default", UID: "uid-ex"},
		Spec: corev1.PodSpec{HostNetwork: true}}
	sbID, err := rt.RunPodSandbox(ctx, kubelet.SandboxConfig{PodUID: pod.UID, Namespace: "default", Name: "ex",
		Hostname: "ex", HostNetwork: true, Pod: pod})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := rt.RemovePodSandbox(context.Background(), sbID); err != nil {
			t.Error(err)
		}
		removeCgroupParents(t, "tend-test")
	})
	start := func(c *corev1.Container) string {
		t.Helper()
		id, err := rt.CreateContainer(ctx, sbID, kubelet.ContainerConfig{Spec: c, Pod: pod, Env: []string{"GREETING=hi"}})
		if err != nil {
			t.Fatal(err)
		}
		if err := rt.StartContainer(ctx, id); err != nil {
			t.Fatal(err)
		}
		waitStatus(t, rt, id, func(s kubelet.ContainerStatus) bool { return s.State == kubelet.ContainerRunning })
		return id
	}
	// A port no other test uses, on the host's loopback (a host-network pod).
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	web := start(&corev1.Container{Name: "web", Image: "example.local/testapp:1",
		Command: []string{"/testapp", "serve", "--port", strconv.Itoa(port), "--bind", "127.0.0.1"}})

	for _, tt := range []struct {
		name      string
		cmd       []string
		stdin     string
		code      int
		out, errs string
	}{
		{name: "env", cmd: []string{"/testapp", "env"}, out: "GREETING=hi\n"},
		{name: "exit-code", cmd: []string{"/testapp", "sh", "-c", "echo before; exit 7"}, code: 7, out: "before\n"},
		{name: "stdin", cmd: []string{"/testapp", "cat"}, stdin: "from stdin\n", out: "from stdin\n"},
		{name: "stderr", cmd: []string{"/testapp", "cat", "/nonexistent"}, code: 1, errs: "no such file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out, errs bytes.Buffer
			opts := kubelet.ExecOptions{Cmd: tt.cmd, Stdout: &out, Stderr: &errs}
			if tt.stdin != "" {
				opts.Stdin = strings.NewReader(tt.stdin)
			}
			ectx, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			code, err := rt.Exec(ectx, web, opts)
			if err != nil || code != tt.code || !strings.Contains(out.String(), tt.out) || !strings.Contains(errs.String(), tt.errs) {
				t.Errorf("Exec(%q) = %d, %v, stdout %q, stderr %q; want %d, stdout with %q, stderr with %q",
					tt.cmd, code, err, out.String(), errs.String(), tt.code, tt.out, tt.errs)
			}
		})
	}

	t.Run("tty", func(t *testing.T) {
		var out syncBuffer
		stdinR, stdinW := io.Pipe()
		resize := make(chan kubelet.TerminalSize, 1)
		resize <- kubelet.TerminalSize{Width: 100, Height: 30}
		ectx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		go func() {
			_, _ = stdinW.Write([]byte("typed\n"))
			// The terminal echoes the line and cat repeats it; then ^D ends cat's input.
			deadline := time.Now().Add(10 * time.Second)
			for strings.Count(out.String(), "typed") < 2 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			_, _ = stdinW.Write([]byte{4})
		}()
		code, err := rt.Exec(ectx, web, kubelet.ExecOptions{Cmd: []string{"/testapp", "cat"}, Stdin: stdinR, Stdout: &out, TTY: true, Resize: resize})
		stdinW.Close()
		if err != nil || code != 0 || strings.Count(out.String(), "typed") < 2 || !strings.Contains(out.String(), "\r\n") {
			t.Errorf("Exec with a terminal = %d, %v, output %q; want 0 and the line echoed by the terminal and by cat, with CRLF", code, err, out.String())
		}
	})

	t.Run("cancel-kills", func(t *testing.T) {
		ectx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		code, _ := rt.Exec(ectx, web, kubelet.ExecOptions{Cmd: []string{"/testapp", "sleep", "60"}})
		if code != 137 || time.Since(start) > 10*time.Second {
			t.Errorf("Exec of a sleep whose ctx ended = %d after %v; want 137 (SIGKILL) at once", code, time.Since(start))
		}
	})

	t.Run("port-forward", func(t *testing.T) {
		client, server := net.Pipe()
		done := make(chan error, 1)
		go func() { done <- rt.PortForward(ctx, sbID, int32(port), server) }()
		deadline := time.Now().Add(10 * time.Second)
		_, _ = client.Write([]byte("GET / HTTP/1.0\r\nHost: x\r\n\r\n"))
		_ = client.SetReadDeadline(deadline)
		resp, _ := io.ReadAll(client)
		client.Close()
		if !strings.Contains(string(resp), "200 OK") || !strings.Contains(string(resp), "\r\n\r\nex") {
			t.Errorf("HTTP through PortForward = %q; want 200 and the pod's hostname", resp)
		}
		if err := <-done; err != nil {
			t.Errorf("PortForward = %v", err)
		}
		if err := rt.PortForward(ctx, sbID, 1, server); err == nil || !strings.Contains(err.Error(), "failed to connect to localhost:1") {
			t.Errorf("PortForward to a closed port = %v; want a refusal", err)
		}
	})

	t.Run("attach-and-rotation", func(t *testing.T) {
		id := start(&corev1.Container{Name: "cat", Image: "example.local/testapp:1", Command: []string{"/testapp", "cat"}, Stdin: true})
		var out syncBuffer
		actx, cancel := context.WithCancel(ctx)
		defer cancel()
		stdinR, stdinW := io.Pipe()
		attached := make(chan error, 1)
		go func() { attached <- rt.Attach(actx, id, kubelet.ExecOptions{Stdin: stdinR, Stdout: &out}) }()
		line := strings.Repeat("y", 60)
		deadline := time.Now().Add(20 * time.Second)
		for i := 0; strings.Count(out.String(), line) < 8 && time.Now().Before(deadline); i++ {
			if i < 8 {
				_, _ = stdinW.Write([]byte(line + "\n"))
			}
			time.Sleep(50 * time.Millisecond)
		}
		if n := strings.Count(out.String(), line); n < 8 {
			t.Errorf("attach saw %d of the 8 lines written to its stdin (%q)", n, out.String())
		}
		cancel()
		stdinW.Close()
		if err := <-attached; err != nil {
			t.Errorf("Attach = %v", err)
		}
		rec, _ := rt.container(id)
		rotated, _ := filepath.Glob(rec.LogPath + ".*")
		if len(rotated) != 2 {
			t.Errorf("rotated logs = %v; want 2 (3 files at most, with the current one)", rotated)
		}
		if st, _ := os.Stat(rec.LogPath); st == nil || st.Size() > 200+200 {
			t.Errorf("current log = %v; want one under the maximum size plus a line", st)
		}
	})
}
