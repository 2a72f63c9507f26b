package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
)

// tendBinary is the tend binary TestMain built for this run.
var tendBinary string

// TestMain builds ./cmd/tend once; every test starts its own process from it.
func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	flag.Parse()
	dir, err := os.MkdirTemp("", "tend-e2e-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	tendBinary = filepath.Join(dir, "tend")
	if bin := os.Getenv(reexecBinaryEnv); bin != "" {
		// A test re-run in a child process (inOwnNetns) uses its parent's.
		tendBinary = bin
		return m.Run()
	}
	// go test puts its own go command first on PATH.
	build := exec.Command("go", "build", "-o", tendBinary, "github.com/tendhq/tend/cmd/tend")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	start := time.Now()
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: building tend: %v\n", err)
		return 1
	}
	if testing.Verbose() {
		fmt.Fprintf(os.Stderr, "e2e: built %s in %v\n", tendBinary, time.Since(start).Round(time.Millisecond))
	}
	return m.Run()
}

const (
	readyTimeout   = 60 * time.Second // the server's ready line
	stopTimeout    = 20 * time.Second // exit after SIGTERM
	commandTimeout = 60 * time.Second // one kubectl or curl invocation
	waitTimeout    = 20 * time.Second // eventually() and background output
)

// server is one `tend server` process with its own data directory. It is
// stopped with SIGTERM to its PID when the test that started it ends, and the
// test fails if it does not exit cleanly.
type server struct {
	dataDir    string
	kubeconfig string
	url        string // https://127.0.0.1:PORT, as the ready line and the kubeconfig say
	home       string // HOME for kubectl, so its discovery cache stays in the test's files

	proc    *exec.Cmd
	log     *syncBuffer // the server's stdout and stderr
	exited  chan struct{}
	waitErr error // valid once exited is closed
	stopped sync.Once
}

var (
	readyLineAPI        = regexp.MustCompile(`API at (https://\S+?),? `)
	readyLineKubeconfig = regexp.MustCompile(`admin kubeconfig at (\S+)`)
)

// startServer starts `tend server --data-dir $(t.TempDir()) --secure-port 0` and
// waits for its ready line.
func startServer(t *testing.T) *server {
	t.Helper()
	return startTend(t, "server")
}

// startTend starts `tend COMMAND --data-dir $(t.TempDir()) --secure-port 0
// ARGS...` (server or apiserver) and waits for its ready line. A server's
// node runs the simulated runtime unless ARGS say otherwise: the real one
// (the default as root) would make its pod network in the machine's
// network namespace, which only a test in a namespace of its own may do.
func startTend(t *testing.T, command string, args ...string) *server {
	t.Helper()
	if command == "server" && !slices.Contains(args, "--runtime") {
		args = append([]string{"--runtime", "simulated"}, args...)
	}
	s := &server{
		home:   t.TempDir(),
		log:    &syncBuffer{},
		exited: make(chan struct{}),
	}
	// A test that starts a server again on the state of one before gives
	// its --data-dir.
	if i := slices.Index(args, "--data-dir"); i >= 0 && i+1 < len(args) {
		s.dataDir = args[i+1]
	} else {
		s.dataDir = t.TempDir()
		args = append([]string{"--data-dir", s.dataDir}, args...)
	}
	cmd := exec.Command(tendBinary, append([]string{command, "--secure-port", "0"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("tend server: %v", err)
	}
	cmd.Stderr = s.log
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting tend server: %v", err)
	}
	s.proc = cmd
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			s.log.WriteString(line + "\n")
			if strings.Contains(line, "ready") {
				select {
				case ready <- line:
				default:
				}
			}
		}
		// Wait only once stdout is drained: it closes the pipe.
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() { s.stop(t) })

	var line string
	select {
	case line = <-ready:
	case <-s.exited:
		t.Fatalf("tend server (pid %d) exited before it was ready: %v\n%s", cmd.Process.Pid, s.waitErr, s.log)
	case <-time.After(readyTimeout):
		t.Fatalf("tend server (pid %d) printed no ready line in %v:\n%s", cmd.Process.Pid, readyTimeout, s.log)
	}

	m := readyLineKubeconfig.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("ready line %q names no admin kubeconfig", line)
	}
	s.kubeconfig = m[1]
	if want := filepath.Join(s.dataDir, "admin.kubeconfig"); s.kubeconfig != want {
		t.Errorf("ready line names kubeconfig %q; want %q", s.kubeconfig, want)
	}
	cfg, err := clientcmd.LoadFromFile(s.kubeconfig)
	if err != nil {
		t.Fatalf("reading the admin kubeconfig: %v", err)
	}
	ctx, ok := cfg.Contexts[cfg.CurrentContext]
	if !ok || cfg.Clusters[ctx.Cluster] == nil {
		t.Fatalf("admin kubeconfig %s: current context %q names no cluster", s.kubeconfig, cfg.CurrentContext)
	}
	s.url = cfg.Clusters[ctx.Cluster].Server
	if strings.HasSuffix(s.url, ":0") || !strings.HasPrefix(s.url, "https://") {
		t.Fatalf("admin kubeconfig server = %q; want https:// and the real port", s.url)
	}
	if m := readyLineAPI.FindStringSubmatch(line); m == nil || m[1] != s.url {
		t.Errorf("ready line %q: want the API URL %s from the kubeconfig", line, s.url)
	}
	return s
}

