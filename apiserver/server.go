// Package apiserver is tend's REST layer: Kubernetes' API conventions over the
// watch-cache database in apiserver/storage.
//
// Every request passes the filters (recover → request info → metrics → authn →
// authz → limits) and then a handler: decode → default → admit → validate →
// store → encode. Objects are served from the watch cache as the JSON it holds;
// only requests that need another form (another version, a Table, YAML) decode
// them.
package apiserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	clientv3 "go.etcd.io/etcd/client/v3"
	"golang.org/x/net/http2"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tendhq/tend/apiserver/pki"
	"github.com/tendhq/tend/apiserver/storage"
	"github.com/tendhq/tend/schemas"
)

// Config configures an apiserver.
type Config struct {
	// DataDir holds the certificates, the admin kubeconfig and, unless
	// EtcdServers is set, the embedded etcd.
	DataDir string
	// BindAddress and SecurePort are where HTTPS is served; port 0 picks a free one.
	BindAddress string
	SecurePort  int
	// EtcdServers, when set, are the client URLs of an external etcd cluster.
	EtcdServers []string
	// ServiceCIDR is the range ClusterIPs are allocated from.
	ServiceCIDR string
	// NodePortRange is the range NodePorts are allocated from, "30000-32767".
	NodePortRange string
	// Storage tunes the watch-cache database; KV, Watcher and Registerer are set
	// by the server. Zero means storage.DefaultConfig.
	Storage storage.Config
	// DefaultNotReadyTolerationSeconds and DefaultUnreachableTolerationSeconds
	// are how long pods that do not say otherwise tolerate a not-ready or
	// unreachable node before eviction.
	DefaultNotReadyTolerationSeconds    int64
	DefaultUnreachableTolerationSeconds int64
	// Authorizer decides what an authenticated user may do; nil allows
	// everything to every authenticated user.
	Authorizer Authorizer
	// ServiceAccountIssuer is the iss claim of the service account tokens the
	// server issues and the only one it accepts (upstream's
	// --service-account-issuer); "" means DefaultServiceAccountIssuer.
	ServiceAccountIssuer string
	// APIAudiences are the audiences a token authenticating to this server
	// must have one of, and those a TokenRequest gets when it names none
	// (upstream's --api-audiences); empty means [ServiceAccountIssuer].
	APIAudiences []string
	// ServiceAccountSigningKeyFile holds the private key (ECDSA or RSA, PEM)
	// that signs service account tokens; "" means DataDir/pki/sa.key, an
	// ECDSA P-256 key created on first start. Apiservers sharing one etcd
	// must share it.
	ServiceAccountSigningKeyFile string
	// ServiceAccountKeyFiles hold more PEM keys (public keys, certificates or
	// private keys) whose tokens authenticate too, e.g. during a rotation
	// (upstream's --service-account-key-file).
	ServiceAccountKeyFiles []string
	// ServiceAccountMaxTokenExpiration caps the lifetime a TokenRequest may
	// ask for; 0 means no cap, otherwise between 1h and 2^32 s.
	ServiceAccountMaxTokenExpiration time.Duration
	// ServiceAccountExtendTokenExpiration makes pod-bound tokens asked for
	// 3607 s (kube-api-access volumes) valid for a year, with a warnafter
	// claim at the asked time, as upstream's default.
	ServiceAccountExtendTokenExpiration bool
	// Logf reports what the server does; nil discards it.
	Logf func(format string, args ...any)
}

// DefaultConfig returns the defaults of `tend server`.
func DefaultConfig() Config {
	return Config{
		DataDir:       "/var/lib/tend",
		BindAddress:   "127.0.0.1",
		SecurePort:    6443,
		ServiceCIDR:   "10.43.0.0/16",
		NodePortRange: "30000-32767",
		Storage:       storage.DefaultConfig(),

		DefaultNotReadyTolerationSeconds:    300,
		DefaultUnreachableTolerationSeconds: 300,

		ServiceAccountIssuer:                DefaultServiceAccountIssuer,
		ServiceAccountExtendTokenExpiration: true,
	}
}

