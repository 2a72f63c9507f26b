package main

import (
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startServe starts `serve` on a free loopback port with a state directory
// of its own; it returns the process, its base URL and the state directory.
func startServe(t *testing.T, env []string, args ...string) (p *proc, base, stateDir string) {
	t.Helper()
	stateDir = t.TempDir()
	args = append([]string{"serve", "--bind", "127.0.0.1", "--port", "0", "--state-dir", stateDir}, args...)
	p = start(t, env, args...)
	addr := strings.TrimPrefix(p.waitStdout(t, "listening on "), "listening on ")
	return p, "http://" + addr, stateDir
}

// get fetches base+path and returns the status code and body.
func get(t *testing.T, base, path string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: timeout}
	resp, err := c.Get(base + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading the body: %v", path, err)
	}
	return resp.StatusCode, string(b)
}

func touch(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestServeEndpoints(t *testing.T) {
	dir := t.TempDir()
	hostnameFile := filepath.Join(dir, "hostname")
	if err := os.WriteFile(hostnameFile, []byte("pod-a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	content := filepath.Join(dir, "content")
	if err := os.WriteFile(content, []byte("some\ncontent"), 0o644); err != nil {
		t.Fatal(err)
	}
	written := filepath.Join(dir, "written")
	open, closed := listen(t), freeAddr(t)
	p, base, stateDir := startServe(t, []string{"Z=last", "A=first"}, "--hostname-file", hostnameFile)
	q := url.QueryEscape

	// In order: some rows change what later rows see.
	tests := []struct {
		before   func(t *testing.T)
		path     string
		wantCode int
		wantBody string // exact, unless bodyHas is set
		bodyHas  []string
	}{
		{path: "/", wantCode: 200, wantBody: "pod-a\n"},
		{path: "/nothing-here", wantCode: 404, bodyHas: []string{"not found"}},
		{path: "/env", wantCode: 200, wantBody: "A=first\nZ=last\n"},
		{path: "/file?path=" + q(content), wantCode: 200, wantBody: "some\ncontent"},
		{path: "/file?path=" + q(filepath.Join(dir, "missing")), wantCode: 404, bodyHas: []string{"no such file"}},
		{path: "/file", wantCode: 400, wantBody: "missing query parameter \"path\"\n"},
		{path: "/write?path=" + q(written) + "&data=" + q("a b"), wantCode: 200, wantBody: "wrote 3 bytes to " + written + "\n"},
		{path: "/file?path=" + q(written), wantCode: 200, wantBody: "a b"},
		{path: "/healthz", wantCode: 200, wantBody: "ok\n"},
		{path: "/readyz", wantCode: 200, wantBody: "ready\n"},
		{before: func(t *testing.T) { touch(t, filepath.Join(stateDir, "unhealthy")) }, path: "/healthz", wantCode: 500, bodyHas: []string{"unhealthy"}},
		{path: "/readyz", wantCode: 200, wantBody: "ready\n"},
		{before: func(t *testing.T) { touch(t, filepath.Join(stateDir, "unready")) }, path: "/readyz", wantCode: 503, bodyHas: []string{"unready"}},
		{before: func(t *testing.T) { os.Remove(filepath.Join(stateDir, "unhealthy")) }, path: "/healthz", wantCode: 200, wantBody: "ok\n"},
		{path: "/resolve?name=localhost", wantCode: 200, bodyHas: []string{"127.0.0.1", "::1"}},
		{path: "/resolve", wantCode: 400, wantBody: "missing query parameter \"name\"\n"},
		{path: "/connect?addr=" + q(open), wantCode: 200, wantBody: "connected\n"},
		{path: "/connect?addr=" + q(closed) + "&timeout=2s", wantCode: 502, bodyHas: []string{"connection refused"}},
		{path: "/connect?addr=" + q(open) + "&timeout=soon", wantCode: 400, bodyHas: []string{"invalid duration"}},
		{path: "/exit?code=300", wantCode: 400, bodyHas: []string{"invalid exit code"}},
	}
	for _, tt := range tests {
		if tt.before != nil {
			tt.before(t)
		}
		code, body := get(t, base, tt.path)
		if code != tt.wantCode {
			t.Errorf("GET %s = %d %q; want %d", tt.path, code, body, tt.wantCode)
		}
		if tt.bodyHas != nil {
			found := false
			for _, s := range tt.bodyHas {
				found = found || strings.Contains(body, s)
			}
			if !found {
				t.Errorf("GET %s body = %q; want one of %q", tt.path, body, tt.bodyHas)
			}
		} else if body != tt.wantBody {
			t.Errorf("GET %s body = %q; want %q", tt.path, body, tt.wantBody)
		}
	}

	p.signal(t, syscall.SIGTERM)
	if code := p.wait(t); code != 0 {
		t.Errorf("serve after SIGTERM: exit %d; want 0 (stderr %q)", code, p.stderr.String())
	}
	if out := p.stdout.String(); !strings.HasSuffix(out, "\nSIGTERM\nstopped\n") {
		t.Errorf("serve after SIGTERM: stdout %q; want it to end with SIGTERM, stopped", out)
	}
}

func TestServeRootIsHostname(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	_, base, _ := startServe(t, nil)
	if code, body := get(t, base, "/"); code != 200 || body != host+"\n" {
		t.Errorf("GET / = %d %q; want 200 %q", code, body, host+"\n")
	}
}

func TestServeExit(t *testing.T) {
	p, base, _ := startServe(t, nil)
	if code, body := get(t, base, "/exit?code=7"); code != 200 || body != "exiting with code 7\n" {
		t.Errorf("GET /exit?code=7 = %d %q; want 200 %q", code, body, "exiting with code 7\n")
	}
	if code := p.wait(t); code != 7 {
		t.Errorf("serve after /exit?code=7: exit %d; want 7", code)
	}
}

func TestServeTermDelay(t *testing.T) {
	const delay = time.Second
	p, _, _ := startServe(t, nil, "--term-delay", delay.String())
	sent := time.Now()
	p.signal(t, syscall.SIGTERM)
	if code := p.wait(t); code != 0 {
		t.Errorf("serve --term-delay %v after SIGTERM: exit %d; want 0", delay, code)
	}
	// The upper bound is generous: the point is that it does end by itself.
	if took := time.Since(sent); took < delay || took > timeout {
		t.Errorf("serve --term-delay %v exited %v after SIGTERM; want between %v and %v", delay, took, delay, timeout)
	}
}

func TestServeIgnoreTerm(t *testing.T) {
	p, base, _ := startServe(t, nil, "--ignore-term")
	p.signal(t, syscall.SIGTERM)
	p.waitStdout(t, "SIGTERM ignored")
	if code, body := get(t, base, "/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("GET /healthz after an ignored SIGTERM = %d %q; want 200 %q", code, body, "ok\n")
	}
	p.signal(t, syscall.SIGKILL)
	if code := p.wait(t); code != -1 {
		t.Errorf("serve --ignore-term after SIGKILL: exit %d; want -1 (killed)", code)
	}
}

// TestServeInSh checks that serve keeps its SIGTERM handling when sh runs it,
// and that the script goes on once it returns.
func TestServeInSh(t *testing.T) {
	p := start(t, nil, "sh", "-c", "echo first; serve --bind 127.0.0.1 --port 0 --state-dir "+t.TempDir()+" && echo after")
	addr := strings.TrimPrefix(p.waitStdout(t, "listening on "), "listening on ")
	if code, body := get(t, "http://"+addr, "/healthz"); code != 200 {
		t.Errorf("GET /healthz = %d %q; want 200", code, body)
	}
	p.signal(t, syscall.SIGTERM)
	if code := p.wait(t); code != 0 {
		t.Errorf("sh -c '... serve && echo after' after SIGTERM: exit %d; want 0", code)
	}
	if out := p.stdout.String(); !strings.HasSuffix(out, "SIGTERM\nstopped\nafter\n") {
		t.Errorf("sh -c '... serve && echo after' after SIGTERM: stdout %q; want it to end with SIGTERM, stopped, after", out)
	}
}