// stop sends SIGTERM to the server's PID and fails t unless it exits cleanly.
func (s *server) stop(t *testing.T) {
	s.stopped.Do(func() {
		select {
		case <-s.exited:
			t.Errorf("tend server (pid %d) exited before the test ended: %v\n%s", s.proc.Process.Pid, s.waitErr, s.log)
			return
		default:
		}
		if err := s.proc.Process.Signal(syscall.SIGTERM); err != nil {
			t.Errorf("SIGTERM to tend server (pid %d): %v", s.proc.Process.Pid, err)
		}
		select {
		case <-s.exited:
			if s.waitErr != nil {
				t.Errorf("tend server (pid %d) did not exit cleanly after SIGTERM: %v\n%s", s.proc.Process.Pid, s.waitErr, tail(s.log.String(), 40))
			}
		case <-time.After(stopTimeout):
			_ = s.proc.Process.Kill()
			<-s.exited
			t.Errorf("tend server (pid %d) still running %v after SIGTERM; killed it\n%s", s.proc.Process.Pid, stopTimeout, tail(s.log.String(), 40))
		}
		if t.Failed() {
			t.Logf("tend server log (last lines):\n%s", tail(s.log.String(), 60))
		}
	})
}

// kill sends SIGKILL to the server's PID and waits until it is gone.
func (s *server) kill(t *testing.T) {
	s.stopped.Do(func() {
		if err := s.proc.Process.Kill(); err != nil {
			t.Errorf("SIGKILL to tend server (pid %d): %v", s.proc.Process.Pid, err)
		}
		<-s.exited
	})
}

// env is the environment of a client process: the caller's, minus anything
// that would point kubectl elsewhere.
func (s *server) env(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case name == "KUBECONFIG", name == "HOME", name == "KUBECACHEDIR",
			name == "EDITOR", name == "KUBE_EDITOR", strings.HasPrefix(name, "KUBECTL_"):
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "KUBECONFIG="+s.kubeconfig, "HOME="+s.home)
	return append(env, extra...)
}

// result is what one client command did.
type result struct {
	command string
	stdout  string
	stderr  string
	code    int // -1 when it could not run or timed out
}

func (r result) String() string {
	return fmt.Sprintf("$ %s\n(exit %d)\n--- stdout:\n%s--- stderr:\n%s", r.command, r.code, r.stdout, r.stderr)
}

// run runs a client command to completion.
func run(env []string, stdin string, name string, args ...string) result {
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{command: commandLine(name, args), stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case ctx.Err() != nil:
		r.code = -1
		r.stderr += fmt.Sprintf("\n[e2e: timed out after %v]", commandTimeout)
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	default:
		r.code = -1
		r.stderr += fmt.Sprintf("\n[e2e: %v]", err)
	}
	return r
}

