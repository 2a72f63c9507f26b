package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/tendhq/tend/apiserver"
	"github.com/tendhq/tend/apiserver/pki"
	"github.com/tendhq/tend/controllers"
	"github.com/tendhq/tend/informers"
	"github.com/tendhq/tend/kubelet"
	"github.com/tendhq/tend/kubelet/images"
	"github.com/tendhq/tend/kubelet/podnet"
	"github.com/tendhq/tend/kubelet/runc"
	"github.com/tendhq/tend/kubelet/server"
	"github.com/tendhq/tend/kubelet/simulated"
	"github.com/tendhq/tend/kubelet/stats"
	"github.com/tendhq/tend/kubelet/volumes"
)

// agentConfig is what the node agent's flags say.
type agentConfig struct {
	runtime    string
	dataDir    string // the node's state: images, containers, logs (runc)
	clusterDNS string
	domain     string
	cgroupRoot string
	// The pod and service networks, for the runc runtime's unreachable
	// routes and masquerading; zero: 10.42.0.0/16 and 10.43.0.0/16.
	clusterCIDR, serviceCIDR netip.Prefix
	count                    int
	nodeName                 string
	prefix                   string
	qps                      float64
	burst                    int
	eventQPS                 float64
	eventBurst               int
	capacity                 string
	nodeLabels               string
	taints                   string
	startDelay               time.Duration
	leaseSecs                int
	statusFreq               time.Duration
	// Static pods: every node of the process reads the same path, as
	// separate kubelets given the same --pod-manifest-path would.
	staticPodPath      string
	fileCheckFrequency time.Duration
	// The kubelet server of a real node (kubeletserver.go): where it
	// listens, its certificate files, and the cluster CA when this process
	// has it (tend server).
	kubeletAddress          string
	kubeletPort             int
	tlsCertFile, tlsKeyFile string
	kubeletCA               *pki.CA
}

// agentFlags registers the node agent's flags on fs; tend server shares the
// ones that make sense for its own node.
func agentFlags(fs *flag.FlagSet, a *agentConfig, many bool) {
	fs.StringVar(&a.runtime, "runtime", "", "container runtime: runc (real containers with runc's libcontainer; root, one node) or simulated (hollow nodes); default runc when run as root, else simulated (always simulated with --count or --node-name-prefix)")
	fs.StringVar(&a.clusterDNS, "cluster-dns", "10.43.0.10", "the cluster DNS service's address, pods' nameserver (runc)")
	fs.StringVar(&a.domain, "cluster-domain", "cluster.local", "the cluster's DNS domain (runc)")
	fs.StringVar(&a.cgroupRoot, "cgroup-root", "tend", "the cgroup pods' cgroups go under (runc)")
	fs.StringVar(&a.nodeName, "node-name", "", "name of the node (default: the hostname)")
	if many {
		fs.IntVar(&a.count, "count", 1, "number of nodes to run in this process (simulated runtime only)")
		fs.StringVar(&a.prefix, "node-name-prefix", "", "with --count, name the nodes PREFIX0 ... PREFIX(N-1)")
		fs.Float64Var(&a.qps, "kube-api-qps", 0, "requests per second to the apiserver, for all the nodes together (default 50 a node, at most 5000)")
		fs.IntVar(&a.burst, "kube-api-burst", 0, "burst of requests to the apiserver (default twice the QPS)")
	}
	fs.Float64Var(&a.eventQPS, "event-qps", 50, "Events written a second, a node; they have a rate limit of their own, apart from --kube-api-qps, as upstream's kubelet")
	fs.IntVar(&a.eventBurst, "event-burst", 100, "burst of Events a node")
	fs.StringVar(&a.capacity, "simulated-capacity", "", "capacity of a simulated node, e.g. cpu=4,memory=16Gi,pods=110 (default that, with ephemeral-storage=100Gi)")
	fs.StringVar(&a.nodeLabels, "node-labels", "", "labels to add to the node(s), key=value,...")
	fs.StringVar(&a.taints, "register-with-taints", "", "taints the node(s) register with, key=value:Effect,...")
	fs.DurationVar(&a.startDelay, "simulated-start-delay", 0, "how long a simulated container takes to start (default the runtime's)")
	fs.IntVar(&a.leaseSecs, "node-lease-duration-seconds", kubelet.DefaultNodeLeaseDurationSeconds, "duration of the node's Lease; it is renewed every quarter of it")
	fs.DurationVar(&a.statusFreq, "node-status-update-frequency", kubelet.DefaultNodeStatusUpdateFrequency, "how often the node's status is computed and, if it changed, written")
	fs.StringVar(&a.staticPodPath, "pod-manifest-path", "", "directory of static pod manifests (or one manifest file) the node runs, each mirrored in the API as <name>-<node name>; with --count, every node runs its own copy")
	fs.DurationVar(&a.fileCheckFrequency, "file-check-frequency", kubelet.DefaultFileCheckFrequency, "how often --pod-manifest-path is read again (changes are also noticed at once through inotify)")
	fs.StringVar(&a.kubeletAddress, "kubelet-address", "127.0.0.1", "address the kubelet server (logs, exec, attach, port-forward) listens on (runc)")
	fs.IntVar(&a.kubeletPort, "kubelet-port", server.DefaultPort, "port of the kubelet server (runc; 0 picks a free one)")
	fs.StringVar(&a.tlsCertFile, "tls-cert-file", "", "serving certificate of the kubelet server (default: one from the cluster CA in tend server, else self-signed)")
	fs.StringVar(&a.tlsKeyFile, "tls-private-key-file", "", "key of --tls-cert-file")
}

