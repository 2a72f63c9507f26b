package shim

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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
//	stdin         a FIFO whose writers' data the shim copies to the
//	              container's standard input, for containers with stdin
const (
	SpecFile  = "config.json"
	ExitFile  = "exit.json"
	LockFile  = "shim.lock"
	StdinFIFO = "stdin"
)

// ExitStatus is how a container ended, as its shim saw it.
type ExitStatus struct {
	ExitCode   int32     `json:"exitCode"`
	Signal     string    `json:"signal,omitempty"`
	OOMKilled  bool      `json:"oomKilled,omitempty"`
	StartedAt  time.Time `json:"startedAt"`
	FinishedAt time.Time `json:"finishedAt"`
}

// Config is what a shim is told on its command line (Args).
type Config struct {
	StateRoot string // libcontainer's root
	Dir       string // the container's directory: config.json, exit.json
	ID        string
	LogPath   string
	// MaxLogSize and MaxLogFiles rotate the log (0: never).
	MaxLogSize  int64
	MaxLogFiles int
	// Stdin is "" (none), "keep" or "once" (see StdinFIFO).
	Stdin string
}

// args are the shim's command-line arguments after "shim".
func (cfg Config) Args() []string {
	out := []string{cfg.StateRoot, cfg.Dir, cfg.ID, cfg.LogPath}
	if cfg.MaxLogSize > 0 {
		out = append(out, fmt.Sprintf("max-log-size=%d", cfg.MaxLogSize), fmt.Sprintf("max-log-files=%d", cfg.MaxLogFiles))
	}
	if cfg.Stdin != "" {
		out = append(out, "stdin="+cfg.Stdin)
	}
	return out
}

// ParseArgs reads what args wrote.
func ParseArgs(args []string) (Config, error) {
	if len(args) < 4 {
		return Config{}, errors.New("usage: tend shim STATE DIR ID LOG [max-log-size=N max-log-files=N] [stdin=keep|once]")
	}
	cfg := Config{StateRoot: args[0], Dir: args[1], ID: args[2], LogPath: args[3]}
	for _, a := range args[4:] {
		k, v, _ := strings.Cut(a, "=")
		var err error
		switch k {
		case "max-log-size":
			cfg.MaxLogSize, err = strconv.ParseInt(v, 10, 64)
		case "max-log-files":
			cfg.MaxLogFiles, err = strconv.Atoi(v)
		case "stdin":
			if v != "keep" && v != "once" {
				err = errors.New("want keep or once")
			}
			cfg.Stdin = v
		default:
			err = errors.New("unknown argument")
		}
		if err != nil {
			return Config{}, fmt.Errorf("tend shim: %q: %w", a, err)
		}
	}
	return cfg, nil
}

// LogLineMax is the longest line a log entry holds; longer lines are cut
// into partial ("P") entries, as the CRI log format says.
const LogLineMax = 16 << 10

// Run is `BINARY shim STATE DIR ID LOG [max-log-size=N max-log-files=N]
// [stdin=keep|once]`: it runs one container and outlives the kubelet that
// started it. It creates and starts the container from DIR/config.json with
// libcontainer (state under STATE), reports "ok PID" or the error on file
// descriptor 3 and closes it, writes what the container prints to LOG in the
// CRI log format, and when the container exits records how in DIR/exit.json
// (atomically) and exits itself.
//
// With max-log-size, LOG is rotated as upstream's container log manager
// does once it exceeds that many bytes: renamed LOG.YYYYMMDD-hhmmss and
// started anew, keeping at most max-log-files files in all. With stdin, the
// container's standard input is fed from the FIFO DIR/stdin: what each
// writer of it (an attach) writes; with stdin=once it is closed when the
// first writer is done, as a pod's stdinOnce says.
func Run(args []string) error {
	cfg, err := ParseArgs(args)
	if err != nil {
		return err
	}
	report := os.NewFile(3, "report")
	lock, err := lock(cfg.Dir)
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
	return WriteAtomic(filepath.Join(cfg.Dir, ExitFile), b)
}

// lock takes DIR/shim.lock for as long as the returned file is open
// (the kernel lets go of it when the shim ends, however it ends): while it
// is held, the container's exit is still to be written.
func lock(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, LockFile), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("another shim runs container %s: %w", filepath.Base(dir), err)
	}
	return f, nil
}

// Alive reports whether the shim of the container in dir still lives,
// that is, whether its exit is still to be recorded.
func Alive(dir string) bool {
	f, err := os.Open(filepath.Join(dir, LockFile))
	if err != nil {
		return false
	}
	defer f.Close()
	return unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB) == unix.EWOULDBLOCK
}

