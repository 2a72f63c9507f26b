// Package manager runs tend's controllers together, as kube-controller-manager
// does: one shared informer factory, one event recorder, each controller with
// its own workers, and, when several managers run against one cluster, leader
// election so that exactly one of them acts.
package manager

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"

	"github.com/tendhq/tend/controllers"
	"github.com/tendhq/tend/controllers/deployment"
	"github.com/tendhq/tend/controllers/disruption"
	"github.com/tendhq/tend/controllers/garbagecollector"
	"github.com/tendhq/tend/controllers/namespace"
	"github.com/tendhq/tend/controllers/nodeipam"
	"github.com/tendhq/tend/controllers/nodelifecycle"
	"github.com/tendhq/tend/controllers/podgc"
	"github.com/tendhq/tend/controllers/replicaset"
	"github.com/tendhq/tend/controllers/serviceaccount"
	"github.com/tendhq/tend/informers"
	"github.com/tendhq/tend/schemas"
)

// Config configures a controller-manager.
type Config struct {
	// RESTConfig reaches the apiserver.
	RESTConfig *rest.Config
	// QPS and Burst bound the manager's requests to the apiserver.
	QPS   float32
	Burst int
	// RootCA is the CA published to every namespace as kube-root-ca.crt; nil
	// takes RESTConfig's.
	RootCA []byte
	// Controllers lists the controllers to run by name; nil runs every one.
	Controllers []string
	// Workers sets a controller's workers by name; absent names take the default.
	Workers map[string]int
	// LeaderElect runs the controllers only while holding the Lease
	// LeaseNamespace/LeaseName, as Identity.
	LeaderElect                               bool
	LeaseNamespace, LeaseName, Identity       string
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// Registerer receives the controllers' and work queues' metrics; nil means none.
	Registerer prometheus.Registerer
	// Logf reports what the manager and controllers work around; nil discards it.
	Logf func(format string, args ...any)
	// OnLeading, when set, is told when this manager starts and stops acting.
	OnLeading func(leading bool)

	// NodeLifecycle, NodeIPAM and PodGC tune those controllers; DefaultConfig
	// holds each one's defaults.
	NodeLifecycle nodelifecycle.Config
	NodeIPAM      nodeipam.Config
	PodGC         podgc.Config
}

// DefaultConfig returns the defaults of `tend controller-manager`.
func DefaultConfig() Config {
	return Config{
		// The controllers bound their own concurrency (the ReplicaSet controller
		// has at most 12 writes in flight); the client's limit is a backstop,
		// set high enough not to be what limits a scale-up.
		QPS:            5000,
		Burst:          10000,
		LeaderElect:    true,
		LeaseNamespace: "kube-system",
		LeaseName:      "kube-controller-manager",
		Identity:       controllers.NewIdentity(),
		LeaseDuration:  15 * time.Second,
		RenewDeadline:  10 * time.Second,
		RetryPeriod:    2 * time.Second,
		NodeLifecycle:  nodelifecycle.DefaultConfig(),
		NodeIPAM:       nodeipam.DefaultConfig(),
		PodGC:          podgc.DefaultConfig(),
	}
}

// Validate checks a Config.
func (c *Config) Validate() error {
	if c.RESTConfig == nil {
		return errors.New("manager: a REST config is required")
	}
	for _, name := range c.Controllers {
		if !slices.Contains(Names(), name) {
			return fmt.Errorf("manager: unknown controller %q (known: %v)", name, Names())
		}
	}
	for name, n := range c.Workers {
		if !slices.Contains(Names(), name) {
			return fmt.Errorf("manager: workers for unknown controller %q", name)
		}
		if n < 1 {
			return fmt.Errorf("manager: controller %q needs at least one worker, not %d", name, n)
		}
	}
	if c.LeaderElect && (c.LeaseNamespace == "" || c.LeaseName == "" || c.Identity == "") {
		return errors.New("manager: leader election needs a Lease namespace, name and identity")
	}
	if err := c.NodeLifecycle.Validate(); err != nil {
		return fmt.Errorf("manager: nodelifecycle: %w", err)
	}
	if err := c.NodeIPAM.Validate(); err != nil {
		return fmt.Errorf("manager: nodeipam: %w", err)
	}
	if err := c.PodGC.Validate(); err != nil {
		return fmt.Errorf("manager: podgc: %w", err)
	}
	return nil
}

// env is what controllers are built from.
type env struct {
	factory  *informers.Factory
	client   kubernetes.Interface
	metadata metadata.Interface
	kinds    []*schemas.Kind
	recorder *controllers.Recorder
	rootCA   []byte
	cfg      *Config
}

// runnable is a built controller.
type runnable interface {
	Run(ctx context.Context) error
}

type entry struct {
	name    string
	workers int // upstream's default
	build   func(e *env, opts controllers.Options) (runnable, error)
}

