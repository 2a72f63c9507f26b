package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/transport/spdy"
	utilexec "k8s.io/utils/exec"

	"github.com/tendhq/tend/apiserver/pki"
	"github.com/tendhq/tend/kubelet"
	"github.com/tendhq/tend/kubelet/simulated"
)

// fakeRuntime is the simulated runtime with one container of its own and
// processes that are Go functions.
type fakeRuntime struct {
	*simulated.Runtime
	mu      sync.Mutex
	podUID  types.UID
	state   map[string]kubelet.ContainerState
	logPath map[string]string
}

var _ kubelet.ExecRuntime = (*fakeRuntime)(nil)

func (f *fakeRuntime) ContainerStatus(_ context.Context, id string) (kubelet.ContainerStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, ok := f.state[id]
	if !ok {
		return kubelet.ContainerStatus{}, fmt.Errorf("container %s: %w", id, kubelet.ErrNotFound)
	}
	return kubelet.ContainerStatus{ID: id, Name: "app", PodUID: f.podUID, State: st, LogPath: f.logPath[id]}, nil
}

func (f *fakeRuntime) ListContainers(ctx context.Context, _ types.UID) ([]kubelet.ContainerStatus, error) {
	var out []kubelet.ContainerStatus
	for _, id := range []string{"old", "cur"} {
		st, err := f.ContainerStatus(ctx, id)
		if err == nil {
			out = append(out, st)
		}
	}
	return out, nil
}

func (f *fakeRuntime) ListPodSandboxes(context.Context, types.UID) ([]kubelet.SandboxStatus, error) {
	return []kubelet.SandboxStatus{{ID: "sb", PodUID: f.podUID, State: kubelet.SandboxReady}}, nil
}

func (f *fakeRuntime) setState(id string, s kubelet.ContainerState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.state[id] = s
}

// Exec runs "upper" (stdin upper-cased to stdout), "fail N" (stderr, exit
// N) and "resize" (the first terminal size).
func (f *fakeRuntime) Exec(ctx context.Context, id string, opts kubelet.ExecOptions) (int, error) {
	if id != "cur" {
		return 0, fmt.Errorf("exec in %s; want the running instance cur", id)
	}
	switch opts.Cmd[0] {
	case "upper":
		b, err := io.ReadAll(opts.Stdin)
		if err != nil {
			return 0, err
		}
		_, _ = opts.Stdout.Write(bytes.ToUpper(b))
		return 0, nil
	case "fail":
		fmt.Fprintln(opts.Stderr, "failing")
		var n int
		fmt.Sscan(opts.Cmd[1], &n)
		return n, nil
	case "resize":
		select {
		case sz := <-opts.Resize:
			fmt.Fprintf(opts.Stdout, "%dx%d tty=%t", sz.Width, sz.Height, opts.TTY)
		case <-ctx.Done():
		}
		return 0, nil
	}
	return 127, nil
}

func (f *fakeRuntime) Attach(_ context.Context, _ string, opts kubelet.ExecOptions) error {
	_, err := io.WriteString(opts.Stdout, "attached\n")
	return err
}

// PortForward echoes what it reads, after "PORT ".
func (f *fakeRuntime) PortForward(_ context.Context, sandbox string, port int32, stream io.ReadWriteCloser) error {
	defer stream.Close()
	fmt.Fprintf(stream, "%d %s ", port, sandbox)
	buf := make([]byte, 5)
	if _, err := io.ReadFull(stream, buf); err != nil {
		return err
	}
	_, err := stream.Write(buf)
	return err
}

type testServer struct {
	url     string
	rest    *rest.Config // a client certificate from the CA
	anon    *http.Client
	rt      *fakeRuntime
	logPath string
}

// start runs a server on loopback for the pod default/web with container
// app: instance "cur" running (restarted once), "old" exited.
func start(t *testing.T) *testServer {
	t.Helper()
	dir := t.TempDir()
	ca, err := pki.LoadOrCreateCA(dir, "test-ca")
	if err != nil {
		t.Fatal(err)
	}
	serving, err := ca.Serving(dir, "kubelet", []string{"localhost"}, []net.IP{net.ParseIP("127.0.0.1")})
	if err != nil {
		t.Fatal(err)
	}
	client, err := ca.Client(dir, "apiserver-kubelet-client", "kube-apiserver-kubelet-client", nil)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := serving.TLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "uid-web"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}}},
		Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{Name: "app", ContainerID: "fake://cur", RestartCount: 1,
			State:                corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ContainerID: "fake://old"}}}}}}
	ts := &testServer{logPath: filepath.Join(dir, "1.log")}
	if err := os.WriteFile(filepath.Join(dir, "0.log"), []byte("2026-01-02T03:04:05.000000001Z stdout F from the old one\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ts.rt = &fakeRuntime{Runtime: simulated.New(simulated.Config{}), podUID: pod.UID,
		state:   map[string]kubelet.ContainerState{"cur": kubelet.ContainerRunning, "old": kubelet.ContainerExited},
		logPath: map[string]string{"cur": ts.logPath, "old": filepath.Join(dir, "0.log")}}
	s, err := New(Config{Address: "127.0.0.1:0", Certificate: cert, ClientCAs: ca.Pool(), Runtime: ts.rt, LogPollInterval: 10 * time.Millisecond,
		GetPod: func(ns, name string) (*corev1.Pod, bool) {
			if ns == pod.Namespace && name == pod.Name {
				return pod, true
			}
			return nil, false
		},
		ListPods: func() []*corev1.Pod { return []*corev1.Pod{pod} },
		Logf:     t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	select {
	case <-s.Ready():
	case err := <-done:
		t.Fatal(err)
	}
	ts.url = "https://" + s.Addr().String()
	ts.rest = &rest.Config{Host: ts.url, TLSClientConfig: rest.TLSClientConfig{CAData: ca.CertPEM, CertData: client.CertPEM, KeyData: client.KeyPEM}}
	ts.anon = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}, Timeout: 10 * time.Second}
	return ts
}