// Validate checks a Config.
func (c *Config) Validate() error {
	if c.DataDir == "" {
		return errors.New("apiserver: a data directory is required")
	}
	if net.ParseIP(c.BindAddress) == nil {
		return fmt.Errorf("apiserver: bind address %q is not an IP address", c.BindAddress)
	}
	if c.SecurePort < 0 || c.SecurePort > 65535 {
		return fmt.Errorf("apiserver: port %d is out of range", c.SecurePort)
	}
	if _, err := parseServiceCIDR(c.ServiceCIDR); err != nil {
		return err
	}
	if _, _, err := parsePortRange(c.NodePortRange); err != nil {
		return err
	}
	if c.DefaultNotReadyTolerationSeconds < 0 || c.DefaultUnreachableTolerationSeconds < 0 {
		return errors.New("apiserver: default toleration seconds must not be negative")
	}
	if m := c.ServiceAccountMaxTokenExpiration; m != 0 && (m < time.Hour || m > (1<<32)*time.Second) {
		return fmt.Errorf("apiserver: the service account max token expiration must be between 1 hour and 2^32 seconds, not %v", m)
	}
	return nil
}

// Server is a running apiserver.
type Server struct {
	cfg      Config
	registry *schemas.Registry
	decoder  *decoder
	store    *storage.Store
	caches   map[schema.GroupResource]*storage.Cache
	services *serviceAllocator
	disc     *discovery
	openapi  http.Handler
	metrics  *serverMetrics
	prom     *prometheus.Registry
	handler  http.Handler

	ca       *pki.CA
	kubelets kubeletProxy // podproxy.go
	tokens   *tokens
	listener net.Listener
	url      string
	etcd     *storage.Embedded
	client   *clientv3.Client

	ready   chan struct{}
	stopped chan struct{}
	runErr  error
}

// Start starts an apiserver and returns once it listens; Ready tells when it
// serves. It stops when ctx ends; Wait returns then.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Storage.History.Max == 0 {
		cfg.Storage = storage.DefaultConfig()
	}
	s := &Server{
		cfg:      cfg,
		registry: schemas.Builtin(),
		caches:   make(map[schema.GroupResource]*storage.Cache),
		prom:     prometheus.NewRegistry(),
		ready:    make(chan struct{}),
		stopped:  make(chan struct{}),
	}
	started := false
	defer func() {
		if !started {
			s.closeBackends()
		}
	}()
	s.prom.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.metrics = newServerMetrics(s.prom)
	s.decoder = newDecoder(s.registry.Scheme())
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating data directory: %w", err)
	}

	// Listen first: with port 0 the kubeconfig needs the port chosen.
	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.BindAddress, strconv.Itoa(cfg.SecurePort)))
	if err != nil {
		return nil, fmt.Errorf("listening on %s:%d: %w", cfg.BindAddress, cfg.SecurePort, err)
	}
	s.listener = ln
	tlsConfig, err := s.setUpPKI(ln.Addr().(*net.TCPAddr).Port)
	if err != nil {
		return nil, err
	}
	if s.tokens, err = newTokens(&cfg, s.url); err != nil {
		return nil, err
	}

	if err := s.openEtcd(ctx); err != nil {
		return nil, err
	}
	if err := s.openStorage(ctx); err != nil {
		return nil, err
	}
	s.disc = newDiscovery(s.registry, s.url)
	s.openapi, err = newOpenAPI(s.registry)
	if err != nil {
		return nil, err
	}
	s.handler = s.buildHandler()

	started = true
	runCtx, cancel := context.WithCancel(ctx)
	srv := &http.Server{
		Handler:           s.handler,
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          nil,
		BaseContext:       func(net.Listener) context.Context { return runCtx },
	}
	// HTTP/2 clients multiplex hundreds of watches over one connection (tend
	// agent: 250), most of them quiet. The default round-robin write
	// scheduler walks every open stream of the connection for each frame it
	// writes; the random one keeps only the streams with frames to write:
	// with 5,000 hollow nodes, 8% of the apiserver's CPU at work.
	if err := http2.ConfigureServer(srv, &http2.Server{
		NewWriteScheduler: func() http2.WriteScheduler { return http2.NewRandomWriteScheduler() },
	}); err != nil {
		cancel()
		started = false // the deferred clean-up closes what was opened
		return nil, fmt.Errorf("configuring HTTP/2: %w", err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		_ = s.store.Run(runCtx)
	}()
	go func() {
		defer wg.Done()
		if err := srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.runErr = err
			cancel()
		}
	}()
	go func() {
		if err := s.bootstrap(runCtx); err != nil {
			if runCtx.Err() == nil {
				s.runErr = fmt.Errorf("bootstrapping: %w", err)
				s.logf("%v", s.runErr)
				cancel()
			}
			return
		}
		close(s.ready)
	}()
	go func() {
		<-runCtx.Done()
		// Every request's context ends with runCtx, so handlers return at once;
		// the wait is for their responses to finish. Connections that never sent
		// a request would hold Shutdown for seconds: they are closed after it.
		shutdownCtx, stop := context.WithTimeout(context.Background(), 250*time.Millisecond)
		_ = srv.Shutdown(shutdownCtx)
		stop()
		_ = srv.Close()
		cancel()
		wg.Wait()
		s.closeBackends()
		close(s.stopped)
	}()
	return s, nil
}