func commandLine(name string, args []string) string {
	parts := []string{filepath.Base(name)}
	for _, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n'\"$*?()[]{}!|;&<>\\") {
			a = strconv.Quote(a)
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

// kubectl runs the real kubectl against a server. Its methods take the
// (sub)test they fail, since a test may only fail itself.
type kubectl struct {
	s     *server
	path  string
	env   []string
	stdin string
}

// kubectl returns a kubectl for s; t is skipped when kubectl is not installed.
func (s *server) kubectl(t *testing.T) *kubectl {
	t.Helper()
	path, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skipf("kubectl is not installed: %v", err)
	}
	return &kubectl{s: s, path: path}
}

// withEnv returns a copy of k that adds environment variables (EDITOR=...).
func (k *kubectl) withEnv(kv ...string) *kubectl {
	c := *k
	c.env = append(append([]string(nil), k.env...), kv...)
	return &c
}

// withStdin returns a copy of k that feeds in to kubectl's standard input.
func (k *kubectl) withStdin(in string) *kubectl {
	c := *k
	c.stdin = in
	return &c
}

// run runs kubectl and returns what happened, whatever the exit code.
func (k *kubectl) run(t *testing.T, args ...string) result {
	t.Helper()
	return run(k.s.env(k.env...), k.stdin, k.path, args...)
}

// ok runs kubectl, fails the test unless it exits 0, and returns its stdout.
func (k *kubectl) ok(t *testing.T, args ...string) string {
	t.Helper()
	r := k.run(t, args...)
	if r.code != 0 {
		t.Fatalf("kubectl failed:\n%s", r)
	}
	return r.stdout
}

// fails runs kubectl and fails the test if it exits 0.
func (k *kubectl) fails(t *testing.T, args ...string) result {
	t.Helper()
	r := k.run(t, args...)
	if r.code == 0 {
		t.Fatalf("kubectl succeeded; want an error:\n%s", r)
	}
	return r
}

// start runs kubectl in the background (for -w); it is stopped by PID when
// the test ends, or earlier with stop.
func (k *kubectl) start(t *testing.T, args ...string) *background {
	t.Helper()
	cmd := exec.Command(k.path, args...)
	cmd.Env = k.s.env(k.env...)
	return startBackground(t, cmd)
}

// background is a client process left running while the test makes changes.
type background struct {
	command string
	cmd     *exec.Cmd
	stdout  *syncBuffer
	stderr  *syncBuffer
	exited  chan struct{}
	stopped sync.Once
}

func startBackground(t *testing.T, cmd *exec.Cmd) *background {
	t.Helper()
	b := &background{
		command: commandLine(cmd.Path, cmd.Args[1:]),
		cmd:     cmd,
		stdout:  &syncBuffer{},
		stderr:  &syncBuffer{},
		exited:  make(chan struct{}),
	}
	cmd.Stdout, cmd.Stderr = b.stdout, b.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", b.command, err)
	}
	go func() {
		_ = cmd.Wait()
		close(b.exited)
	}()
	t.Cleanup(b.stop)
	return b
}

func (b *background) String() string {
	return fmt.Sprintf("$ %s &   (pid %d)\n--- stdout:\n%s--- stderr:\n%s", b.command, b.cmd.Process.Pid, b.stdout, b.stderr)
}

// waitFor waits until the process's stdout satisfies cond, and fails t if it
// does not within waitTimeout or the process exits first.
func (b *background) waitFor(t *testing.T, what string, cond func(stdout string) bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		if cond(b.stdout.String()) {
			return
		}
		select {
		case <-b.exited:
			if cond(b.stdout.String()) {
				return
			}
			t.Fatalf("waiting for %s: the process exited:\n%s", what, b)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: not there after %v:\n%s", what, waitTimeout, b)
		}
	}
}

// stop ends the process with SIGTERM to its PID (SIGKILL if it lingers).
func (b *background) stop() {
	b.stopped.Do(func() {
		select {
		case <-b.exited:
			return
		default:
		}
		_ = b.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-b.exited:
		case <-time.After(5 * time.Second):
			_ = b.cmd.Process.Kill()
			<-b.exited
		}
	})
}

// eventually polls check until it reports true, failing the test with the
// last thing check saw after waitTimeout.
func eventually(t *testing.T, what string, check func() (ok bool, saw string)) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		ok, saw := check()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not so after %v; last saw:\n%s", what, waitTimeout, saw)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) WriteString(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.WriteString(s)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func tail(s string, n int) string {
	lines := strings.SplitAfter(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "")
}