func (ts *testServer) get(t *testing.T, path string) (int, string) {
	t.Helper()
	c, err := rest.HTTPClientFor(ts.rest)
	if err != nil {
		t.Fatal(err)
	}
	c.Timeout = 10 * time.Second
	resp, err := c.Get(ts.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestAuthentication(t *testing.T) {
	ts := start(t)
	for _, tt := range []struct {
		path string
		code int
	}{{"/healthz", 200}, {"/pods", 401}, {"/containerLogs/default/web/app", 401}, {"/exec/default/web/app?command=x&output=1", 401}} {
		resp, err := ts.anon.Get(ts.url + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.code {
			t.Errorf("GET %s without a certificate = %d; want %d", tt.path, resp.StatusCode, tt.code)
		}
	}
	if code, body := ts.get(t, "/pods"); code != 200 || !strings.Contains(body, `"kind":"PodList"`) || !strings.Contains(body, `"name":"web"`) {
		t.Errorf("GET /pods = %d %s; want the PodList with web", code, body)
	}
}

func TestContainerLogs(t *testing.T) {
	ts := start(t)
	var log strings.Builder
	base := time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)
	for i := range 5 {
		stream := "stdout"
		if i == 3 {
			stream = "stderr"
		}
		fmt.Fprintf(&log, "%s %s F line %d\n", base.Add(time.Duration(i)*time.Second).Format(time.RFC3339Nano), stream, i)
	}
	fmt.Fprintf(&log, "%s stdout P part-\n%s stdout F end\n", base.Add(5*time.Second).Format(time.RFC3339Nano), base.Add(5*time.Second).Format(time.RFC3339Nano))
	if err := os.WriteFile(ts.logPath, []byte(log.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	all := "line 0\nline 1\nline 2\nline 3\nline 4\npart-end\n"
	for _, tt := range []struct {
		query string
		code  int
		want  string
	}{
		{"", 200, all},
		// Lines of the file, as upstream counts them: a partial entry is one.
		{"?tailLines=3", 200, "line 4\npart-end\n"},
		{"?tailLines=1", 200, "end\n"},
		{"?tailLines=0", 200, ""},
		{"?tailLines=100", 200, all},
		{"?limitBytes=9", 200, "line 0\nli"},
		{"?sinceTime=2026-01-02T03:04:03Z", 200, "line 3\nline 4\npart-end\n"},
		{"?timestamps=true&tailLines=3", 200, "2026-01-02T03:04:04Z line 4\n2026-01-02T03:04:05Z part-2026-01-02T03:04:05Z end\n"},
		{"?previous=true", 200, "from the old one\n"},
		{"?tailLines=-1", 400, "TailLines must be a non-negative integer"},
		{"?follow=maybe", 400, `follow="maybe" is not a boolean`},
	} {
		code, body := ts.get(t, "/containerLogs/default/web/app"+tt.query)
		if code != tt.code || body != tt.want {
			t.Errorf("containerLogs%s = %d %q; want %d %q", tt.query, code, body, tt.code, tt.want)
		}
	}
	for _, tt := range []struct {
		path string
		code int
		want string
	}{
		{"/containerLogs/default/nope/app", 404, `pod "nope" does not exist`},
		{"/containerLogs/default/web/nope", 404, `container "nope" not found in pod "web"`},
	} {
		if code, body := ts.get(t, tt.path); code != tt.code || body != tt.want {
			t.Errorf("GET %s = %d %q; want %d %q", tt.path, code, body, tt.code, tt.want)
		}
	}

	// Following: new lines come as they are written, across a rotation,
	// and the stream ends once the container has.
	c, _ := rest.HTTPClientFor(ts.rest)
	resp, err := c.Get(ts.url + "/containerLogs/default/web/app?follow=true&tailLines=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got := make(chan string, 1)
	go func() { b, _ := io.ReadAll(resp.Body); got <- string(b) }()
	appendLine := func(s string) {
		f, err := os.OpenFile(ts.logPath, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(f, "%s stdout F %s\n", time.Now().UTC().Format(time.RFC3339Nano), s)
		f.Close()
	}
	time.Sleep(100 * time.Millisecond)
	appendLine("followed")
	time.Sleep(100 * time.Millisecond)
	if err := os.Rename(ts.logPath, ts.logPath+".20260102-030405"); err != nil {
		t.Fatal(err)
	}
	appendLine("after rotation")
	time.Sleep(100 * time.Millisecond)
	ts.rt.setState("cur", kubelet.ContainerExited)
	select {
	case body := <-got:
		if body != "end\nfollowed\nafter rotation\n" {
			t.Errorf("followed log = %q; want the last line, then the two written", body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("following a log did not end after the container did")
	}
}

func TestExecAndAttach(t *testing.T) {
	ts := start(t)
	for _, proto := range []string{"spdy", "websocket"} {
		t.Run(proto, func(t *testing.T) {
			executor := func(path string) remotecommand.Executor {
				u, _ := url.Parse(ts.url + path)
				var e remotecommand.Executor
				var err error
				if proto == "spdy" {
					e, err = remotecommand.NewSPDYExecutor(ts.rest, "POST", u)
				} else {
					// The kubelet speaks v4 over WebSocket; v5 is the
					// apiserver's translation (see the package doc).
					e, err = remotecommand.NewWebSocketExecutorForProtocols(ts.rest, "GET", u.String(), "v4.channel.k8s.io")
				}
				if err != nil {
					t.Fatal(err)
				}
				return e
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			var out, errs bytes.Buffer
			if proto == "spdy" { // v4 over WebSocket cannot say the input ended
				err := executor("/exec/default/web/app?command=upper&input=1&output=1&error=1").StreamWithContext(ctx,
					remotecommand.StreamOptions{Stdin: strings.NewReader("hello"), Stdout: &out, Stderr: &errs})
				if err != nil || out.String() != "HELLO" {
					t.Errorf("exec upper = %v, %q; want HELLO", err, out.String())
				}
			}
			out.Reset()
			err := executor("/exec/default/web/app?command=fail&command=3&output=1&error=1").StreamWithContext(ctx,
				remotecommand.StreamOptions{Stdout: &out, Stderr: &errs})
			var exitErr utilexec.ExitError
			if !errors.As(err, &exitErr) || exitErr.ExitStatus() != 3 || !strings.Contains(errs.String(), "failing") {
				t.Errorf("exec fail 3 = %v, stderr %q; want exit status 3 and the stderr", err, errs.String())
			}
			out.Reset()
			sizes := &sizeQueue{sizes: []remotecommand.TerminalSize{{Width: 120, Height: 40}}}
			err = executor("/exec/default/web/app?command=resize&input=1&output=1&tty=1").StreamWithContext(ctx,
				remotecommand.StreamOptions{Stdin: &blockingReader{ctx: ctx}, Stdout: &out, Tty: true, TerminalSizeQueue: sizes})
			if err != nil || out.String() != "120x40 tty=true" {
				t.Errorf("exec with a terminal = %v, %q; want the terminal's size", err, out.String())
			}
			out.Reset()
			err = executor("/attach/default/web/app?output=1&error=1").StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: &out, Stderr: &errs})
			if err != nil || out.String() != "attached\n" {
				t.Errorf("attach = %v, %q; want attached", err, out.String())
			}
		})
	}
	if code, body := ts.get(t, "/exec/default/web/nope?command=x&output=1"); code != 404 || body != `container not found ("nope")` {
		t.Errorf("exec in a missing container = %d %q; want 404", code, body)
	}
}

// sizeQueue gives its sizes, then waits.
type sizeQueue struct {
	mu    sync.Mutex
	sizes []remotecommand.TerminalSize
}

func (q *sizeQueue) Next() *remotecommand.TerminalSize {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.sizes) == 0 {
		return nil
	}
	s := q.sizes[0]
	q.sizes = q.sizes[1:]
	return &s
}

// blockingReader is a stdin that never says anything until ctx ends.
type blockingReader struct{ ctx context.Context }

func (b *blockingReader) Read([]byte) (int, error) {
	<-b.ctx.Done()
	return 0, io.EOF
}

func TestPortForward(t *testing.T) {
	ts := start(t)
	transport, upgrader, err := spdy.RoundTripperFor(ts.rest)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(ts.url + "/portForward/default/web")
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: transport}, "POST", u)
	stop, ready := make(chan struct{}), make(chan struct{})
	fw, err := portforward.NewOnAddresses(dialer, []string{"127.0.0.1"}, []string{"0:8080"}, stop, ready, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- fw.ForwardPorts() }()
	defer func() { close(stop); <-done }()
	select {
	case <-ready:
	case err := <-done:
		t.Fatal(err)
	case <-time.After(10 * time.Second):
		t.Fatal("port-forward not ready after 10 s")
	}
	ports, _ := fw.GetPorts()
	conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", ports[0].Local))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	_, _ = conn.Write([]byte("hello"))
	b, _ := io.ReadAll(conn)
	if string(b) != "8080 sb hello" {
		t.Errorf("through the forwarded port = %q; want the sandbox's echo", b)
	}
}
