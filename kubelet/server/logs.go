package server

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tendhq/tend/kubelet"
)

// serveLogs answers /containerLogs: what a container printed, from its CRI
// log file, as upstream's kubelet does.
func (s *Server) serveLogs(w http.ResponseWriter, r *http.Request) {
	opts, err := parseLogOptions(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	podName, name := r.PathValue("pod"), r.PathValue("container")
	pod, ok := s.cfg.GetPod(r.PathValue("namespace"), podName)
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Errorf("pod %q does not exist", podName))
		return
	}
	if !hasContainer(pod, name) {
		writeError(w, http.StatusNotFound, fmt.Errorf("container %q not found in pod %q", name, podName))
		return
	}
	id, err := logContainerID(pod, name, opts.Previous)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	st, err := s.cfg.Runtime.ContainerStatus(r.Context(), id)
	if errors.Is(err, kubelet.ErrNotFound) {
		writeError(w, http.StatusBadRequest, fmt.Errorf("container %q in pod %q is not available", name, podName))
		return
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	if st.LogPath == "" {
		writeError(w, http.StatusBadRequest, fmt.Errorf("container %q in pod %q keeps no logs on this node", name, podName))
		return
	}
	running := func() bool {
		st, err := s.cfg.Runtime.ContainerStatus(context.WithoutCancel(r.Context()), id)
		return err == nil && (st.State == kubelet.ContainerRunning || st.State == kubelet.ContainerCreated)
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("Transfer-Encoding", "chunked")
	w.WriteHeader(http.StatusOK)
	fw := &flushWriter{w: w, rc: http.NewResponseController(w)}
	if err := ReadLogs(r.Context(), st.LogPath, opts, fw, running, s.cfg.LogPollInterval); err != nil {
		s.cfg.Logf("kubelet server: logs of container %s of pod %s/%s: %v", name, pod.Namespace, podName, err)
	}
}

// flushWriter flushes every write: a followed log is read as it comes.
type flushWriter struct {
	w  io.Writer
	rc *http.ResponseController
}

func (f *flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if err == nil {
		err = f.rc.Flush()
	}
	return n, err
}

func hasContainer(pod *corev1.Pod, name string) bool {
	for _, c := range pod.Spec.Containers {
		if c.Name == name {
			return true
		}
	}
	for _, c := range pod.Spec.InitContainers {
		if c.Name == name {
			return true
		}
	}
	for _, c := range pod.Spec.EphemeralContainers {
		if c.Name == name {
			return true
		}
	}
	return false
}

// logContainerID is the runtime ID of the container instance whose log is
// asked for, from the pod's status, with upstream's kubelet's errors
// (validateContainerLogStatus).
func logContainerID(pod *corev1.Pod, name string, previous bool) (string, error) {
	var cs *corev1.ContainerStatus
	for _, list := range [][]corev1.ContainerStatus{pod.Status.ContainerStatuses, pod.Status.InitContainerStatuses, pod.Status.EphemeralContainerStatuses} {
		for i := range list {
			if list[i].Name == name {
				cs = &list[i]
			}
		}
	}
	if cs == nil {
		return "", fmt.Errorf("container %q in pod %q is not available", name, pod.Name)
	}
	last := cs.LastTerminationState.Terminated
	waiting, running, terminated := cs.State.Waiting, cs.State.Running, cs.State.Terminated
	switch {
	case previous:
		if last == nil || last.ContainerID == "" {
			return "", fmt.Errorf("previous terminated container %q in pod %q not found", name, pod.Name)
		}
		return runtimeID(last.ContainerID), nil
	case running != nil:
		return runtimeID(cs.ContainerID), nil
	case terminated != nil:
		if terminated.ContainerID != "" {
			return runtimeID(terminated.ContainerID), nil
		}
		if last != nil && last.ContainerID != "" {
			return runtimeID(last.ContainerID), nil
		}
		return "", fmt.Errorf("container %q in pod %q is terminated", name, pod.Name)
	case last != nil:
		if last.ContainerID == "" {
			return "", fmt.Errorf("container %q in pod %q is terminated", name, pod.Name)
		}
		return runtimeID(last.ContainerID), nil
	case waiting != nil:
		switch waiting.Reason {
		case "ErrImagePull":
			return "", fmt.Errorf("container %q in pod %q is waiting to start: image can't be pulled", name, pod.Name)
		case "ImagePullBackOff":
			return "", fmt.Errorf("container %q in pod %q is waiting to start: trying and failing to pull image", name, pod.Name)
		default:
			return "", fmt.Errorf("container %q in pod %q is waiting to start: %v", name, pod.Name, waiting.Reason)
		}
	}
	if cs.ContainerID != "" {
		return runtimeID(cs.ContainerID), nil
	}
	return "", fmt.Errorf("container %q in pod %q is waiting to start: ContainerCreating", name, pod.Name)
}

// parseLogOptions reads the kubelet's /containerLogs query: the fields of
// PodLogOptions by their JSON names.
func parseLogOptions(q url.Values) (*corev1.PodLogOptions, error) {
	opts := &corev1.PodLogOptions{}
	boolean := func(name string, dst *bool) error {
		if v := q.Get(name); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("%s=%q is not a boolean", name, v)
			}
			*dst = b
		}
		return nil
	}
	integer := func(name string, dst **int64) error {
		if v := q.Get(name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return fmt.Errorf("%s=%q is not an integer", name, v)
			}
			*dst = &n
		}
		return nil
	}
	for _, err := range []error{
		boolean("follow", &opts.Follow), boolean("previous", &opts.Previous), boolean("timestamps", &opts.Timestamps),
		integer("tailLines", &opts.TailLines), integer("limitBytes", &opts.LimitBytes), integer("sinceSeconds", &opts.SinceSeconds),
	} {
		if err != nil {
			return nil, err
		}
	}
	if v := q.Get("sinceTime"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return nil, fmt.Errorf("sinceTime=%q is not an RFC 3339 time", v)
		}
		opts.SinceTime = &metav1.Time{Time: t}
	}
	switch {
	case opts.TailLines != nil && *opts.TailLines < 0:
		return nil, errors.New("TailLines must be a non-negative integer")
	case opts.LimitBytes != nil && *opts.LimitBytes <= 0:
		return nil, errors.New("LimitBytes must be a positive integer")
	case opts.SinceSeconds != nil && *opts.SinceSeconds <= 0:
		return nil, errors.New("SinceSeconds must be a positive integer")
	case opts.SinceSeconds != nil && opts.SinceTime != nil:
		return nil, errors.New("at most one of sinceTime or sinceSeconds may be specified")
	}
	return opts, nil
}

