// Package tendtest runs a tend control plane inside a test: an embedded etcd and
// the apiserver, on loopback, with nothing to download or install. It starts in
// a fraction of a second, so each test can have its own.
//
//	func TestMyController(t *testing.T) {
//		c := tendtest.Start(t, tendtest.Options{})
//		client := c.Client()
//		// ... create objects, run the controller against c.RESTConfig() ...
//	}
//
// The cluster is stopped and its files removed when the test ends. Everything it
// serves is the real apiserver: the same defaulting, validation, watch cache
// and errors as `tend server`.
package tendtest

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/tendhq/tend/apiserver"
)

// Options tune a test cluster. The zero value is a good default.
type Options struct {
	// DataDir holds the cluster's files; empty means a fresh temporary directory.
	DataDir string
	// Logf receives the server's log; nil discards it.
	Logf func(format string, args ...any)
	// Tune, when set, adjusts the apiserver configuration before start (a small
	// watch history to test resourceVersion expiry, say).
	Tune func(*apiserver.Config)
}

// Cluster is a running test control plane.
type Cluster struct {
	server *apiserver.Server
	config *rest.Config
	cancel context.CancelFunc
	dir    string
	ownDir bool
}

// Start starts a cluster for t and stops it when t ends. It fails t if the
// cluster does not come up.
func Start(t testing.TB, opts Options) *Cluster {
	t.Helper()
	c, err := StartContext(context.Background(), opts)
	if err != nil {
		t.Fatalf("starting a tend test cluster: %v", err)
	}
	t.Cleanup(c.Stop)
	return c
}

// StartContext starts a cluster outside a test (a benchmark harness, a tool).
// The caller must call Stop.
func StartContext(ctx context.Context, opts Options) (*Cluster, error) {
	dir, own := opts.DataDir, false
	if dir == "" {
		d, err := os.MkdirTemp("", "tendtest-")
		if err != nil {
			return nil, err
		}
		dir, own = d, true
	}
	cfg := apiserver.DefaultConfig()
	cfg.DataDir = dir
	cfg.SecurePort = 0
	cfg.Logf = opts.Logf
	if opts.Tune != nil {
		opts.Tune(&cfg)
	}
	ctx, cancel := context.WithCancel(ctx)
	s, err := apiserver.Start(ctx, cfg)
	if err != nil {
		cancel()
		if own {
			_ = os.RemoveAll(dir)
		}
		return nil, err
	}
	c := &Cluster{server: s, cancel: cancel, dir: dir, ownDir: own}
	select {
	case <-s.Ready():
	case <-time.After(30 * time.Second):
		c.Stop()
		return nil, fmt.Errorf("the apiserver did not become ready in 30s")
	}
	rc, err := clientcmd.BuildConfigFromFlags("", s.KubeconfigPath())
	if err != nil {
		c.Stop()
		return nil, err
	}
	// A test cluster serves one test: no client-side throttling.
	rc.QPS, rc.Burst = 1000, 2000
	c.config = rc
	return c, nil
}

// Stop stops the cluster and removes its files if it made them. It is safe to
// call more than once.
func (c *Cluster) Stop() {
	c.cancel()
	_ = c.server.Wait()
	if c.ownDir {
		_ = os.RemoveAll(c.dir)
		c.ownDir = false
	}
}

// RESTConfig returns a new copy of the admin client configuration.
func (c *Cluster) RESTConfig() *rest.Config { return rest.CopyConfig(c.config) }

// Client returns a typed clientset with admin credentials.
func (c *Cluster) Client() kubernetes.Interface {
	return kubernetes.NewForConfigOrDie(c.RESTConfig())
}

// Dynamic returns a dynamic client with admin credentials.
func (c *Cluster) Dynamic() dynamic.Interface {
	return dynamic.NewForConfigOrDie(c.RESTConfig())
}

// KubeconfigPath is a kubeconfig file for the cluster, for kubectl.
func (c *Cluster) KubeconfigPath() string { return c.server.KubeconfigPath() }

// URL is the apiserver's base URL.
func (c *Cluster) URL() string { return c.server.URL() }

// Dir is the cluster's data directory.
func (c *Cluster) Dir() string { return c.dir }
