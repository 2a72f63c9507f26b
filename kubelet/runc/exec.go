package runc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/console"
	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/utils"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/tendhq/tend/kubelet"
	"github.com/tendhq/tend/kubelet/runc/shim"
)

var _ kubelet.ExecRuntime = (*Runtime)(nil)

// outputDrain is how long a command's output is still copied after the
// command ended, for what its own children still print; a child that
// holds the output open longer is cut off, as the shim does for logs.
const outputDrain = 2 * time.Second

// Exec runs a command in a running container as `runc exec` does: it joins
// the container's namespaces and cgroup with the container's environment,
// working directory, user and capabilities (from its OCI spec), with a
// terminal when opts.TTY (TERM=xterm, as containerd sets it). It returns the
// command's exit code (128+N when a signal N ended it) once the command
// ended and its output was copied. ctx ending kills the command.
func (r *Runtime) Exec(ctx context.Context, id string, opts kubelet.ExecOptions) (int, error) {
	if len(opts.Cmd) == 0 {
		return 0, errors.New("exec: no command given")
	}
	if _, err := r.container(id); err != nil {
		return 0, err
	}
	lc, err := libcontainer.Load(r.stateRoot(), id)
	if err != nil {
		return 0, fmt.Errorf("container %s is not running: %w", id, err)
	}
	if st, err := lc.Status(); err != nil || st != libcontainer.Running {
		return 0, fmt.Errorf("container %s is not running", id)
	}
	var spec specs.Spec
	if err := readJSON(filepath.Join(r.containerDir(id), shim.SpecFile), &spec); err != nil {
		return 0, fmt.Errorf("container %s: %w", id, err)
	}
	p := spec.Process
	proc := &libcontainer.Process{Args: opts.Cmd, Env: p.Env, Cwd: p.Cwd, UID: int(p.User.UID), GID: int(p.User.GID)}
	for _, g := range p.User.AdditionalGids {
		proc.AdditionalGroups = append(proc.AdditionalGroups, int(g))
	}
	if opts.TTY {
		return r.execTTY(ctx, lc, proc, opts)
	}
	return execPipes(ctx, lc, proc, opts)
}

// execPipes runs proc with its standard streams on pipes this process
// copies, so that a caller's stdin that never ends cannot hold the command
// after it exited.
func execPipes(ctx context.Context, lc *libcontainer.Container, proc *libcontainer.Process, opts kubelet.ExecOptions) (int, error) {
	var parentEnds, childEnds []*os.File
	defer func() {
		for _, f := range append(parentEnds, childEnds...) {
			f.Close()
		}
	}()
	var copies sync.WaitGroup
	if opts.Stdin != nil {
		pr, pw, err := os.Pipe()
		if err != nil {
			return 0, err
		}
		parentEnds, childEnds = append(parentEnds, pw), append(childEnds, pr)
		proc.Stdin = pr
		go func() {
			_, _ = io.Copy(pw, opts.Stdin)
			pw.Close() // the command sees the end of its input
		}()
	}
	for _, out := range []struct {
		w   io.Writer
		set *io.Writer
	}{{opts.Stdout, &proc.Stdout}, {opts.Stderr, &proc.Stderr}} {
		if out.w == nil {
			continue
		}
		pr, pw, err := os.Pipe()
		if err != nil {
			return 0, err
		}
		parentEnds, childEnds = append(parentEnds, pr), append(childEnds, pw)
		*out.set = pw
		copies.Go(func() { _, _ = io.Copy(out.w, pr) })
	}
	if err := lc.Run(proc); err != nil {
		return 0, fmt.Errorf("exec in container %s: %w", lc.ID(), err)
	}
	for _, f := range childEnds {
		f.Close()
	}
	childEnds = nil
	code, err := waitProcess(ctx, proc)
	drained := make(chan struct{})
	go func() { copies.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(outputDrain):
	}
	return code, err
}

