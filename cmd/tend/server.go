package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/tendhq/tend/apiserver"
	"github.com/tendhq/tend/controllers/manager"
)

// defaultDataDir is /var/lib/tend for root and ~/.tend otherwise.
func defaultDataDir() string {
	if os.Geteuid() == 0 {
		return "/var/lib/tend"
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".tend")
	}
	return ".tend"
}

// apiserverFlags registers the apiserver's flags on fs.
func apiserverFlags(fs *flag.FlagSet, cfg *apiserver.Config) *string {
	fs.StringVar(&cfg.DataDir, "data-dir", defaultDataDir(), "directory for certificates, the admin kubeconfig and the embedded etcd")
	fs.StringVar(&cfg.BindAddress, "bind-address", cfg.BindAddress, "address the API is served on")
	fs.IntVar(&cfg.SecurePort, "secure-port", cfg.SecurePort, "HTTPS port of the API (0 picks a free one)")
	fs.StringVar(&cfg.ServiceCIDR, "service-cidr", cfg.ServiceCIDR, "range ClusterIPs are allocated from")
	fs.StringVar(&cfg.NodePortRange, "service-node-port-range", cfg.NodePortRange, "range NodePorts are allocated from")
	fs.Int64Var(&cfg.DefaultNotReadyTolerationSeconds, "default-not-ready-toleration-seconds", cfg.DefaultNotReadyTolerationSeconds, "tolerationSeconds of the node.kubernetes.io/not-ready:NoExecute toleration added to every pod that has none")
	fs.Int64Var(&cfg.DefaultUnreachableTolerationSeconds, "default-unreachable-toleration-seconds", cfg.DefaultUnreachableTolerationSeconds, "tolerationSeconds of the node.kubernetes.io/unreachable:NoExecute toleration added to every pod that has none")
	fs.DurationVar(&cfg.Storage.CompactInterval, "etcd-compaction-interval", cfg.Storage.CompactInterval, "how often etcd history is compacted (0 disables)")
	return fs.String("etcd-servers", "", "comma-separated client URLs of an external etcd cluster (default: an embedded etcd in --data-dir)")
}

func finishAPIServerFlags(cfg *apiserver.Config, etcd string) {
	if etcd != "" {
		cfg.EtcdServers = strings.Split(etcd, ",")
	}
	logger := log.New(os.Stderr, "", log.LstdFlags)
	cfg.Logf = logger.Printf
}

func runServer(ctx context.Context, args []string) error {
	cfg := apiserver.DefaultConfig()
	mcfg := manager.DefaultConfig()
	fs := flag.NewFlagSet("tend server", flag.ContinueOnError)
	etcd := apiserverFlags(fs, &cfg)
	mf := addManagerFlags(fs, &mcfg)
	disableAgent := fs.Bool("disable-agent", false, "do not run a node on this machine")
	nodeName := fs.String("node-name", "", "name of this machine's node (default: the hostname)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	_, _ = disableAgent, nodeName // the node agent joins tend server in a later release
	finishAPIServerFlags(&cfg, *etcd)
	mf.apply(&mcfg)
	mcfg.Logf = cfg.Logf
	return serve(ctx, cfg, "tend server", func(ctx context.Context, s *apiserver.Server) error {
		rc, err := clientcmd.BuildConfigFromFlags("", s.ComponentKubeconfigPath("controller-manager"))
		if err != nil {
			return err
		}
		mcfg.RESTConfig = rc
		mcfg.RootCA = s.CA().CertPEM
		mcfg.Registerer = s.Registerer()
		return manager.Run(ctx, mcfg)
	})
}

func runAPIServer(ctx context.Context, args []string) error {
	cfg := apiserver.DefaultConfig()
	fs := flag.NewFlagSet("tend apiserver", flag.ContinueOnError)
	etcd := apiserverFlags(fs, &cfg)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	finishAPIServerFlags(&cfg, *etcd)
	return serve(ctx, cfg, "tend apiserver")
}

// component runs alongside the apiserver in one process until ctx ends.
type component func(ctx context.Context, s *apiserver.Server) error

// serve runs an apiserver and, once it is ready, the components; it stops
// everything when ctx ends or any part fails.
func serve(ctx context.Context, cfg apiserver.Config, name string, components ...component) error {
	start := time.Now()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s, err := apiserver.Start(ctx, cfg)
	if err != nil {
		return err
	}
	select {
	case <-s.Ready():
		fmt.Printf("%s ready in %v: API at %s, admin kubeconfig at %s\n", name,
			time.Since(start).Round(time.Millisecond), s.URL(), s.KubeconfigPath())
	case <-ctx.Done():
		return s.Wait()
	}
	errs := make(chan error, len(components))
	for _, c := range components {
		go func() { errs <- c(ctx, s) }()
	}
	var first error
	for range components {
		if err := <-errs; err != nil && first == nil && ctx.Err() == nil {
			first = err
			cancel()
		}
	}
	if err := s.Wait(); err != nil && first == nil {
		first = err
	}
	return first
}
