// Package server is the kubelet's own HTTPS server (port 10250 by
// default), through which the apiserver reaches a node for what only the
// node has: containers' logs, exec, attach and port-forward, and (with
// handlers other packages add) stats and metrics.
//
// Paths and query parameters are upstream's:
//
//	GET  /healthz                                      "ok", unauthenticated
//	GET  /pods                                         the node's pods, a PodList
//	GET  /containerLogs/{namespace}/{pod}/{container}  follow, tailLines, sinceSeconds,
//	                                                   sinceTime, timestamps, previous, limitBytes
//	GET|POST /exec/{namespace}/{pod}[/{uid}]/{container}?command=...&input=1&output=1&error=1&tty=1
//	GET|POST /attach/{namespace}/{pod}[/{uid}]/{container}
//	GET|POST /portForward/{namespace}/{pod}[/{uid}]    (ports= for WebSocket clients)
//
// Exec, attach and port-forward speak SPDY and the (v4) WebSocket
// channel protocols, served by k8s.io/cri-streaming. Every request but
// /healthz must present a client certificate signed by Config.ClientCAs
// (the apiserver's kubelet-client certificate); others get 401.
// Authorization beyond that is not done: any holder of such a
// certificate may use every path, as upstream's kubelet with
// --authorization-mode=AlwaysAllow.
package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tendhq/tend/kubelet"
)

// DefaultPort is the kubelet's upstream port.
const DefaultPort = 10250

// Config configures a Server.
type Config struct {
	// Address is where Run listens, host:port; default ":10250". Port 0
	// picks a free one (see Server.Addr).
	Address string
	// Certificate is the server's serving certificate.
	Certificate tls.Certificate
	// ClientCAs verify clients' certificates; required.
	ClientCAs *x509.CertPool
	// GetPod finds one of the node's pods; required. ListPods lists them
	// for /pods; nil serves an empty list.
	GetPod   func(namespace, name string) (*corev1.Pod, bool)
	ListPods func() []*corev1.Pod
	// Runtime runs the node's containers; required. Exec, attach and
	// port-forward need it to implement kubelet.ExecRuntime; without it
	// they are answered with an error saying so.
	Runtime kubelet.Runtime
	// StreamIdleTimeout ends an exec, attach or port-forward connection
	// idle that long; default 4h, upstream's
	// streamingConnectionIdleTimeout. StreamCreationTimeout bounds how
	// long a client takes to open its streams; default 30s.
	StreamIdleTimeout, StreamCreationTimeout time.Duration
	// LogPollInterval is how often a followed log is checked for new
	// lines; default 100ms.
	LogPollInterval time.Duration
	// Logf receives the server's errors; nil discards them.
	Logf func(format string, args ...any)
}

// Server is a kubelet's HTTPS server. Make it with New, add handlers with
// Handle, then Run or Serve it.
type Server struct {
	cfg  Config
	exec kubelet.ExecRuntime // nil when the runtime has none
	mux  *http.ServeMux

	mu      sync.Mutex
	started bool
	addr    net.Addr
	ready   chan struct{}
}

// New checks cfg and returns a server with upstream's handlers.
func New(cfg Config) (*Server, error) {
	if cfg.ClientCAs == nil || cfg.GetPod == nil || cfg.Runtime == nil || len(cfg.Certificate.Certificate) == 0 {
		return nil, errors.New("kubelet server: a serving certificate, client CAs, GetPod and a Runtime are required")
	}
	if cfg.Address == "" {
		cfg.Address = fmt.Sprintf(":%d", DefaultPort)
	}
	if cfg.StreamIdleTimeout <= 0 {
		cfg.StreamIdleTimeout = 4 * time.Hour
	}
	if cfg.StreamCreationTimeout <= 0 {
		cfg.StreamCreationTimeout = 30 * time.Second
	}
	if cfg.LogPollInterval <= 0 {
		cfg.LogPollInterval = 100 * time.Millisecond
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux(), ready: make(chan struct{})}
	s.exec, _ = cfg.Runtime.(kubelet.ExecRuntime)
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok"))
	})
	s.mux.HandleFunc("GET /pods", s.servePods)
	s.mux.HandleFunc("GET /containerLogs/{namespace}/{pod}/{container}", s.serveLogs)
	for _, p := range []string{"/exec/{namespace}/{pod}/{container}", "/exec/{namespace}/{pod}/{uid}/{container}"} {
		s.mux.HandleFunc("GET "+p, s.serveExec)
		s.mux.HandleFunc("POST "+p, s.serveExec)
	}
	for _, p := range []string{"/attach/{namespace}/{pod}/{container}", "/attach/{namespace}/{pod}/{uid}/{container}"} {
		s.mux.HandleFunc("GET "+p, s.serveAttach)
		s.mux.HandleFunc("POST "+p, s.serveAttach)
	}
	for _, p := range []string{"/portForward/{namespace}/{pod}", "/portForward/{namespace}/{pod}/{uid}"} {
		s.mux.HandleFunc("GET "+p, s.servePortForward)
		s.mux.HandleFunc("POST "+p, s.servePortForward)
	}
	return s, nil
}

