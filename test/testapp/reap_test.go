package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tendhq/tend/test/testapp/testimage"
)

// childrenOf lists the processes whose parent is pid, with their states
// ("S", "Z", ...), from /proc/*/stat.
func childrenOf(t *testing.T, pid int) map[int]string {
	t.Helper()
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		t.Fatal(err)
	}
	children := map[int]string{}
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // it has ended since
		}
		// pid (comm) state ppid ...; comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 2 {
			continue
		}
		if ppid, _ := strconv.Atoi(f[1]); ppid == pid {
			child, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
			children[child] = f[0]
		}
	}
	return children
}

// TestPID1ReapsOrphans runs testapp as PID 1 of a new PID namespace, leaves
// an orphan in it that ends when told to, and checks that the orphan is
// reparented to testapp and, once ended, does not stay a zombie.
func TestPID1ReapsOrphans(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for a PID namespace")
	}
	for _, tool := range []string{"unshare", "nsenter", "/bin/sh"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s: %v", tool, err)
		}
	}
	unshare := exec.Command("unshare", "--pid", "--kill-child", testimage.Binary(t), "sleep", "infinity")
	if err := unshare.Start(); err != nil {
		t.Fatal(err)
	}
	var init int // testapp's PID outside the namespace
	t.Cleanup(func() {
		// Ending PID 1 ends the namespace; unshare, its parent, waits for it
		// and exits. Killing unshare first would orphan testapp instead.
		if init != 0 {
			syscall.Kill(init, syscall.SIGKILL)
		} else {
			unshare.Process.Kill() // --kill-child: testapp goes too
		}
		done := make(chan struct{})
		go func() {
			unshare.Wait()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(timeout):
			unshare.Process.Kill()
			<-done
		}
	})

	deadline := time.Now().Add(timeout)
	for init == 0 {
		for pid := range childrenOf(t, unshare.Process.Pid) {
			init = pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("unshare started no child in %v", timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}

	// A shell in the namespace starts a background loop and exits: the loop
	// is an orphan, reparented to PID 1. It ends when the file "go" exists.
	goFile := filepath.Join(t.TempDir(), "go")
	script := fmt.Sprintf("( while [ ! -e %s ]; do sleep 0.02; done ) >/dev/null 2>&1 &", goFile)
	if out, err := exec.Command("nsenter", "--target", strconv.Itoa(init), "--pid", "--", "/bin/sh", "-c", script).CombinedOutput(); err != nil {
		t.Fatalf("nsenter: %v: %s", err, out)
	}
	var orphan int
	for orphan == 0 {
		for pid := range childrenOf(t, init) {
			orphan = pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("no orphan was reparented to testapp (PID %d) in %v", init, timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}

	if err := os.WriteFile(goFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for {
		children := childrenOf(t, init)
		if len(children) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("testapp as PID 1 still has children %v (PID: state) %v after the orphan %d was told to end; want them reaped", children, timeout, orphan)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