// start creates and starts the container, its output going to the log.
func (cfg Config) start() (*libcontainer.Container, *libcontainer.Process, *sync.WaitGroup, error) {
	b, err := os.ReadFile(filepath.Join(cfg.Dir, SpecFile))
	if err != nil {
		return nil, nil, nil, err
	}
	var spec specs.Spec
	if err := json.Unmarshal(b, &spec); err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", SpecFile, err)
	}
	lcfg, err := specconv.CreateLibcontainerConfig(&specconv.CreateOpts{CgroupName: cfg.ID, Spec: &spec})
	if err != nil {
		return nil, nil, nil, err
	}
	log, err := os.OpenFile(cfg.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("opening the log: %w", err)
	}
	var stdin *os.File
	if cfg.Stdin != "" {
		fifo := filepath.Join(cfg.Dir, StdinFIFO)
		_ = os.Remove(fifo)
		if err := unix.Mkfifo(fifo, 0o600); err != nil {
			log.Close()
			return nil, nil, nil, fmt.Errorf("making the stdin FIFO: %w", err)
		}
		r, w, err := os.Pipe()
		if err != nil {
			log.Close()
			return nil, nil, nil, err
		}
		defer r.Close()
		stdin = r
		go feedStdin(fifo, w, cfg.Stdin == "once")
	}
	c, err := libcontainer.Create(cfg.StateRoot, cfg.ID, lcfg)
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
	if stdin != nil {
		proc.Stdin = stdin
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
	w := &logWriter{f: log, path: cfg.LogPath, maxSize: cfg.MaxLogSize, maxFiles: cfg.MaxLogFiles}
	if st, err := log.Stat(); err == nil {
		w.size = st.Size()
	}
	logs := &sync.WaitGroup{}
	logs.Go(func() { w.copy("stdout", outR) })
	logs.Go(func() { w.copy("stderr", errR) })
	go func() {
		logs.Wait()
		w.mu.Lock()
		w.f.Close()
		w.mu.Unlock()
	}()
	return c, proc, logs, nil
}

// wait waits for the container's process and says how it ended.
func (cfg Config) wait(proc *libcontainer.Process, oom <-chan struct{}) ExitStatus {
	ps, err := proc.Wait()
	var st ExitStatus
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

// feedStdin copies what each writer of the FIFO writes to the container's
// standard input w, until the container ends (or, with once, the first
// writer is done).
func feedStdin(fifo string, w *os.File, once bool) {
	defer w.Close()
	for {
		// Opening for reading waits for a writer.
		f, err := os.OpenFile(fifo, os.O_RDONLY, 0)
		if err != nil {
			return
		}
		_, err = io.Copy(w, f)
		f.Close()
		if once || errors.Is(err, unix.EPIPE) {
			return
		}
	}
}

// logWriter writes a container's streams to one file in the CRI log
// format: "TIMESTAMP STREAM F|P LINE", F for the end of a line, P for part
// of a longer one; it rotates the file past maxSize bytes (see Shim).
type logWriter struct {
	mu       sync.Mutex
	f        *os.File
	path     string
	size     int64
	maxSize  int64
	maxFiles int
}

// rotationTimestamp is the suffix of a rotated log, upstream's.
const rotationTimestamp = "20060102-150405"

func (w *logWriter) copy(stream string, r io.ReadCloser) {
	defer r.Close()
	br := bufio.NewReaderSize(r, LogLineMax)
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
	n, _ := w.f.WriteString(b.String())
	w.size += int64(n)
	if w.maxSize > 0 && w.size > w.maxSize {
		w.rotateLocked(time.Now())
	}
}

// rotateLocked renames the log LOG.TIMESTAMP, opens a new one and removes
// the oldest rotated files beyond maxFiles-1. A failure keeps writing to
// the file it has.
func (w *logWriter) rotateLocked(now time.Time) {
	rotated := w.path + "." + now.UTC().Format(rotationTimestamp)
	for i := 1; ; i++ {
		if _, err := os.Lstat(rotated); errors.Is(err, os.ErrNotExist) {
			break
		}
		rotated = fmt.Sprintf("%s.%s-%d", w.path, now.UTC().Format(rotationTimestamp), i)
	}
	if err := os.Rename(w.path, rotated); err != nil {
		return
	}
	f, err := os.OpenFile(w.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		_ = os.Rename(rotated, w.path)
		return
	}
	old := w.f
	w.f, w.size = f, 0
	old.Close()
	olds, _ := filepath.Glob(w.path + ".*")
	slices.Sort(olds) // timestamps sort in time order
	keep := max(w.maxFiles-1, 1)
	for len(olds) > keep {
		_ = os.Remove(olds[0])
		olds = olds[1:]
	}
}

// Start starts `BINARY shim ...` (see Run) for a container in its own session, so
// that it outlives the caller, and returns the container's PID once it
// runs, or the shim's error.
func Start(binary string, cfg Config) (int, error) {
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
	cmd := exec.Command(binary, append([]string{"shim"}, cfg.Args()...)...)
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

// ReadExit reads how a container ended; ok is false while it has not.
func ReadExit(dir string) (ExitStatus, bool, error) {
	b, err := os.ReadFile(filepath.Join(dir, ExitFile))
	if errors.Is(err, os.ErrNotExist) {
		return ExitStatus{}, false, nil
	}
	if err != nil {
		return ExitStatus{}, false, err
	}
	var st ExitStatus
	if err := json.Unmarshal(b, &st); err != nil {
		return ExitStatus{}, false, fmt.Errorf("%s: %w", ExitFile, err)
	}
	return st, true, nil
}

// WriteAtomic replaces path with b: readers see the old content or the new,
// never part of it.
func WriteAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