// Handle adds a handler (stats, metrics) for pattern, a net/http
// ServeMux pattern. It must be called before Run or Serve; its requests
// are authenticated like the others.
func (s *Server) Handle(pattern string, h http.Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		panic("kubelet server: Handle called after the server started")
	}
	s.mux.Handle(pattern, h)
}

// Run listens on Config.Address and serves until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Address)
	if err != nil {
		return fmt.Errorf("kubelet server: listening on %s: %w", s.cfg.Address, err)
	}
	return s.Serve(ctx, ln)
}

// Ready is closed once the server listens; Addr is then its address.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Addr is the address the server listens on, nil before it does.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Serve serves HTTPS on ln until ctx ends, then closes ln. Streams in
// progress end with ctx.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		return errors.New("kubelet server: started twice")
	}
	s.started, s.addr = true, ln.Addr()
	s.mu.Unlock()
	close(s.ready)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 30 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{s.cfg.Certificate},
			// Verified when given; none is a 401 from the handler, so that
			// health checks need none.
			ClientAuth: tls.VerifyClientCertIfGiven,
			ClientCAs:  s.cfg.ClientCAs,
			MinVersion: tls.VersionTLS12,
			// Upgrades (SPDY, WebSocket) need HTTP/1.1.
			NextProtos: []string{"http/1.1"},
		},
		ErrorLog: nil,
	}
	go func() {
		<-ctx.Done()
		shutdown, stop := context.WithTimeout(context.Background(), time.Second)
		defer stop()
		_ = srv.Shutdown(shutdown)
		_ = srv.Close()
	}()
	err := srv.ServeTLS(ln, "", "")
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Handler is the server's handler, authentication included, for tests
// and callers that serve it themselves over TLS.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" && (r.TLS == nil || len(r.TLS.VerifiedChains) == 0) {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		s.mux.ServeHTTP(w, r)
	})
}

// servePods answers the node's pods as a PodList.
func (s *Server) servePods(w http.ResponseWriter, _ *http.Request) {
	list := corev1.PodList{TypeMeta: metav1.TypeMeta{Kind: "PodList", APIVersion: "v1"}, Items: []corev1.Pod{}}
	if s.cfg.ListPods != nil {
		for _, p := range s.cfg.ListPods() {
			list.Items = append(list.Items, *p)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(&list)
}

// writeError answers a request with a plain-text error, as upstream's
// kubelet does; the apiserver turns it into a Status.
func writeError(w http.ResponseWriter, code int, err error) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(err.Error()))
}

// pod finds the request's pod, checking its UID when the path has one.
func (s *Server) pod(w http.ResponseWriter, r *http.Request) (*corev1.Pod, bool) {
	pod, ok := s.cfg.GetPod(r.PathValue("namespace"), r.PathValue("pod"))
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Errorf("pod does not exist"))
		return nil, false
	}
	if uid := r.PathValue("uid"); uid != "" && string(pod.UID) != uid {
		writeError(w, http.StatusNotFound, fmt.Errorf("pod not found"))
		return nil, false
	}
	return pod, true
}

// runtimeID is the runtime's ID in a status's containerID, "runc://ID".
func runtimeID(containerID string) string {
	if _, id, ok := strings.Cut(containerID, "://"); ok {
		return id
	}
	return containerID
}
