package scheduler

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/tendhq/tend/controllers"
	"github.com/tendhq/tend/informers"
)

// Run runs a scheduler until ctx ends: it builds its clients (protobuf, with
// cfg's QPS and Burst) and, under leader election when cfg.LeaderElect, an
// informer factory, event recorder and Scheduler each time it starts to lead,
// so that a scheduler that lost the Lease and wins it again starts from a
// fresh view of the cluster. A term's metrics are unregistered from
// cfg.Registerer when it ends: counters start again with the next term.
func Run(ctx context.Context, cfg Config) error {
	if cfg.RESTConfig == nil {
		return errors.New("scheduler: a REST config is required")
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	cfg = cfg.withDefaults()
	rc := rest.CopyConfig(cfg.RESTConfig)
	rc.QPS, rc.Burst = cfg.QPS, cfg.Burst
	if rc.QPS == 0 {
		rc.QPS, rc.Burst = 5000, 10000
	}
	rc.ContentType = "application/vnd.kubernetes.protobuf"
	rc.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	if rc.Transport == nil {
		// Bindings, events and status writes, all in flight at once, each on
		// a connection kept for the next.
		var err error
		if rc, err = controllers.WithConnectionPool(rc, controllers.ConnectionPool{Size: maxBindsInFlight + 32}); err != nil {
			return fmt.Errorf("scheduler: building the client: %w", err)
		}
	}
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return fmt.Errorf("scheduler: building the client: %w", err)
	}
	run := func(ctx context.Context) {
		if cfg.OnLeading != nil {
			cfg.OnLeading(true)
			defer cfg.OnLeading(false)
		}
		if err := runScheduler(ctx, cfg, rc, client); err != nil && ctx.Err() == nil {
			if cfg.Logf != nil {
				cfg.Logf("scheduler stopped: %v", err)
			}
		}
	}
	if !cfg.LeaderElect {
		run(ctx)
		return nil
	}
	return controllers.RunLeaderElected(ctx, controllers.LeaderElection{
		Client: client, Namespace: cfg.LeaseNamespace, Name: cfg.LeaseName, Identity: cfg.Identity,
		LeaseDuration: cfg.LeaseDuration, RenewDeadline: cfg.RenewDeadline, RetryPeriod: cfg.RetryPeriod,
	}, run)
}

// termRegisterer registers collectors for one leadership term and
// unregisters them all when the term ends.
type termRegisterer struct {
	reg prometheus.Registerer
	mu  sync.Mutex
	cs  []prometheus.Collector
}

var _ prometheus.Registerer = (*termRegisterer)(nil)

func (t *termRegisterer) Register(c prometheus.Collector) error {
	if err := t.reg.Register(c); err != nil {
		return err
	}
	t.mu.Lock()
	t.cs = append(t.cs, c)
	t.mu.Unlock()
	return nil
}

func (t *termRegisterer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := t.Register(c); err != nil {
			panic(err)
		}
	}
}

func (t *termRegisterer) Unregister(c prometheus.Collector) bool {
	return t.reg.Unregister(c)
}

func (t *termRegisterer) unregisterAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range t.cs {
		t.reg.Unregister(c)
	}
	t.cs = nil
}

// runScheduler builds a scheduler on a fresh factory and runs it, with its
// recorder, until ctx ends.
func runScheduler(ctx context.Context, cfg Config, rc *rest.Config, client kubernetes.Interface) error {
	if cfg.Registerer != nil {
		// A term's metrics go with it: the next term's scheduler registers
		// its own (gauges of a stopped queue or cache would lie).
		tr := &termRegisterer{reg: cfg.Registerer}
		defer tr.unregisterAll()
		cfg.Registerer = tr
	}
	factory, err := informers.NewFactory(rc, informers.FactoryOptions{Logf: cfg.Logf})
	if err != nil {
		return fmt.Errorf("scheduler: building the informer factory: %w", err)
	}
	rec := controllers.NewRecorder(client, cfg.SchedulerName, controllers.RecorderOptions{Logf: cfg.Logf})
	s, err := New(client, factory, rec, cfg)
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(1)
	go func() {
		defer wg.Done()
		rec.Run(ctx)
	}()
	factory.Start(ctx)
	return s.Run(ctx)
}