// Run starts an apiserver and serves until ctx ends.
func Run(ctx context.Context, cfg Config) error {
	s, err := Start(ctx, cfg)
	if err != nil {
		return err
	}
	return s.Wait()
}

// Ready is closed when the server serves every resource.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Wait blocks until the server has stopped and returns why it stopped early, if
// it did.
func (s *Server) Wait() error {
	<-s.stopped
	return s.runErr
}

// URL is the server's base URL, https://HOST:PORT.
func (s *Server) URL() string { return s.url }

// KubeconfigPath is the admin kubeconfig the server wrote.
func (s *Server) KubeconfigPath() string { return filepath.Join(s.cfg.DataDir, "admin.kubeconfig") }

// components are the parts of tend server that reach the apiserver as clients,
// with upstream's user names. The node agent's credential is one for every node
// of the machine (in group system:nodes, as upstream's); per-node identities
// arrive with node authorization.
var components = []struct {
	name, user string
	groups     []string
}{
	{"controller-manager", "system:kube-controller-manager", nil},
	{"scheduler", "system:kube-scheduler", nil},
	{"kubelet", "system:node:agent", []string{"system:nodes"}},
}

// ComponentKubeconfigPath is the kubeconfig the server wrote for one of its
// components: "controller-manager", "scheduler" or "kubelet".
func (s *Server) ComponentKubeconfigPath(component string) string {
	return filepath.Join(s.cfg.DataDir, component+".kubeconfig")
}

// Registerer is the registry behind the server's /metrics: in-process
// components add their metrics to it.
func (s *Server) Registerer() prometheus.Registerer { return s.prom }

// CA returns the cluster CA.
func (s *Server) CA() *pki.CA { return s.ca }

// Handler is the server's HTTP handler, filters included.
func (s *Server) Handler() http.Handler { return s.handler }

// Registry is the registry of kinds the server serves.
func (s *Server) Registry() *schemas.Registry { return s.registry }

func (s *Server) logf(format string, args ...any) {
	if s.cfg.Logf != nil {
		s.cfg.Logf(format, args...)
	}
}

