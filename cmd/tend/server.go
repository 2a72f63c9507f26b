package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/tendhq/tend/apiserver"
	"github.com/tendhq/tend/controllers/manager"
	"github.com/tendhq/tend/controllers/scheduler"
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
	fs.StringVar(&cfg.ServiceAccountIssuer, "service-account-issuer", cfg.ServiceAccountIssuer, "iss of the service account tokens issued and accepted")
	fs.Func("api-audiences", "comma-separated audiences a token must have one of to authenticate (default: the issuer)", func(v string) error {
		cfg.APIAudiences = strings.Split(v, ",")
		return nil
	})
	fs.StringVar(&cfg.ServiceAccountSigningKeyFile, "service-account-signing-key-file", "", "PEM private key signing service account tokens; apiservers sharing an etcd must share it (default: DIR/pki/sa.key, created)")
	fs.Func("service-account-key-file", "PEM file of more keys whose service account tokens are accepted (may repeat)", func(v string) error {
		cfg.ServiceAccountKeyFiles = append(cfg.ServiceAccountKeyFiles, v)
		return nil
	})
	fs.DurationVar(&cfg.ServiceAccountMaxTokenExpiration, "service-account-max-token-expiration", 0, "longest lifetime a TokenRequest may get (0: no cap)")
	fs.BoolVar(&cfg.ServiceAccountExtendTokenExpiration, "service-account-extend-token-expiration", cfg.ServiceAccountExtendTokenExpiration, "give the pod-bound tokens of kube-api-access volumes a year, warning after their hour")
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
	scfg := scheduler.DefaultConfig()
	var agent agentConfig
	fs := flag.NewFlagSet("tend server", flag.ContinueOnError)
	etcd := apiserverFlags(fs, &cfg)
	mf := addManagerFlags(fs, &mcfg)
	schedulerFlags(fs, &scfg)
	disableAgent := fs.Bool("disable-agent", false, "do not run a node on this machine")
	agentFlags(fs, &agent, false)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	finishAPIServerFlags(&cfg, *etcd)
	mf.apply(&mcfg)
	mcfg.Logf = cfg.Logf
	scfg.Logf = cfg.Logf
	check := mcfg // the flags are checked now, before the server starts
	check.RESTConfig = &rest.Config{}
	if err := check.Validate(); err != nil {
		return err
	}
	agent.count = 1
	agent.dataDir = cfg.DataDir
	if cidrs := mcfg.NodeIPAM.ClusterCIDRs; len(cidrs) > 0 {
		if p, err := netip.ParsePrefix(cidrs[0].String()); err == nil {
			agent.clusterCIDR = p
		}
	}
	agent.serviceCIDR, _ = netip.ParsePrefix(cfg.ServiceCIDR)
	if !*disableAgent {
		if _, err := agent.nodeNames(); err != nil {
			return err
		}
		if _, err := agent.kubeletConfig(); err != nil {
			return err
		}
	}
	kubeconfig := func(s *apiserver.Server, component string) (*rest.Config, error) {
		return clientcmd.BuildConfigFromFlags("", s.ComponentKubeconfigPath(component))
	}
	components := []component{
		func(ctx context.Context, s *apiserver.Server) error {
			rc, err := kubeconfig(s, "controller-manager")
			if err != nil {
				return err
			}
			mcfg.RESTConfig = rc
			mcfg.RootCA = s.CA().CertPEM
			mcfg.Registerer = s.Registerer()
			return manager.Run(ctx, mcfg)
		},
		func(ctx context.Context, s *apiserver.Server) error {
			rc, err := kubeconfig(s, "scheduler")
			if err != nil {
				return err
			}
			scfg.RESTConfig = rc
			scfg.Registerer = s.Registerer()
			return scheduler.Run(ctx, scfg)
		},
	}
	if !*disableAgent {
		components = append(components, func(ctx context.Context, s *apiserver.Server) error {
			rc, err := kubeconfig(s, "kubelet")
			if err != nil {
				return err
			}
			agent.kubeletCA = s.CA()
			return runNodes(ctx, rc, agent, s.Registerer(), cfg.Logf)
		})
	}
	return serve(ctx, cfg, "tend server", components...)
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