// ReadLogs writes the content of the CRI-format log at path to w as opts
// say (tailLines, sinceSeconds/sinceTime, timestamps, limitBytes,
// follow). Following, it polls the file every poll, reopens it when it was
// rotated (renamed and started anew), and ends once running reports the
// container ended and the file has nothing more, or when ctx ends.
func ReadLogs(ctx context.Context, path string, opts *corev1.PodLogOptions, w io.Writer, running func() bool, poll time.Duration) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer func() { f.Close() }()
	if opts.TailLines != nil {
		off, err := tailOffset(f, *opts.TailLines)
		if err != nil {
			return err
		}
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			return err
		}
	}
	var since time.Time
	switch {
	case opts.SinceTime != nil:
		since = opts.SinceTime.Time
	case opts.SinceSeconds != nil:
		since = time.Now().Add(-time.Duration(*opts.SinceSeconds) * time.Second)
	}
	limit := int64(-1)
	if opts.LimitBytes != nil {
		limit = *opts.LimitBytes
	}
	br := bufio.NewReaderSize(f, 32<<10)
	var pending []byte
	ended := false
	for {
		line, err := br.ReadBytes('\n')
		if err == nil {
			if len(pending) > 0 {
				line = append(pending, line...)
				pending = nil
			}
			out, ok := formatEntry(line, since, opts.Timestamps)
			if !ok {
				continue
			}
			if limit >= 0 && int64(len(out)) >= limit {
				_, err := w.Write(out[:limit])
				return err
			}
			if _, err := w.Write(out); err != nil {
				return err
			}
			if limit >= 0 {
				limit -= int64(len(out))
			}
			continue
		}
		if !errors.Is(err, io.EOF) {
			return err
		}
		pending = append(pending, line...)
		if !opts.Follow || ended {
			return nil
		}
		if rotated(f, path) {
			if nf, err := os.Open(path); err == nil {
				f.Close()
				f = nf
				br.Reset(f)
				pending = nil
				continue
			}
		}
		if !running() {
			// One more read for what was written before it ended.
			ended = true
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(poll):
		}
	}
}

// rotated reports whether path no longer names the open file f.
func rotated(f *os.File, path string) bool {
	a, err1 := f.Stat()
	b, err2 := os.Stat(path)
	return err1 == nil && err2 == nil && !os.SameFile(a, b)
}

// formatEntry turns one CRI log line, "TIMESTAMP STREAM F|P CONTENT\n",
// into what a reader sees: its content, with its newline when it ends a
// line (F), after its timestamp when asked. Entries before since, and
// lines that are not entries, are skipped.
func formatEntry(line []byte, since time.Time, timestamps bool) ([]byte, bool) {
	line = bytes.TrimSuffix(line, []byte("\n"))
	ts, rest, ok := bytes.Cut(line, []byte(" "))
	if !ok {
		return nil, false
	}
	_, rest, ok = bytes.Cut(rest, []byte(" ")) // the stream
	if !ok {
		return nil, false
	}
	tag, content, _ := bytes.Cut(rest, []byte(" "))
	t, err := time.Parse(time.RFC3339Nano, string(ts))
	if err != nil {
		return nil, false
	}
	if !since.IsZero() && t.Before(since) {
		return nil, false
	}
	var out []byte
	if timestamps {
		out = append(out, t.Format(time.RFC3339Nano)...)
		out = append(out, ' ')
	}
	out = append(out, content...)
	if string(tag) != "P" {
		out = append(out, '\n')
	}
	return out, true
}

// tailOffset is where the last n lines of f start.
func tailOffset(f *os.File, n int64) (int64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	end := st.Size()
	if n == 0 {
		return end, nil
	}
	const block = 32 << 10
	buf := make([]byte, block)
	pos := end
	count := int64(0)
	first := true
	for pos > 0 {
		size := int64(block)
		if pos < size {
			size = pos
		}
		pos -= size
		if _, err := f.ReadAt(buf[:size], pos); err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		for i := size - 1; i >= 0; i-- {
			if buf[i] != '\n' {
				continue
			}
			if first && pos+i == end-1 {
				continue // the last line's own newline
			}
			count++
			if count == n {
				return pos + i + 1, nil
			}
		}
		first = false
	}
	return 0, nil
}