// nodeNames are the names of the nodes a configuration runs.
func (a *agentConfig) nodeNames() ([]string, error) {
	if a.count < 1 {
		return nil, fmt.Errorf("--count %d: want at least 1", a.count)
	}
	if a.runtime == "" {
		a.runtime = "simulated"
		if os.Geteuid() == 0 && a.count == 1 && a.prefix == "" {
			a.runtime = "runc"
		}
	}
	switch a.runtime {
	case "simulated":
	case "runc":
		if a.count != 1 || a.prefix != "" {
			return nil, errors.New("--runtime runc runs one node a process: no --count or --node-name-prefix")
		}
		if os.Geteuid() != 0 {
			return nil, errors.New("--runtime runc needs root")
		}
	default:
		return nil, fmt.Errorf("--runtime %q: want simulated or runc", a.runtime)
	}
	var names []string
	switch {
	case a.prefix != "" && a.nodeName != "":
		return nil, errors.New("--node-name and --node-name-prefix exclude each other")
	case a.prefix != "":
		for i := range a.count {
			names = append(names, fmt.Sprintf("%s%d", a.prefix, i))
		}
	case a.count > 1:
		return nil, errors.New("--count above 1 needs --node-name-prefix")
	default:
		name := a.nodeName
		if name == "" {
			h, err := os.Hostname()
			if err != nil {
				return nil, fmt.Errorf("naming the node: %w", err)
			}
			name = strings.ToLower(h)
		}
		names = []string{name}
	}
	for _, n := range names {
		if errs := validation.IsDNS1123Subdomain(n); len(errs) > 0 {
			return nil, fmt.Errorf("node name %q: %s", n, strings.Join(errs, "; "))
		}
	}
	return names, nil
}

// kubeletConfig is the part of every node's kubelet.Config the flags set.
func (a *agentConfig) kubeletConfig() (kubelet.Config, error) {
	var cfg kubelet.Config
	if a.leaseSecs < 1 || a.statusFreq <= 0 {
		return cfg, fmt.Errorf("--node-lease-duration-seconds %d and --node-status-update-frequency %v must be positive", a.leaseSecs, a.statusFreq)
	}
	cfg.NodeLeaseDurationSeconds = int32(a.leaseSecs)
	cfg.RenewInterval = time.Duration(a.leaseSecs) * time.Second / 4
	cfg.NodeStatusUpdateFrequency = a.statusFreq
	if a.fileCheckFrequency <= 0 {
		return cfg, fmt.Errorf("--file-check-frequency %v must be positive", a.fileCheckFrequency)
	}
	cfg.StaticPodPath, cfg.FileCheckFrequency = a.staticPodPath, a.fileCheckFrequency
	if a.capacity != "" {
		cfg.Capacity = corev1.ResourceList{}
		for _, kv := range strings.Split(a.capacity, ",") {
			k, v, ok := strings.Cut(kv, "=")
			q, err := resource.ParseQuantity(v)
			if !ok || err != nil {
				return cfg, fmt.Errorf("--simulated-capacity: %q is not name=quantity", kv)
			}
			cfg.Capacity[corev1.ResourceName(k)] = q
		}
	}
	if a.nodeLabels != "" {
		l, err := labels.ConvertSelectorToLabelsMap(a.nodeLabels)
		if err != nil {
			return cfg, fmt.Errorf("--node-labels: %w", err)
		}
		cfg.Labels = l
	}
	if a.taints != "" {
		for _, s := range strings.Split(a.taints, ",") {
			t, err := parseTaint(s)
			if err != nil {
				return cfg, fmt.Errorf("--register-with-taints: %w", err)
			}
			cfg.Taints = append(cfg.Taints, t)
		}
	}
	return cfg, nil
}

