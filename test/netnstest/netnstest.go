// Package netnstest runs a test in a network namespace of its own, so that a
// test that wires a node's network (a bridge, routes, nftables) never
// touches the machine's, as shared/DESIGN.md's network-safety rule asks.
package netnstest

import (
	"os"
	"os/exec"
	"syscall"
	"testing"

	"github.com/vishvananda/netlink"
)

// childEnv names, in the child process, the test it re-runs.
const childEnv = "TEND_NETNS_TEST"

// Rerun re-runs the calling test (only it) in a child process of the test
// binary started in a new network namespace, which ends with the child, and
// reports false: the caller returns. In that child it brings loopback up and
// reports true: the caller goes on with the test. env is added to the
// child's environment. The child's output is logged; its failure fails t.
func Rerun(t *testing.T, env ...string) bool {
	t.Helper()
	if os.Getenv(childEnv) == t.Name() {
		lo, err := netlink.LinkByName("lo")
		if err == nil {
			err = netlink.LinkSetUp(lo)
		}
		if err != nil {
			t.Fatalf("loopback in the test's network namespace: %v", err)
		}
		return true
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Env = append(append(os.Environ(), childEnv+"="+t.Name()), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	out, err := cmd.CombinedOutput()
	t.Logf("in a network namespace of its own:\n%s", out)
	if err != nil {
		t.Fatalf("the test in its own network namespace: %v", err)
	}
	return false
}