// execTTY runs proc on a terminal whose master end libcontainer sends
// over a socket, as `runc exec -t` does.
func (r *Runtime) execTTY(ctx context.Context, lc *libcontainer.Container, proc *libcontainer.Process, opts kubelet.ExecOptions) (int, error) {
	parent, child, err := utils.NewSockPair("console")
	if err != nil {
		return 0, err
	}
	defer parent.Close()
	proc.ConsoleSocket = child
	proc.Env = append(withoutEnv(proc.Env, "TERM"), "TERM=xterm")
	if err := lc.Run(proc); err != nil {
		child.Close()
		return 0, fmt.Errorf("exec in container %s: %w", lc.ID(), err)
	}
	child.Close()
	master, err := utils.RecvFile(parent)
	if err != nil {
		_ = proc.Signal(unix.SIGKILL)
		_, _ = proc.Wait()
		return 0, fmt.Errorf("exec in container %s: receiving its terminal: %w", lc.ID(), err)
	}
	defer master.Close()
	con, err := console.ConsoleFromFile(master)
	if err != nil {
		_ = proc.Signal(unix.SIGKILL)
		_, _ = proc.Wait()
		return 0, err
	}
	stopResize := make(chan struct{})
	defer close(stopResize)
	if opts.Resize != nil {
		go func() {
			for {
				select {
				case size, ok := <-opts.Resize:
					if !ok {
						return
					}
					_ = con.Resize(console.WinSize{Width: size.Width, Height: size.Height})
				case <-stopResize:
					return
				}
			}
		}()
	}
	if opts.Stdin != nil {
		go func() { _, _ = io.Copy(master, opts.Stdin) }()
	}
	output := make(chan struct{})
	go func() {
		defer close(output)
		if opts.Stdout != nil {
			_, _ = io.Copy(opts.Stdout, master) // ends with EIO once the terminal's last user is gone
		} else {
			_, _ = io.Copy(io.Discard, master)
		}
	}()
	code, err := waitProcess(ctx, proc)
	select {
	case <-output:
	case <-time.After(outputDrain):
	}
	return code, err
}

func withoutEnv(env []string, name string) []string {
	out := make([]string, 0, len(env))
	for _, e := range env {
		if !strings.HasPrefix(e, name+"=") {
			out = append(out, e)
		}
	}
	return out
}

// waitProcess waits for an exec'd process, killing it when ctx ends, and
// returns its exit code.
func waitProcess(ctx context.Context, proc *libcontainer.Process) (int, error) {
	type result struct {
		ps  *os.ProcessState
		err error
	}
	done := make(chan result, 1)
	go func() { ps, err := proc.Wait(); done <- result{ps, err} }()
	var res result
	select {
	case res = <-done:
	case <-ctx.Done():
		_ = proc.Signal(unix.SIGKILL)
		res = <-done
	}
	ps := res.ps
	var exitErr *exec.ExitError
	if errors.As(res.err, &exitErr) {
		ps = exitErr.ProcessState
	}
	if ps == nil {
		return 0, fmt.Errorf("waiting for the command: %w", res.err)
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal()), ctx.Err()
	}
	return ps.ExitCode(), nil
}