func (s *Server) setUpPKI(port int) (*tls.Config, error) {
	dir := filepath.Join(s.cfg.DataDir, "pki")
	ca, err := pki.LoadOrCreateCA(dir, "tend-ca")
	if err != nil {
		return nil, err
	}
	s.ca = ca
	cidr, _ := parseServiceCIDR(s.cfg.ServiceCIDR)
	host := s.cfg.BindAddress
	ips := []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1"), cidr.first()}
	if ip := net.ParseIP(host); !ip.IsUnspecified() && !ip.IsLoopback() {
		ips = append(ips, ip)
	}
	if ip := net.ParseIP(host); ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	names := []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"}
	if hn, err := os.Hostname(); err == nil && hn != "" {
		names = append(names, hn)
	}
	serving, err := ca.Serving(dir, "apiserver", names, ips)
	if err != nil {
		return nil, err
	}
	admin, err := ca.Client(dir, "admin", "admin", []string{"system:masters"})
	if err != nil {
		return nil, err
	}
	s.url = "https://" + net.JoinHostPort(host, strconv.Itoa(port))
	if err := pki.WriteKubeconfig(s.KubeconfigPath(), s.url, ca, admin, "tend"); err != nil {
		return nil, fmt.Errorf("writing the admin kubeconfig: %w", err)
	}
	// Each component of tend server has its own identity, as upstream's do.
	for _, c := range components {
		leaf, err := ca.Client(dir, c.name, c.user, c.groups)
		if err != nil {
			return nil, err
		}
		if err := pki.WriteKubeconfig(s.ComponentKubeconfigPath(c.name), s.url, ca, leaf, "tend"); err != nil {
			return nil, fmt.Errorf("writing the %s kubeconfig: %w", c.name, err)
		}
	}
	cert, err := serving.TLSCertificate()
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		// Ask for a client certificate but verify it in authentication, as
		// upstream does: a certificate from another CA then gets 401, not a
		// failed handshake, and the health checks stay reachable.
		ClientAuth: tls.RequestClientCert,
		ClientCAs:  ca.Pool(),
		MinVersion: tls.VersionTLS12,
		// HTTP/1.1 first: a client that speaks both (client-go, kubectl) gets
		// it. With the apibench yardstick it costs the server 25-30% less CPU
		// per request and per watch event than Go's HTTP/2 server, whose every
		// flush crosses goroutines, and raises the create rate by a quarter.
		// The price is one connection per open watch. Clients that speak only
		// HTTP/2 still get it.
		NextProtos: []string{"http/1.1", "h2"},
	}, nil
}

func (s *Server) openEtcd(ctx context.Context) error {
	if len(s.cfg.EtcdServers) > 0 {
		c, err := storage.Dial(ctx, s.cfg.EtcdServers, nil)
		if err != nil {
			return err
		}
		s.client = c
		return nil
	}
	e, err := storage.StartEmbedded(ctx, filepath.Join(s.cfg.DataDir, "etcd"))
	if err != nil {
		return err
	}
	s.etcd = e
	s.client = e.Client()
	return nil
}

func (s *Server) openStorage(ctx context.Context) error {
	sc := s.cfg.Storage
	sc.KV, sc.Watcher, sc.Registerer = s.client, s.client, s.prom
	if sc.Logf == nil {
		sc.Logf = s.cfg.Logf
	}
	st, err := storage.New(sc)
	if err != nil {
		return err
	}
	s.store = st
	cidr, _ := parseServiceCIDR(s.cfg.ServiceCIDR)
	lo, hi, _ := parsePortRange(s.cfg.NodePortRange)
	s.services = newServiceAllocator(cidr, lo, hi)
	for _, r := range s.registry.Resources() {
		sr := &storage.Resource{
			Name:       r.GroupResource.String(),
			Prefix:     "/registry/" + groupOrCore(r.Group) + "/" + r.Resource + "/",
			Namespaced: r.Namespaced,
			New:        r.New,
			Fields:     r.Fields,
			Indexes:    r.Indexes,
		}
		if r.GroupResource == (schema.GroupResource{Resource: "services"}) {
			sr.Claims = s.services.claims
		}
		c, err := st.Add(ctx, sr)
		if err != nil {
			return err
		}
		s.caches[r.GroupResource] = c
	}
	return nil
}

func groupOrCore(g string) string {
	if g == "" {
		return "core"
	}
	return g
}

func (s *Server) closeBackends() {
	if s.listener != nil {
		_ = s.listener.Close()
	}
	if s.etcd != nil {
		s.etcd.Close()
		s.etcd = nil
	} else if s.client != nil {
		_ = s.client.Close()
	}
	s.client = nil
}
