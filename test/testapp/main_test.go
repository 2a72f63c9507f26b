package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tendhq/tend/test/testapp/testimage"
)

// timeout bounds every wait on the program: generous, for a busy machine.
const timeout = 30 * time.Second

// result is how a run of the program ended.
type result struct {
	code           int
	stdout, stderr string
}

// runApp runs the built program with args, the environment env (nil: none) and stdin.
func runApp(t *testing.T, env []string, stdin string, args ...string) result {
	t.Helper()
	bin := testimage.Binary(t)
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(stdin), &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("running testapp %q: %v", args, err)
	}
	return result{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
}

// freeAddr is a loopback address nothing listens on (it did a moment ago).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// listen is a loopback listener that accepts and closes connections until the test ends.
func listen(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln.Addr().String()
}

func TestCommands(t *testing.T) {
	dir := t.TempDir()
	fileA, fileB := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	if err := os.WriteFile(fileA, []byte("alpha\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(fileB, []byte("beta"), 0o644); err != nil {
		t.Fatal(err)
	}
	written := filepath.Join(dir, "written")
	missing := filepath.Join(dir, "missing")
	open, closed := listen(t), freeAddr(t)
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	groups, err := os.Getgroups()
	if err != nil {
		t.Fatal(err)
	}
	gs := make([]string, len(groups))
	for i, g := range groups {
		gs[i] = strconv.Itoa(g)
	}

	tests := []struct {
		args       []string
		env        []string
		stdin      string
		wantCode   int
		wantStdout string // exact, unless stdoutHas is set
		stdoutHas  []string
		wantStderr string // a substring; "" means stderr must be empty
		check      func(t *testing.T)
	}{
		{args: []string{"echo", "a", "b  c"}, wantStdout: "a b  c\n"},
		{args: []string{"echo"}, wantStdout: "\n"},
		{args: []string{"echo", "-n", "x"}, wantStdout: "x"},
		{args: []string{"exit", "0"}},
		{args: []string{"exit", "7"}, wantCode: 7},
		{args: []string{"exit", "256"}, wantCode: 1, wantStderr: "invalid exit code"},
		{args: []string{"true"}},
		{args: []string{"false"}, wantCode: 1},
		{args: []string{"env"}, env: []string{"B=2", "A=1", "C=x=y"}, wantStdout: "A=1\nB=2\nC=x=y\n"},
		{args: []string{"env"}, env: []string{}, wantStdout: ""},
		{args: []string{"cat", fileA, fileB}, wantStdout: "alpha\nbeta"},
		{args: []string{"cat", fileA, missing, fileB}, wantCode: 1, wantStdout: "alpha\nbeta", wantStderr: "no such file"},
		{args: []string{"cat"}, stdin: "from stdin", wantStdout: "from stdin"},
		{args: []string{"cat", fileA, "-"}, stdin: "in", wantStdout: "alpha\nin"},
		{args: []string{"serve", "-h"}, wantStderr: "-term-delay"},
		{
			args: []string{"write", written, "hello", "world"}, wantStdout: "wrote 11 bytes to " + written + "\n",
			check: func(t *testing.T) {
				if b, err := os.ReadFile(written); err != nil || string(b) != "hello world" {
					t.Errorf("content of %s = %q, %v; want %q", written, b, err, "hello world")
				}
			},
		},
		{args: []string{"write", filepath.Join(missing, "x"), "y"}, wantCode: 1, wantStderr: "no such file"},
		{args: []string{"sleep", "0.01"}},
		{args: []string{"sleep", "10ms"}},
		{args: []string{"sleep", "soon"}, wantCode: 1, wantStderr: "invalid duration"},
		{args: []string{"hostname"}, wantStdout: host + "\n"},
		{args: []string{"id"}, wantStdout: fmt.Sprintf("uid=%d gid=%d groups=%s\n", os.Getuid(), os.Getgid(), strings.Join(gs, ","))},
		{args: []string{"log", "5", "1ms"}, wantStdout: "line 1\nline 2\nline 4\nline 5\n", wantStderr: "line 3\n"},
		{args: []string{"log", "0"}},
		{args: []string{"resolve", "localhost"}, stdoutHas: []string{"127.0.0.1", "::1"}},
		{args: []string{"resolve", ""}, wantCode: 1, wantStderr: "no such host"},
		{args: []string{"connect", open}, wantStdout: "connected\n"},
		{args: []string{"connect", closed, "2s"}, wantCode: 1, wantStderr: "connection refused"},
		{args: []string{"burn-cpu", "20ms"}, wantStdout: fmt.Sprintf("burned %d CPUs for 20ms\n", runtime.NumCPU())},
		{args: []string{"alloc", "-1"}, wantCode: 1, wantStderr: "invalid size"},
		{args: []string{}, wantCode: 1, wantStderr: "usage: testapp"},
		{args: []string{"frobnicate"}, wantCode: 1, wantStderr: `unknown command "frobnicate"`},
		{args: []string{"serve", "--port", "x"}, wantCode: 1, wantStderr: "invalid value"},

		// sh -c: sequences, &&, quoting, exit, and what it refuses.
		{args: []string{"sh", "-c", "echo a; echo b"}, wantStdout: "a\nb\n"},
		{args: []string{"sh", "-c", "echo a\necho b;"}, wantStdout: "a\nb\n"},
		{args: []string{"sh", "-c", "false && echo no; echo yes"}, wantStdout: "yes\n"},
		{args: []string{"sh", "-c", "echo a && false"}, wantCode: 1, wantStdout: "a\n"},
		{args: []string{"sh", "-c", "true && echo a && echo b"}, wantStdout: "a\nb\n"},
		{args: []string{"sh", "-c", "exit 4; echo no"}, wantCode: 4},
		{args: []string{"sh", "-c", `echo 'a  b' "c \"d\"" e\ f ''`}, wantStdout: "a  b c \"d\" e f \n"},
		{args: []string{"sh", "-c", "cat " + missing + "; echo after"}, wantStdout: "after\n", wantStderr: "sh: cat: open " + missing},
		{args: []string{"sh", "-c", "/bin/echo x && testapp echo y"}, wantStdout: "x\ny\n"},
		{args: []string{"sh", "-c", "sh -c 'exit 3'; echo after"}, wantStdout: "after\n"},
		{args: []string{"sh", "-c", "sh -c 'exit 3'"}, wantCode: 3},
		{args: []string{"sh", "-c", "write " + written + " from sh && cat " + written}, wantStdout: "wrote 7 bytes to " + written + "\nfrom sh"},
		{args: []string{"sh", "-c", ""}},
		{args: []string{"sh", "-c", "echo $HOME"}, wantCode: 1, wantStderr: "not supported"},
		{args: []string{"sh", "-c", "echo a | cat"}, wantCode: 1, wantStderr: "pipes"},
		{args: []string{"sh", "-c", "echo a > f"}, wantCode: 1, wantStderr: "redirections"},
		{args: []string{"sh", "-c", "echo a; ; echo b"}, wantCode: 1, wantStderr: "syntax error"},
		{args: []string{"sh", "echo"}, wantCode: 1, wantStderr: "only -c"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			got := runApp(t, tt.env, tt.stdin, tt.args...)
			if got.code != tt.wantCode {
				t.Errorf("testapp %q: exit %d; want %d (stderr %q)", tt.args, got.code, tt.wantCode, got.stderr)
			}
			if tt.stdoutHas != nil {
				found := false
				for _, s := range tt.stdoutHas {
					found = found || strings.Contains(got.stdout, s)
				}
				if !found {
					t.Errorf("testapp %q: stdout %q; want one of %q", tt.args, got.stdout, tt.stdoutHas)
				}
			} else if got.stdout != tt.wantStdout {
				t.Errorf("testapp %q: stdout %q; want %q", tt.args, got.stdout, tt.wantStdout)
			}
			if tt.wantStderr == "" && got.stderr != "" || !strings.Contains(got.stderr, tt.wantStderr) {
				t.Errorf("testapp %q: stderr %q; want it to contain %q", tt.args, got.stderr, tt.wantStderr)
			}
			if tt.check != nil {
				tt.check(t)
			}
		})
	}
}