// Attach connects to a running container's main process: its output from
// now on, read from the end of its log as it grows (each CRI log entry's
// content to Stdout or Stderr by its stream), and, when the container was
// created with stdin (spec stdin), opts.Stdin to its standard input through
// the FIFO its shim keeps. Attaching to a container with a terminal (spec
// tty) is not supported: its output is not on a terminal this runtime
// keeps. It returns when the container ends or ctx does.
func (r *Runtime) Attach(ctx context.Context, id string, opts kubelet.ExecOptions) error {
	rec, err := r.container(id)
	if err != nil {
		return err
	}
	if opts.TTY {
		return fmt.Errorf("container %s: attaching to a container with a terminal (tty: true) is not supported by this runtime", id)
	}
	st := r.status(rec)
	if st.State != kubelet.ContainerRunning {
		return fmt.Errorf("container %s is not running", id)
	}
	// The output from now on: the log's end is found before any input
	// is fed, so that what the input makes is seen.
	f, err := os.Open(rec.LogPath)
	if err != nil {
		return fmt.Errorf("container %s: %w", id, err)
	}
	defer func() { f.Close() }()
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if opts.Stdin != nil {
		fifo := filepath.Join(r.containerDir(id), shim.StdinFIFO)
		if _, err := os.Stat(fifo); err != nil {
			// Upstream attaches the output alone when the container has
			// no stdin; the caller's input goes nowhere.
			opts.Stdin = nil
		} else {
			go func() {
				f, err := openFIFOWrite(ctx, fifo)
				if err != nil {
					return
				}
				defer f.Close()
				_, _ = io.Copy(f, opts.Stdin)
			}()
		}
	}
	br := bufio.NewReader(f)
	var partial []byte
	for {
		line, err := br.ReadBytes('\n')
		if err == nil {
			partial = append(partial, line...)
			writeLogEntry(partial, opts.Stdout, opts.Stderr)
			partial = partial[:0]
			continue
		}
		partial = append(partial, line...)
		// At the end of the file: the container may have ended, or its log
		// been rotated to a new file.
		if st := r.status(rec); st.State != kubelet.ContainerRunning {
			return nil
		}
		if rotated(f, rec.LogPath) {
			nf, err := os.Open(rec.LogPath)
			if err == nil {
				f.Close()
				f = nf
				br.Reset(f)
				continue
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// rotated reports whether path no longer names the open file f.
func rotated(f *os.File, path string) bool {
	a, err1 := f.Stat()
	b, err2 := os.Stat(path)
	return err1 == nil && err2 == nil && !os.SameFile(a, b)
}

// writeLogEntry writes one CRI log line's content to the writer of its
// stream, with its newline when the entry ends a line ("F").
func writeLogEntry(line []byte, stdout, stderr io.Writer) {
	f := strings.SplitN(strings.TrimSuffix(string(line), "\n"), " ", 4)
	if len(f) < 3 {
		return
	}
	content := ""
	if len(f) == 4 {
		content = f[3]
	}
	if f[2] == "F" {
		content += "\n"
	}
	w := stdout
	if f[1] == "stderr" {
		w = stderr
	}
	if w != nil {
		_, _ = io.WriteString(w, content)
	}
}

// openFIFOWrite opens a FIFO for writing, waiting (until ctx ends) for its
// reader, the shim, without blocking a thread.
func openFIFOWrite(ctx context.Context, path string) (*os.File, error) {
	for {
		fd, err := unix.Open(path, unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
		if err == nil {
			if err := unix.SetNonblock(fd, false); err != nil {
				unix.Close(fd)
				return nil, err
			}
			return os.NewFile(uintptr(fd), path), nil
		}
		if !errors.Is(err, unix.ENXIO) {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// PortForward connects stream to port on the loopback of the sandbox's
// network namespace, as containerd does: 127.0.0.1 first, then ::1. A
// host-network sandbox's loopback is the node's. Data is copied both ways
// until one side ends; the other gets a second to finish.
func (r *Runtime) PortForward(ctx context.Context, sandboxID string, port int32, stream io.ReadWriteCloser) error {
	sb, err := r.sandbox(sandboxID)
	if err != nil {
		return err
	}
	if sb.Stopped || !sb.Pause.alive() {
		return fmt.Errorf("sandbox %s is not running", sandboxID)
	}
	if port <= 0 || port > 65535 {
		return fmt.Errorf("port %d is not a valid port", port)
	}
	nsPath := ""
	if !sb.HostNetwork {
		nsPath = sb.Pause.namespace("net")
	}
	conn, err := dialLoopback(ctx, nsPath, int(port))
	if err != nil {
		return fmt.Errorf("sandbox %s: %w", sandboxID, err)
	}
	defer conn.Close()
	errs := make(chan error, 2)
	go func() {
		_, err := io.Copy(stream, conn)
		errs <- err
	}()
	go func() {
		_, err := io.Copy(conn, stream)
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		errs <- err
	}()
	var first error
	select {
	case first = <-errs:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-errs:
	case <-time.After(time.Second):
	}
	return first
}

// dialLoopback connects to port on the loopback of the network namespace
// at nsPath (the caller's own when empty).
func dialLoopback(ctx context.Context, nsPath string, port int) (net.Conn, error) {
	dial := func(network, addr string) (net.Conn, error) {
		d := net.Dialer{Timeout: 10 * time.Second}
		return d.DialContext(ctx, network, net.JoinHostPort(addr, strconv.Itoa(port)))
	}
	if nsPath != "" {
		dial = func(network, addr string) (net.Conn, error) {
			return dialInNetns(ctx, nsPath, network, net.JoinHostPort(addr, strconv.Itoa(port)))
		}
	}
	conn, err4 := dial("tcp4", "127.0.0.1")
	if err4 == nil {
		return conn, nil
	}
	conn, err6 := dial("tcp6", "::1")
	if err6 == nil {
		return conn, nil
	}
	return nil, fmt.Errorf("failed to connect to localhost:%d inside the pod's network namespace, IPv4: %v IPv6 %v", port, err4, err6)
}

// dialInNetns dials from a thread moved into the network namespace at
// nsPath: the socket belongs to the namespace it was made in. The thread
// is moved back, or, if that fails, left locked so that it dies with its
// goroutine.
func dialInNetns(ctx context.Context, nsPath, network, addr string) (net.Conn, error) {
	type result struct {
		conn net.Conn
		err  error
	}
	done := make(chan result, 1)
	go func() {
		goruntime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			goruntime.UnlockOSThread()
			done <- result{nil, err}
			return
		}
		defer orig.Close()
		target, err := netns.GetFromPath(nsPath)
		if err != nil {
			goruntime.UnlockOSThread()
			done <- result{nil, fmt.Errorf("opening network namespace %s: %w", nsPath, err)}
			return
		}
		defer target.Close()
		if err := netns.Set(target); err != nil {
			goruntime.UnlockOSThread()
			done <- result{nil, fmt.Errorf("entering network namespace %s: %w", nsPath, err)}
			return
		}
		// Making the socket here is what counts; the connect that follows
		// may finish on any thread.
		d := net.Dialer{Timeout: 10 * time.Second}
		conn, err := d.DialContext(ctx, network, addr)
		if netns.Set(orig) == nil {
			goruntime.UnlockOSThread()
		}
		done <- result{conn, err}
	}()
	res := <-done
	return res.conn, res.err
}