// parseTaint reads key[=value]:Effect, as kubectl taint and the kubelet's
// --register-with-taints do.
func parseTaint(s string) (corev1.Taint, error) {
	kv, effect, ok := strings.Cut(s, ":")
	if !ok {
		return corev1.Taint{}, fmt.Errorf("taint %q: want key[=value]:Effect", s)
	}
	k, v, _ := strings.Cut(kv, "=")
	t := corev1.Taint{Key: k, Value: v, Effect: corev1.TaintEffect(effect)}
	switch t.Effect {
	case corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute:
	default:
		return t, fmt.Errorf("taint %q: effect %q is not NoSchedule, PreferNoSchedule or NoExecute", s, effect)
	}
	if errs := validation.IsQualifiedName(k); len(errs) > 0 {
		return t, fmt.Errorf("taint %q: key: %s", s, strings.Join(errs, "; "))
	}
	if v != "" {
		if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
			return t, fmt.Errorf("taint %q: value: %s", s, strings.Join(errs, "; "))
		}
	}
	return t, nil
}

// runNodes runs the configured nodes until ctx ends: one client, one
// metrics set and one event recorder for all of them.
func runNodes(ctx context.Context, rc *rest.Config, a agentConfig, reg prometheus.Registerer, logf func(string, ...any)) error {
	names, err := a.nodeNames()
	if err != nil {
		return err
	}
	base, err := a.kubeletConfig()
	if err != nil {
		return err
	}
	rc = rest.CopyConfig(rc)
	rc.QPS, rc.Burst = float32(a.qps), a.burst
	if rc.QPS == 0 {
		rc.QPS = float32(min(50*len(names), 5000))
	}
	if rc.Burst == 0 {
		rc.Burst = int(2 * rc.QPS)
	}
	rc.ContentType = "application/vnd.kubernetes.protobuf"
	rc.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	// Up to one connection a node, at most 64: a thousand nodes writing at
	// once queue for one instead of taking most of the apiserver's 400
	// requests in flight, so that bindings and everyone else's requests get
	// their turn (with 256, the scheduler bound 30-45% fewer pods a second).
	if rc, err = controllers.WithConnectionPool(rc, controllers.ConnectionPool{
		Size: min(max(25, len(names)), 64), MultiplexWatches: true}); err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return err
	}
	metrics, err := kubelet.NewMetrics(reg)
	if err != nil {
		return err
	}
	// container_cpu_usage_seconds_total and container_memory_working_set_bytes
	// of real nodes' containers, read when /metrics is scraped.
	containerMetrics, err := stats.NewContainerMetrics(reg)
	if err != nil {
		return err
	}
	// Events have a rate limit of their own, as upstream's kubelet's, so that
	// a node's Events never slow its pods' status or volumes.
	erc := rest.CopyConfig(rc)
	erc.QPS = float32(min(a.eventQPS*float64(len(names)), 5000))
	erc.Burst = min(a.eventBurst*len(names), 10000)
	eventClient, err := kubernetes.NewForConfig(erc)
	if err != nil {
		return err
	}
	recorder := controllers.NewRecorder(eventClient, "kubelet", controllers.RecorderOptions{Logf: logf})
	// One watch of services for every node of the process, for containers'
	// service environment variables.
	services := informers.New[*corev1.Service](client.CoreV1().Services(""), informers.Options{Logf: logf})
	kubelets := make([]*kubelet.Kubelet, len(names))
	servers := make([]func(context.Context) error, 0, 1)
	for i, name := range names {
		cfg := base
		cfg.NodeName = name
		cfg.Client = client
		cfg.Version = apiserver.GitVersion
		cfg.Metrics = metrics
		cfg.Recorder = recorder
		cfg.Logf = logf
		cfg.Services = services
		if a.runtime == "runc" {
			// Pods' volumes live under DIR/pods/<uid>/volumes, upstream's layout.
			if cfg.Volumes, err = volumes.New(volumes.Config{Root: a.dataDir}); err != nil {
				return err
			}
			rt, err := a.runcRuntime(logf)
			if err != nil {
				return err
			}
			cfg.Runtime = rt
			if cfg.Capacity == nil {
				cfg.Capacity = machineCapacity()
			}
		} else {
			cfg.Runtime = simulated.New(simulated.Config{StartDelay: a.startDelay})
		}
		// A real node serves logs, exec, attach and port-forward; hollow
		// nodes serve nothing.
		var ln net.Listener
		var scfg server.Config
		if a.runtime == "runc" {
			l, cert, pool, err := a.kubeletServerListener(rc, name)
			if err != nil {
				return fmt.Errorf("node %s: %w", name, err)
			}
			defer l.Close()
			ln, scfg = l, kubeletServerConfig(cert, pool, logf)
			cfg.KubeletPort = int32(l.Addr().(*net.TCPAddr).Port)
		}
		if kubelets[i], err = kubelet.New(cfg); err != nil {
			return fmt.Errorf("node %s: %w", name, err)
		}
		if ln != nil {
			scfg.Runtime, scfg.GetPod, scfg.ListPods = cfg.Runtime, kubelets[i].GetPod, kubelets[i].ListPods
			srv, err := server.New(scfg)
			if err != nil {
				return fmt.Errorf("node %s: %w", name, err)
			}
			// /stats/summary and /metrics/resource, for metrics.k8s.io
			// (kubectl top) and for scrapers.
			sp, err := stats.New(stats.Config{NodeName: name, Runtime: cfg.Runtime, Node: stats.ProcNode{}})
			if err != nil {
				return fmt.Errorf("node %s: %w", name, err)
			}
			stats.Install(srv, sp, logf)
			defer containerMetrics.Add(sp)()
			servers = append(servers, func(ctx context.Context) error { return srv.Serve(ctx, ln) })
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, len(kubelets)+len(servers))
	wg.Add(1)
	go func() {
		defer wg.Done()
		recorder.Run(ctx)
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		services.Run(ctx)
	}()
	for _, serve := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := serve(ctx); err != nil && ctx.Err() == nil {
				errs <- fmt.Errorf("kubelet server: %w", err)
				cancel()
			}
		}()
	}
	for i, k := range kubelets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := k.Run(ctx); err != nil && ctx.Err() == nil {
				errs <- fmt.Errorf("node %s: %w", names[i], err)
				cancel()
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func runAgent(ctx context.Context, args []string) error {
	var a agentConfig
	fs := flag.NewFlagSet("tend agent", flag.ContinueOnError)
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig of the apiserver to join (required)")
	fs.StringVar(&a.dataDir, "data-dir", defaultDataDir(), "directory of the node's state: images, containers and their logs (unused by the simulated runtime)")
	metricsAddr := fs.String("metrics-bind-address", "127.0.0.1:10255", `address of /metrics, /healthz and /debug/pprof over HTTP ("" disables)`)
	agentFlags(fs, &a, true)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if *kubeconfig == "" {
		return errors.New("--kubeconfig is required")
	}
	names, err := a.nodeNames()
	if err != nil {
		return err
	}
	if _, err := a.kubeletConfig(); err != nil {
		return err
	}
	rc, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		return fmt.Errorf("loading %s: %w", *kubeconfig, err)
	}
	m, stop, err := serveMetrics(*metricsAddr)
	if err != nil {
		return err
	}
	defer stop()
	logger := log.New(os.Stderr, "", log.LstdFlags)
	fmt.Printf("tend agent started: %d node(s) with the %s runtime, %s ... %s\n", len(names), a.runtime, names[0], names[len(names)-1])
	return runNodes(ctx, rc, a, m.registry, logger.Printf)
}

