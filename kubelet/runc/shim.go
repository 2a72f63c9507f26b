package runc

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/specconv"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// A container's files, in its directory under the runtime's state:
//
//	config.json   its OCI runtime spec (a runc bundle's, with rootfs/)
//	exit.json     how it ended, written by its shim
//	shim.lock     locked by its shim for as long as the shim lives
const (
	specFile = "config.json"
	exitFile = "exit.json"
	lockFile = "shim.lock"
)

// exitStatus is how a container ended, as its shim saw it.
type exitStatus struct {
	ExitCode   int32     `json:"exitCode"`
	Signal     string    `json:"signal,omitempty"`
	OOMKilled  bool      `json:"oomKilled,omitempty"`
	StartedAt  time.Time `json:"startedAt"`
	FinishedAt time.Time `json:"finishedAt"`
}

// shimConfig is what a shim is told on its command line.
type shimConfig struct {
	stateRoot string // libcontainer's root
	dir       string // the container's directory: config.json, exit.json
	id        string
	logPath   string
}

// logLineMax is the longest line a log entry holds; longer lines are cut
// into partial ("P") entries, as the CRI log format says.
const logLineMax = 16 << 10

// Shim is `tend shim STATE DIR ID LOG`: it runs one container and outlives the
// kubelet that started it. It creates and starts the container from
// DIR/config.json with libcontainer (state under STATE), reports "ok PID"
// or the error on file descriptor 3 and closes it, writes what the
// container prints to LOG in the CRI log format, and when the container
// exits records how in DIR/exit.json (atomically) and exits itself.
func Shim(args []string) error {
	if len(args) != 4 {
		return errors.New("usage: tend shim STATE DIR ID LOG")
	}
	cfg := shimConfig{stateRoot: args[0], dir: args[1], id: args[2], logPath: args[3]}
	report := os.NewFile(3, "report")
	lock, err := lockShim(cfg.dir)
	if err != nil {
		fmt.Fprintf(report, "error: %v\n", err)
		report.Close()
		return err
	}
	defer lock.Close()
	c, proc, logs, err := cfg.start()
	if err != nil {
		fmt.Fprintf(report, "error: %v\n", err)
		report.Close()
		return err
	}
	started := time.Now()
	pid, _ := proc.Pid()
	fmt.Fprintf(report, "ok %d\n", pid)
	report.Close()
	oom, _ := c.NotifyOOM()
	st := cfg.wait(proc, oom)
	st.StartedAt = started
	// What the container's own children still hold open must not keep the
	// shim forever: the logs get a moment to drain.
	done := make(chan struct{})
	go func() { logs.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
	}
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return writeAtomic(filepath.Join(cfg.dir, exitFile), b)
}

// lockShim takes DIR/shim.lock for as long as the returned file is open
// (the kernel lets go of it when the shim ends, however it ends): while it
// is held, the container's exit is still to be written.
func lockShim(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("another shim runs container %s: %w", filepath.Base(dir), err)
	}
	return f, nil
}

// shimAlive reports whether the shim of the container in dir still lives,
// that is, whether its exit is still to be recorded.
func shimAlive(dir string) bool {
	f, err := os.Open(filepath.Join(dir, lockFile))
	if err != nil {
		return false
	}
	defer f.Close()
	return unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB) == unix.EWOULDBLOCK
}

// start creates and starts the container, its output going to the log.
func (cfg shimConfig) start() (*libcontainer.Container, *libcontainer.Process, *sync.WaitGroup, error) {
	b, err := os.ReadFile(filepath.Join(cfg.dir, specFile))
	if err != nil {
		return nil, nil, nil, err
	}
	var spec specs.Spec
	if err := json.Unmarshal(b, &spec); err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", specFile, err)
	}
	lcfg, err := specconv.CreateLibcontainerConfig(&specconv.CreateOpts{CgroupName: cfg.id, Spec: &spec})
	if err != nil {
		return nil, nil, nil, err
	}
	log, err := os.OpenFile(cfg.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("opening the log: %w", err)
	}
	c, err := libcontainer.Create(cfg.stateRoot, cfg.id, lcfg)
	if err != nil {
		log.Close()
		return nil, nil, nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, nil, nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		return nil, nil, nil, err
	}
	p := spec.Process
	proc := &libcontainer.Process{
		Args: p.Args, Env: p.Env, Cwd: p.Cwd,
		UID: int(p.User.UID), GID: int(p.User.GID), Stdout: outW, Stderr: errW, Init: true,
	}
	for _, g := range p.User.AdditionalGids {
		proc.AdditionalGroups = append(proc.AdditionalGroups, int(g))
	}
	if err := c.Run(proc); err != nil {
		outW.Close()
		errW.Close()
		_ = c.Destroy()
		log.Close()
		return nil, nil, nil, err
	}
	outW.Close()
	errW.Close()
	w := &logWriter{f: log}
	logs := &sync.WaitGroup{}
	logs.Go(func() { w.copy("stdout", outR) })
	logs.Go(func() { w.copy("stderr", errR) })
	go func() { logs.Wait(); log.Close() }()
	return c, proc, logs, nil
}