// builtin is every controller the manager knows, with upstream's default
// worker counts.
var builtin = []entry{
	{"deployment", 5, func(e *env, o controllers.Options) (runnable, error) {
		return deployment.New(e.factory, e.client, e.recorder, o), nil
	}},
	{"replicaset", 5, func(e *env, o controllers.Options) (runnable, error) {
		return replicaset.New(e.factory, e.client, e.recorder, o), nil
	}},
	{"replicationcontroller", 5, func(e *env, o controllers.Options) (runnable, error) {
		return replicaset.NewReplicationController(e.factory, e.client, e.recorder, o), nil
	}},
	{"garbagecollector", 20, func(e *env, o controllers.Options) (runnable, error) {
		return garbagecollector.New(e.factory, e.metadata, e.kinds, e.recorder, o)
	}},
	{"namespace", 10, func(e *env, o controllers.Options) (runnable, error) {
		return namespace.New(e.factory, e.client, e.metadata, e.kinds, e.recorder, o), nil
	}},
	{"serviceaccount", 5, func(e *env, o controllers.Options) (runnable, error) {
		return serviceaccount.NewServiceAccounts(e.factory, e.client, o), nil
	}},
	{"root-ca-cert-publisher", 5, func(e *env, o controllers.Options) (runnable, error) {
		return serviceaccount.NewRootCAPublisher(e.factory, e.client, e.rootCA, o), nil
	}},
	{"nodelifecycle", 8, func(e *env, o controllers.Options) (runnable, error) {
		return nodelifecycle.New(e.factory, e.client, e.recorder, e.cfg.NodeLifecycle, o)
	}},
	{"nodeipam", 30, func(e *env, o controllers.Options) (runnable, error) {
		return nodeipam.New(e.factory, e.client, e.recorder, e.cfg.NodeIPAM, o)
	}},
	{"disruption", 1, func(e *env, o controllers.Options) (runnable, error) {
		return disruption.New(e.factory, e.client, e.recorder, o), nil
	}},
	{"podgc", 1, func(e *env, o controllers.Options) (runnable, error) {
		return podgc.New(e.factory, e.client, e.cfg.PodGC, o), nil
	}},
}

// Names lists the controllers the manager runs, sorted.
func Names() []string {
	out := make([]string, 0, len(builtin))
	for _, e := range builtin {
		out = append(out, e.name)
	}
	sort.Strings(out)
	return out
}

// DefaultWorkers is a controller's default number of workers.
func DefaultWorkers(name string) int {
	for _, e := range builtin {
		if e.name == name {
			return e.workers
		}
	}
	return 1
}

// Run runs the controllers until ctx ends: under leader election, only while
// this manager leads.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	rc := rest.CopyConfig(cfg.RESTConfig)
	rc.QPS, rc.Burst = cfg.QPS, cfg.Burst
	rc.ContentType = "application/vnd.kubernetes.protobuf"
	rc.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return err
	}
	md, err := metadata.NewForConfig(rc)
	if err != nil {
		return err
	}
	rootCA := cfg.RootCA
	if rootCA == nil {
		rootCA = cfg.RESTConfig.CAData
		if rootCA == nil && cfg.RESTConfig.CAFile != "" {
			if rootCA, err = os.ReadFile(cfg.RESTConfig.CAFile); err != nil {
				return fmt.Errorf("reading the cluster CA: %w", err)
			}
		}
	}
	run := func(ctx context.Context) {
		if cfg.OnLeading != nil {
			cfg.OnLeading(true)
			defer cfg.OnLeading(false)
		}
		if err := runControllers(ctx, cfg, rc, client, md, rootCA); err != nil && ctx.Err() == nil {
			logf(cfg, "controllers stopped: %v", err)
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

// runControllers builds the enabled controllers on a fresh informer factory,
// waits for the informers to sync, and runs everything until ctx ends.
func runControllers(ctx context.Context, cfg Config, rc *rest.Config, client kubernetes.Interface, md metadata.Interface, rootCA []byte) error {
	factory, err := informers.NewFactory(rc, informers.FactoryOptions{Logf: cfg.Logf})
	if err != nil {
		return err
	}
	e := &env{
		factory:  factory,
		client:   client,
		metadata: md,
		kinds:    schemas.Builtin().Kinds(),
		recorder: controllers.NewRecorder(client, "controller-manager", controllers.RecorderOptions{Logf: cfg.Logf}),
		rootCA:   rootCA,
		cfg:      &cfg,
	}
	var built []runnable
	for _, en := range builtin {
		if cfg.Controllers != nil && !slices.Contains(cfg.Controllers, en.name) {
			continue
		}
		workers := en.workers
		if n, ok := cfg.Workers[en.name]; ok {
			workers = n
		}
		r, err := en.build(e, controllers.Options{Workers: workers, Registerer: cfg.Registerer, Logf: cfg.Logf})
		if err != nil {
			return fmt.Errorf("building the %s controller: %w", en.name, err)
		}
		built = append(built, r)
	}
	factory.Start(ctx)
	if !factory.WaitForSync(ctx) {
		return ctx.Err()
	}
	var wg sync.WaitGroup
	wg.Add(1 + len(built))
	go func() {
		defer wg.Done()
		e.recorder.Run(ctx)
	}()
	for _, r := range built {
		go func() {
			defer wg.Done()
			if err := r.Run(ctx); err != nil && ctx.Err() == nil {
				logf(cfg, "controller stopped: %v", err)
			}
		}()
	}
	wg.Wait()
	return nil
}

func logf(cfg Config, format string, args ...any) {
	if cfg.Logf != nil {
		cfg.Logf(format, args...)
	}
}
