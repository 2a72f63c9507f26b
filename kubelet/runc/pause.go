package runc

// #cgo CFLAGS: -Wall -O2
import "C"

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The sandbox's process itself, `tend pause HOSTNAME`, is in pause.c: it
// runs before the Go runtime would start.

// pauseProcess is a running sandbox process.
type pauseProcess struct {
	PID int `json:"pid"`
	// StartTime is the process's start time in clock ticks since boot
	// (/proc/PID/stat field 22): with the PID it names the process even
	// after the PID is reused.
	StartTime uint64 `json:"startTime"`
}

// startPause starts `SELF pause HOSTNAME` in new network, IPC, UTS and PID
// namespaces (only new IPC, UTS and PID with hostNetwork), in its own session
// so that it outlives the process that started it, and returns it once its
// namespaces exist.
func startPause(self, hostname string, hostNetwork bool) (pauseProcess, error) {
	flags := uintptr(unix.CLONE_NEWIPC | unix.CLONE_NEWUTS | unix.CLONE_NEWPID)
	if !hostNetwork {
		flags |= unix.CLONE_NEWNET
	}
	devNull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return pauseProcess{}, err
	}
	defer devNull.Close()
	cmd := exec.Command(self, "pause", hostname)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devNull, devNull, devNull
	cmd.Dir = "/"
	cmd.Env = []string{}
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: flags, Setsid: true}
	if err := cmd.Start(); err != nil {
		return pauseProcess{}, fmt.Errorf("starting the sandbox process: %w", err)
	}
	pid := cmd.Process.Pid
	// The caller does not wait for it: it is the node's init's to reap once
	// this process is gone, and while it lives, Release drops Go's handle.
	_ = cmd.Process.Release()
	start, err := processStartTime(pid)
	if err != nil {
		_ = unix.Kill(pid, unix.SIGKILL)
		return pauseProcess{}, fmt.Errorf("starting the sandbox process: %w", err)
	}
	return pauseProcess{PID: pid, StartTime: start}, nil
}

// alive reports whether the sandbox process still runs (not a zombie, not
// another process that got its PID).
func (p pauseProcess) alive() bool {
	start, err := processStartTime(p.PID)
	if err != nil || start != p.StartTime {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.PID))
	if err != nil {
		return false
	}
	f := statFields(string(b))
	return len(f) > 0 && f[0] != "Z" && f[0] != "X"
}

// namespace is the path of one of the sandbox's namespaces ("net", "ipc",
// "uts", "pid").
func (p pauseProcess) namespace(kind string) string {
	return fmt.Sprintf("/proc/%d/ns/%s", p.PID, kind)
}

// stop ends the sandbox process: SIGTERM, then SIGKILL after grace. It
// waits until the process is gone (reaped by whoever is its parent).
func (p pauseProcess) stop(grace time.Duration) error {
	if !p.alive() {
		return nil
	}
	if err := unix.Kill(p.PID, unix.SIGTERM); err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("stopping the sandbox process %d: %w", p.PID, err)
	}
	deadline := time.Now().Add(grace)
	for p.alive() {
		if time.Now().After(deadline) {
			if err := unix.Kill(p.PID, unix.SIGKILL); err != nil && !errors.Is(err, unix.ESRCH) {
				return fmt.Errorf("killing the sandbox process %d: %w", p.PID, err)
			}
			deadline = time.Now().Add(time.Hour)
		}
		// Our own child is reaped here; another process's is its parent's.
		var ws unix.WaitStatus
		_, _ = unix.Wait4(p.PID, &ws, unix.WNOHANG, nil)
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}

// processStartTime is field 22 of /proc/PID/stat.
func processStartTime(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	f := statFields(string(b))
	// statFields starts at field 3 (state): starttime (22) is index 19.
	if len(f) < 20 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	return strconv.ParseUint(f[19], 10, 64)
}

// statFields are the fields of /proc/PID/stat after the command name (which
// may hold spaces and parentheses), from the state on.
func statFields(stat string) []string {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(stat[i+1:])
}
