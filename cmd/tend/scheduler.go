package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/tendhq/tend/controllers/scheduler"
)

// schedulerFlags registers the scheduler's tuning flags on fs, shared by tend
// server and tend scheduler.
func schedulerFlags(fs *flag.FlagSet, cfg *scheduler.Config) {
	fs.Func("percentage-of-nodes-to-score", "share of the nodes (1-100) to find feasible before scoring; 0 adapts to the cluster's size", func(s string) error {
		var p int32
		if _, err := fmt.Sscan(s, &p); err != nil || p < 0 || p > 100 {
			return fmt.Errorf("want 0 to 100, got %q", s)
		}
		cfg.PercentageOfNodesToScore = p
		return nil
	})
	fs.IntVar(&cfg.Parallelism, "parallelism", cfg.Parallelism, "nodes filtered and scored at once")
	fs.DurationVar(&cfg.PodInitialBackoff, "pod-initial-backoff", cfg.PodInitialBackoff, "back-off after a pod's first failed attempt")
	fs.DurationVar(&cfg.PodMaxBackoff, "pod-max-backoff", cfg.PodMaxBackoff, "longest back-off between a pod's attempts")
}

func runScheduler(ctx context.Context, args []string) error {
	cfg := scheduler.DefaultConfig()
	fs := flag.NewFlagSet("tend scheduler", flag.ContinueOnError)
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig of the apiserver (required)")
	metricsAddr := fs.String("metrics-bind-address", "127.0.0.1:10259", `address of /metrics, /healthz, /leaderz and /debug/pprof over HTTP ("" disables)`)
	schedulerFlags(fs, &cfg)
	qps := float64(cfg.QPS)
	fs.BoolVar(&cfg.LeaderElect, "leader-elect", cfg.LeaderElect, "act only while holding the kube-system/kube-scheduler Lease, so that one of several schedulers acts")
	fs.DurationVar(&cfg.LeaseDuration, "leader-elect-lease-duration", cfg.LeaseDuration, "how long a Lease not renewed stays held")
	fs.DurationVar(&cfg.RenewDeadline, "leader-elect-renew-deadline", cfg.RenewDeadline, "how long the leader tries to renew before giving up")
	fs.DurationVar(&cfg.RetryPeriod, "leader-elect-retry-period", cfg.RetryPeriod, "how often candidates try to take the Lease")
	fs.Float64Var(&qps, "kube-api-qps", qps, "requests per second to the apiserver")
	fs.IntVar(&cfg.Burst, "kube-api-burst", cfg.Burst, "burst of requests to the apiserver")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if *kubeconfig == "" {
		return errors.New("--kubeconfig is required")
	}
	cfg.QPS = float32(qps)
	rc, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		return fmt.Errorf("loading %s: %w", *kubeconfig, err)
	}
	cfg.RESTConfig = rc
	logger := log.New(os.Stderr, "", log.LstdFlags)
	cfg.Logf = logger.Printf
	m, stop, err := serveMetrics(*metricsAddr)
	if err != nil {
		return err
	}
	defer stop()
	cfg.Registerer = m.registry
	cfg.OnLeading = m.onLeading(logger, cfg.Identity)
	fmt.Printf("tend scheduler started as %s (leader election %v)\n", cfg.Identity, cfg.LeaderElect)
	return scheduler.Run(ctx, cfg)
}
