package runc

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/tendhq/tend/kubelet"
	"github.com/tendhq/tend/kubelet/runc/shim"
)

// maxProbeOutput is how much of a probe's output is kept, as upstream's 10 KiB.
const maxProbeOutput = 10 << 10

// Probe runs one probe against a running container, as upstream's prober:
// an exec in the container (exit 0 passes), an HTTP GET of the pod's
// address (2xx and 3xx pass), a TCP connect, or a gRPC health check
// (SERVING passes). ctx carries the probe's timeout.
func (r *Runtime) Probe(ctx context.Context, id string, _ kubelet.ProbeKind, p *corev1.Probe) (kubelet.ProbeResult, error) {
	rec, err := r.container(id)
	if err != nil {
		return kubelet.ProbeResult{}, err
	}
	sb, err := r.sandbox(rec.SandboxID)
	if err != nil {
		return kubelet.ProbeResult{}, err
	}
	host := sb.IP
	if host == "" {
		host = "127.0.0.1" // a host-network pod: the node's own address
	}
	switch {
	case p.Exec != nil:
		return r.probeExec(ctx, id, p.Exec.Command)
	case p.HTTPGet != nil:
		return probeHTTP(ctx, host, rec, p.HTTPGet)
	case p.TCPSocket != nil:
		if p.TCPSocket.Host != "" {
			host = p.TCPSocket.Host
		}
		port, err := resolvePort(p.TCPSocket.Port, rec)
		if err != nil {
			return kubelet.ProbeResult{Output: err.Error()}, nil
		}
		conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return kubelet.ProbeResult{Output: err.Error()}, nil
		}
		conn.Close()
		return kubelet.ProbeResult{Success: true}, nil
	case p.GRPC != nil:
		return probeGRPC(ctx, host, p.GRPC)
	}
	return kubelet.ProbeResult{}, errors.New("the probe has no handler")
}

// probeExec runs a command in the container; a timeout kills it.
func (r *Runtime) probeExec(ctx context.Context, id string, command []string) (kubelet.ProbeResult, error) {
	lc, err := libcontainer.Load(r.stateRoot(), id)
	if err != nil {
		return kubelet.ProbeResult{}, fmt.Errorf("container %s: %w", id, err)
	}
	var spec specs.Spec
	if err := readJSON(filepath.Join(r.containerDir(id), shim.SpecFile), &spec); err != nil {
		return kubelet.ProbeResult{}, err
	}
	var out limitedBuffer
	proc := &libcontainer.Process{Args: command, Env: spec.Process.Env, Cwd: spec.Process.Cwd,
		UID: int(spec.Process.User.UID), GID: int(spec.Process.User.GID), Stdout: &out, Stderr: &out}
	if err := lc.Run(proc); err != nil {
		return kubelet.ProbeResult{Output: err.Error()}, nil
	}
	done := make(chan error, 1)
	go func() { _, err := proc.Wait(); done <- err }()
	select {
	case err := <-done:
		if err != nil {
			return kubelet.ProbeResult{Output: out.String()}, nil
		}
		return kubelet.ProbeResult{Success: true, Output: out.String()}, nil
	case <-ctx.Done():
		_ = proc.Signal(unix.SIGKILL)
		<-done
		return kubelet.ProbeResult{Output: fmt.Sprintf("command %q timed out", strings.Join(command, " "))}, nil
	}
}

// probeHTTP GETs the probe's URL; 2xx and 3xx pass. Redirects to the same
// host are followed; to another host they pass, as upstream's.
func probeHTTP(ctx context.Context, podIP string, rec *containerRecord, g *corev1.HTTPGetAction) (kubelet.ProbeResult, error) {
	port, err := resolvePort(g.Port, rec)
	if err != nil {
		return kubelet.ProbeResult{Output: err.Error()}, nil
	}
	host := g.Host
	if host == "" {
		host = podIP
	}
	scheme := strings.ToLower(string(g.Scheme))
	if scheme == "" {
		scheme = "http"
	}
	path := g.Path
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	u := &url.URL{Scheme: scheme, Host: net.JoinHostPort(host, strconv.Itoa(port))}
	if pu, err := url.Parse(path); err == nil {
		u.Path, u.RawQuery = pu.Path, pu.RawQuery
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return kubelet.ProbeResult{Output: err.Error()}, nil
	}
	req.Header.Set("User-Agent", "kube-probe/1.37")
	req.Header.Set("Accept", "*/*")
	for _, h := range g.HTTPHeaders {
		if strings.EqualFold(h.Name, "Host") {
			req.Host = h.Value
			continue
		}
		req.Header.Add(h.Name, h.Value)
	}
	client := &http.Client{
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: true, Proxy: nil},
		CheckRedirect: func(next *http.Request, via []*http.Request) error {
			if next.URL.Hostname() != via[0].URL.Hostname() {
				return http.ErrUseLastResponse
			}
			if len(via) >= 10 {
				return errors.New("stopped after 10 redirects")
			}
			return nil
		},
	}
	resp, err := client.Do(req)
	if err != nil {
		return kubelet.ProbeResult{Output: err.Error()}, nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxProbeOutput))
	if resp.StatusCode >= 200 && resp.StatusCode < 400 {
		return kubelet.ProbeResult{Success: true, Output: string(body)}, nil
	}
	return kubelet.ProbeResult{Output: fmt.Sprintf("HTTP probe failed with statuscode: %d", resp.StatusCode)}, nil
}

// probeGRPC asks the gRPC health service; SERVING passes.
func probeGRPC(ctx context.Context, host string, g *corev1.GRPCAction) (kubelet.ProbeResult, error) {
	addr := net.JoinHostPort(host, strconv.Itoa(int(g.Port)))
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithUserAgent("kube-probe/1.37"))
	if err != nil {
		return kubelet.ProbeResult{Output: err.Error()}, nil
	}
	defer conn.Close()
	service := ""
	if g.Service != nil {
		service = *g.Service
	}
	start := time.Now()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: service})
	if err != nil {
		if ctx.Err() != nil {
			return kubelet.ProbeResult{Output: fmt.Sprintf("timeout: failed to connect service %q within %v", addr, time.Since(start).Round(time.Millisecond))}, nil
		}
		return kubelet.ProbeResult{Output: err.Error()}, nil
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return kubelet.ProbeResult{Output: fmt.Sprintf("service unhealthy (responded with %q)", resp.GetStatus().String())}, nil
	}
	return kubelet.ProbeResult{Success: true}, nil
}

// resolvePort is a probe's port: a number, or the name of one of the
// container's ports.
func resolvePort(p intstr.IntOrString, rec *containerRecord) (int, error) {
	if p.Type == intstr.Int {
		return p.IntValue(), nil
	}
	for _, cp := range rec.Ports {
		if cp.Name == p.StrVal {
			return int(cp.ContainerPort), nil
		}
	}
	return 0, fmt.Errorf("port %q is not a port of container %s", p.StrVal, rec.Name)
}

// limitedBuffer keeps the first maxProbeOutput bytes written to it.
type limitedBuffer struct{ bytes.Buffer }

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := maxProbeOutput - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
