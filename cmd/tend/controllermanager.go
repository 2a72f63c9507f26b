package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"strings"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/tendhq/tend/controllers/manager"
)

// managerFlags are the controller-manager's flags, shared by tend server.
type managerFlags struct {
	controllers string
	workers     map[string]*int
	qps         float64
}

// addManagerFlags registers the controller-manager's flags on fs.
func addManagerFlags(fs *flag.FlagSet, cfg *manager.Config) *managerFlags {
	mf := &managerFlags{workers: map[string]*int{}, qps: float64(cfg.QPS)}
	fs.StringVar(&mf.controllers, "controllers", "*", "controllers to run: * for all, or a comma-separated list of "+strings.Join(manager.Names(), ", "))
	for _, name := range manager.Names() {
		mf.workers[name] = fs.Int("concurrent-"+name+"-syncs", manager.DefaultWorkers(name), "workers of the "+name+" controller")
	}
	fs.BoolVar(&cfg.LeaderElect, "leader-elect", cfg.LeaderElect, "act only while holding the kube-system/kube-controller-manager Lease, so that one of several managers acts")
	fs.DurationVar(&cfg.LeaseDuration, "leader-elect-lease-duration", cfg.LeaseDuration, "how long a Lease not renewed stays held")
	fs.DurationVar(&cfg.RenewDeadline, "leader-elect-renew-deadline", cfg.RenewDeadline, "how long the leader tries to renew before giving up")
	fs.DurationVar(&cfg.RetryPeriod, "leader-elect-retry-period", cfg.RetryPeriod, "how often candidates try to take the Lease")
	fs.Float64Var(&mf.qps, "kube-api-qps", mf.qps, "requests per second to the apiserver")
	fs.IntVar(&cfg.Burst, "kube-api-burst", cfg.Burst, "burst of requests to the apiserver")

	nl := &cfg.NodeLifecycle
	fs.DurationVar(&nl.NodeMonitorPeriod, "node-monitor-period", nl.NodeMonitorPeriod, "how often node health is checked")
	fs.DurationVar(&nl.NodeMonitorGracePeriod, "node-monitor-grace-period", nl.NodeMonitorGracePeriod, "how long a node may go without renewing its Lease or posting status before it is marked Unknown")
	fs.DurationVar(&nl.NodeStartupGracePeriod, "node-startup-grace-period", nl.NodeStartupGracePeriod, "how long a new node may go without posting status before it is marked Unknown")
	fs.Float64Var(&nl.NodeEvictionRate, "node-eviction-rate", nl.NodeEvictionRate, "nodes per second, per zone, whose pods may be evicted (NoExecute taints) when the zone is healthy")
	fs.Float64Var(&nl.SecondaryNodeEvictionRate, "secondary-node-eviction-rate", nl.SecondaryNodeEvictionRate, "that rate when a large zone is unhealthy")
	fs.IntVar(&nl.LargeClusterSizeThreshold, "large-cluster-size-threshold", nl.LargeClusterSizeThreshold, "nodes above which an unhealthy zone evicts at the secondary rate rather than not at all")
	fs.Float64Var(&nl.UnhealthyZoneThreshold, "unhealthy-zone-threshold", nl.UnhealthyZoneThreshold, "fraction of not-Ready nodes that makes a zone unhealthy")
	fs.Func("cluster-cidr", "the pod network, one CIDR per IP family, comma-separated (default 10.42.0.0/16)", func(v string) error {
		var cidrs []*net.IPNet
		for _, s := range strings.Split(v, ",") {
			_, cidr, err := net.ParseCIDR(strings.TrimSpace(s))
			if err != nil {
				return err
			}
			cidrs = append(cidrs, cidr)
		}
		cfg.NodeIPAM.ClusterCIDRs = cidrs
		return nil
	})
	fs.IntVar(&cfg.NodeIPAM.NodeCIDRMaskSize, "node-cidr-mask-size", cfg.NodeIPAM.NodeCIDRMaskSize, "prefix length of each node's IPv4 pod CIDR")
	fs.IntVar(&cfg.PodGC.TerminatedPodThreshold, "terminated-pod-gc-threshold", cfg.PodGC.TerminatedPodThreshold, "terminated pods kept before the oldest are deleted (0 keeps all)")
	return mf
}

// apply puts the parsed flags into cfg.
func (mf *managerFlags) apply(cfg *manager.Config) {
	cfg.QPS = float32(mf.qps)
	if mf.controllers != "*" {
		cfg.Controllers = strings.Split(mf.controllers, ",")
	}
	cfg.Workers = map[string]int{}
	for name, n := range mf.workers {
		cfg.Workers[name] = *n
	}
}

func runControllerManager(ctx context.Context, args []string) error {
	cfg := manager.DefaultConfig()
	fs := flag.NewFlagSet("tend controller-manager", flag.ContinueOnError)
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig of the apiserver to manage (required)")
	metricsAddr := fs.String("metrics-bind-address", "127.0.0.1:10257", `address of /metrics, /healthz, /leaderz and /debug/pprof over HTTP ("" disables)`)
	mf := addManagerFlags(fs, &cfg)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if *kubeconfig == "" {
		return errors.New("--kubeconfig is required")
	}
	mf.apply(&cfg)
	rc, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		return fmt.Errorf("loading %s: %w", *kubeconfig, err)
	}
	cfg.RESTConfig = rc
	logger := log.New(os.Stderr, "", log.LstdFlags)
	cfg.Logf = logger.Printf
	if err := cfg.Validate(); err != nil {
		return err
	}
	m, stop, err := serveMetrics(*metricsAddr)
	if err != nil {
		return err
	}
	defer stop()
	cfg.Registerer = m.registry
	cfg.OnLeading = m.onLeading(logger, cfg.Identity)
	fmt.Printf("tend controller-manager started as %s (leader election %v)\n", cfg.Identity, cfg.LeaderElect)
	return manager.Run(ctx, cfg)
}