// wait waits for the container's process and says how it ended.
func (cfg shimConfig) wait(proc *libcontainer.Process, oom <-chan struct{}) exitStatus {
	ps, err := proc.Wait()
	var st exitStatus
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		ps = exitErr.ProcessState
	}
	if ps != nil {
		if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			st.ExitCode = 128 + int32(ws.Signal())
			st.Signal = unix.SignalName(ws.Signal())
		} else {
			st.ExitCode = int32(ps.ExitCode())
		}
	} else {
		st.ExitCode = 255
	}
	st.FinishedAt = time.Now()
	// The OOM event and the process's end race; a process killed by the
	// kernel gets a moment for the event to arrive.
	grace := time.Duration(0)
	if st.Signal == "SIGKILL" {
		grace = 200 * time.Millisecond
	}
	select {
	case <-oom:
		st.OOMKilled = true
	case <-time.After(grace):
	}
	return st
}

// logWriter writes a container's streams to one file in the CRI log
// format: "TIMESTAMP STREAM F|P LINE", F for the end of a line, P for part
// of a longer one.
type logWriter struct {
	mu sync.Mutex
	f  *os.File
}

func (w *logWriter) copy(stream string, r io.ReadCloser) {
	defer r.Close()
	br := bufio.NewReaderSize(r, logLineMax)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			tag := "P"
			if line[len(line)-1] == '\n' {
				tag, line = "F", line[:len(line)-1]
			}
			w.write(stream, tag, line)
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
}

func (w *logWriter) write(stream, tag string, line []byte) {
	var b strings.Builder
	b.WriteString(time.Now().UTC().Format(time.RFC3339Nano))
	b.WriteByte(' ')
	b.WriteString(stream)
	b.WriteByte(' ')
	b.WriteString(tag)
	b.WriteByte(' ')
	b.Write(line)
	b.WriteByte('\n')
	w.mu.Lock()
	defer w.mu.Unlock()
	_, _ = w.f.WriteString(b.String())
}

// startShim starts `SELF shim ...` for a container in its own session, so
// that it outlives the caller, and returns the container's PID once it
// runs, or the shim's error.
func startShim(self string, cfg shimConfig) (int, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	defer r.Close()
	devNull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		w.Close()
		return 0, err
	}
	defer devNull.Close()
	cmd := exec.Command(self, "shim", cfg.stateRoot, cfg.dir, cfg.id, cfg.logPath)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devNull, devNull, devNull
	cmd.ExtraFiles = []*os.File{w}
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		return 0, fmt.Errorf("starting the container's shim: %w", err)
	}
	w.Close()
	// The shim is reaped here when it ends, or by the node's init if this
	// process ends first.
	go func() { _ = cmd.Wait() }()
	line, err := bufio.NewReader(r).ReadString('\n')
	line = strings.TrimSpace(line)
	switch {
	case strings.HasPrefix(line, "ok "):
		return strconv.Atoi(strings.TrimPrefix(line, "ok "))
	case strings.HasPrefix(line, "error: "):
		return 0, errors.New(strings.TrimPrefix(line, "error: "))
	}
	return 0, fmt.Errorf("the container's shim ended without a word (%v)", err)
}

// readExit reads how a container ended; ok is false while it has not.
func readExit(dir string) (exitStatus, bool, error) {
	b, err := os.ReadFile(filepath.Join(dir, exitFile))
	if errors.Is(err, os.ErrNotExist) {
		return exitStatus{}, false, nil
	}
	if err != nil {
		return exitStatus{}, false, err
	}
	var st exitStatus
	if err := json.Unmarshal(b, &st); err != nil {
		return exitStatus{}, false, fmt.Errorf("%s: %w", exitFile, err)
	}
	return st, true, nil
}

// writeAtomic replaces path with b.
func writeAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