// TestCalledSh checks that a link named sh runs the sh command, as /bin/sh does in the image.
func TestCalledSh(t *testing.T) {
	sh := filepath.Join(t.TempDir(), "sh")
	if err := os.Symlink(testimage.Binary(t), sh); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(sh, "-c", "echo via sh; exit 5").Output()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 5 || string(out) != "via sh\n" {
		t.Errorf("sh -c 'echo via sh; exit 5' = %q, %v; want %q, exit status 5", out, err, "via sh\n")
	}
}

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// proc is the program running in the background.
type proc struct {
	cmd            *exec.Cmd
	stdout, stderr lockedBuffer
	done           chan struct{} // closed when it has exited and its output is read
}

// start starts the program with args; it is killed when the test ends, if still running.
func start(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(testimage.Binary(t), args...), done: make(chan struct{})}
	p.cmd.Env = env
	if p.cmd.Env == nil {
		p.cmd.Env = []string{}
	}
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// waitStdout waits for a line of stdout that starts with prefix and returns it.
func (p *proc) waitStdout(t *testing.T, prefix string) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for line := range strings.Lines(p.stdout.String()) {
			if strings.HasPrefix(line, prefix) {
				return strings.TrimSuffix(line, "\n")
			}
		}
		select {
		case <-p.done:
			t.Fatalf("testapp %q exited (%v) before printing %q; stdout %q, stderr %q",
				p.cmd.Args[1:], p.cmd.ProcessState, prefix, p.stdout.String(), p.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("testapp %q printed no %q in %v; stdout %q", p.cmd.Args[1:], prefix, timeout, p.stdout.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// wait waits for the program to exit and returns its exit code (-1 if a signal killed it).
func (p *proc) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		t.Fatalf("testapp %q still running after %v; stdout %q", p.cmd.Args[1:], timeout, p.stdout.String())
		return 0
	}
}

func (p *proc) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signalling testapp %q: %v", p.cmd.Args[1:], err)
	}
}