// runcRuntime is the real container runtime of a node keeping its state in
// the data directory: DIR/images, DIR/runtime, DIR/logs/pods.
func (a *agentConfig) runcRuntime(logf func(string, ...any)) (*runc.Runtime, error) {
	store, err := images.Open(filepath.Join(a.dataDir, "images"))
	if err != nil {
		return nil, err
	}
	var dns []string
	if a.clusterDNS != "" {
		dns = strings.Split(a.clusterDNS, ",")
	}
	return runc.New(runc.Config{Root: filepath.Join(a.dataDir, "runtime"), LogDir: filepath.Join(a.dataDir, "logs", "pods"),
		Images: store, ClusterDNS: dns, ClusterDomain: a.domain, CgroupParent: strings.Trim(a.cgroupRoot, "/"), Logf: logf,
		Network: podnet.Config{ClusterCIDR: a.clusterCIDR, ServiceCIDR: a.serviceCIDR}})
}

// machineCapacity is this machine's: its CPUs, its memory, 110 pods.
func machineCapacity() corev1.ResourceList {
	out := corev1.ResourceList{
		corev1.ResourceCPU:  *resource.NewQuantity(int64(goruntime.NumCPU()), resource.DecimalSI),
		corev1.ResourcePods: *resource.NewQuantity(110, resource.DecimalSI),
	}
	var info unix.Sysinfo_t
	if unix.Sysinfo(&info) == nil {
		out[corev1.ResourceMemory] = *resource.NewQuantity(int64(info.Totalram)*int64(info.Unit), resource.BinarySI)
	}
	return out
}
