package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/cri-streaming/pkg/streaming/portforward"
	"k8s.io/cri-streaming/pkg/streaming/remotecommand"
	utilexec "k8s.io/utils/exec"

	"github.com/tendhq/tend/kubelet"
)

// errNoExec is the answer of a node whose runtime runs no processes.
var errNoExec = errors.New("this node's container runtime does not run processes: exec, attach and port-forward are not supported on it")

// serveExec runs a command in a container, as upstream's /exec.
func (s *Server) serveExec(w http.ResponseWriter, r *http.Request) {
	pod, id, opts, ok := s.streamTarget(w, r)
	if !ok {
		return
	}
	cmd := r.URL.Query()["command"]
	remotecommand.ServeExec(w, r, executor{s.exec, id, opts}, pod.Name, string(pod.UID), r.PathValue("container"), cmd, opts,
		s.cfg.StreamIdleTimeout, s.cfg.StreamCreationTimeout, remotecommand.SupportedStreamingProtocols)
}

// serveAttach attaches to a container's main process, as upstream's /attach.
func (s *Server) serveAttach(w http.ResponseWriter, r *http.Request) {
	pod, id, opts, ok := s.streamTarget(w, r)
	if !ok {
		return
	}
	remotecommand.ServeAttach(w, r, executor{s.exec, id, opts}, pod.Name, string(pod.UID), r.PathValue("container"), opts,
		s.cfg.StreamIdleTimeout, s.cfg.StreamCreationTimeout, remotecommand.SupportedStreamingProtocols)
}

// streamTarget reads what an exec or attach asks for: its stream options,
// the pod and the running container's ID. When ok is false the answer was
// written.
func (s *Server) streamTarget(w http.ResponseWriter, r *http.Request) (pod *corev1.Pod, id string, opts *remotecommand.Options, ok bool) {
	opts, err := remotecommand.NewOptions(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return nil, "", nil, false
	}
	if pod, ok = s.pod(w, r); !ok {
		return nil, "", nil, false
	}
	if id, ok = s.runningContainer(w, r, pod); !ok {
		return nil, "", nil, false
	}
	return pod, id, opts, true
}

// servePortForward forwards connections to ports of a pod, as upstream's
// /portForward.
func (s *Server) servePortForward(w http.ResponseWriter, r *http.Request) {
	opts, err := portforward.NewV4Options(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	pod, ok := s.pod(w, r)
	if !ok {
		return
	}
	if s.exec == nil {
		writeError(w, http.StatusNotImplemented, errNoExec)
		return
	}
	sandboxes, err := s.cfg.Runtime.ListPodSandboxes(r.Context(), pod.UID)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	var sandbox string
	for _, sb := range sandboxes {
		if sb.State == kubelet.SandboxReady {
			sandbox = sb.ID
		}
	}
	if sandbox == "" {
		writeError(w, http.StatusNotFound, fmt.Errorf("pod %q has no running sandbox", pod.Name))
		return
	}
	portforward.ServePortForward(w, r, forwarder{s.exec, sandbox}, pod.Name, string(pod.UID), opts,
		s.cfg.StreamIdleTimeout, s.cfg.StreamCreationTimeout, portforward.SupportedProtocols)
}

// runningContainer finds the running instance of the request's container
// of pod, answering the request when there is none.
func (s *Server) runningContainer(w http.ResponseWriter, r *http.Request, pod *corev1.Pod) (string, bool) {
	if s.exec == nil {
		writeError(w, http.StatusNotImplemented, errNoExec)
		return "", false
	}
	name := r.PathValue("container")
	cs, err := s.cfg.Runtime.ListContainers(r.Context(), pod.UID)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return "", false
	}
	var found *kubelet.ContainerStatus
	for i := range cs {
		c := &cs[i]
		if c.Name == name && c.State == kubelet.ContainerRunning && (found == nil || c.CreatedAt.After(found.CreatedAt)) {
			found = c
		}
	}
	if found == nil {
		writeError(w, http.StatusNotFound, fmt.Errorf("container not found (%q)", name))
		return "", false
	}
	return found.ID, true
}

// executor runs exec and attach on one container of an ExecRuntime.
type executor struct {
	rt   kubelet.ExecRuntime
	id   string
	want *remotecommand.Options
}

func (e executor) ExecInContainer(ctx context.Context, _, _, _ string, cmd []string, in io.Reader, out, errw io.WriteCloser,
	tty bool, resize <-chan remotecommand.TerminalSize, timeout time.Duration) error {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	opts, stop := execOptions(e.want, in, out, errw, tty, resize)
	defer stop()
	opts.Cmd = cmd
	code, err := e.rt.Exec(ctx, e.id, opts)
	if err != nil {
		return err
	}
	if code != 0 {
		return &utilexec.CodeExitError{Err: fmt.Errorf("command '%s' exited with %d", strings.Join(cmd, " "), code), Code: code}
	}
	return nil
}

func (e executor) AttachContainer(ctx context.Context, _, _, _ string, in io.Reader, out, errw io.WriteCloser,
	tty bool, resize <-chan remotecommand.TerminalSize) error {
	opts, stop := execOptions(e.want, in, out, errw, tty, resize)
	defer stop()
	return e.rt.Attach(ctx, e.id, opts)
}

// execOptions are the runtime's options for the streams a client opened;
// stop ends the goroutine relaying terminal sizes.
func execOptions(want *remotecommand.Options, in io.Reader, out, errw io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize) (kubelet.ExecOptions, func()) {
	opts := kubelet.ExecOptions{TTY: tty}
	// Only the streams the client asked for: a WebSocket connection has
	// every channel, used or not.
	if in != nil && want.Stdin {
		opts.Stdin = in
	}
	if out != nil && want.Stdout {
		opts.Stdout = out
	}
	if errw != nil && want.Stderr {
		opts.Stderr = errw
	}
	done := make(chan struct{})
	if resize != nil {
		sizes := make(chan kubelet.TerminalSize)
		opts.Resize = sizes
		go func() {
			for {
				select {
				case sz, ok := <-resize:
					if !ok {
						return
					}
					select {
					case sizes <- kubelet.TerminalSize{Width: sz.Width, Height: sz.Height}:
					case <-done:
						return
					}
				case <-done:
					return
				}
			}
		}()
	}
	return opts, func() { close(done) }
}

// forwarder forwards to one sandbox of an ExecRuntime.
type forwarder struct {
	rt      kubelet.ExecRuntime
	sandbox string
}

func (f forwarder) PortForward(ctx context.Context, _, _ string, port int32, stream io.ReadWriteCloser) error {
	return f.rt.PortForward(ctx, f.sandbox, port, stream)
}