// TestSIGTERMEndsOtherCommands checks the default: print the signal, exit 128+15.
func TestSIGTERMEndsOtherCommands(t *testing.T) {
	// Printing "started" shows the handler is in place: main sets it before any command runs.
	for _, args := range [][]string{{"sh", "-c", "echo started; sleep infinity"}, {"sh", "-c", "echo started && log 1 && alloc 1"}} {
		p := start(t, nil, args...)
		p.waitStdout(t, "started")
		p.signal(t, syscall.SIGTERM)
		if code := p.wait(t); code != 143 {
			t.Errorf("testapp %q after SIGTERM: exit %d; want 143", args, code)
		}
		if out := p.stdout.String(); !strings.HasSuffix(out, "SIGTERM\n") {
			t.Errorf("testapp %q after SIGTERM: stdout %q; want it to end with SIGTERM", args, out)
		}
	}
}

func TestAllocHoldsMemory(t *testing.T) {
	const mib = 48
	p := start(t, nil, "alloc", strconv.Itoa(mib))
	if got, want := p.waitStdout(t, "allocated"), fmt.Sprintf("allocated %d MiB", mib); got != want {
		t.Errorf("alloc %d printed %q; want %q", mib, got, want)
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	var rssKiB int
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			rssKiB, _ = strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
	}
	if rssKiB < mib*1024 {
		t.Errorf("alloc %d: resident %d KiB; want at least %d KiB", mib, rssKiB, mib*1024)
	}
	select {
	case <-p.done:
		t.Fatalf("alloc %d exited (%v); want it to hold the memory until killed", mib, p.cmd.ProcessState)
	default:
	}
}
