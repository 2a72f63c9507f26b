package kubelet

import (
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"

	"github.com/tendhq/tend/informers"
	"github.com/tendhq/tend/kubelet/staticpods"
)

// Config is a kubelet's configuration. NodeName, Client and Runtime are
// required; every other field has a default, given by its comment.
type Config struct {
	// NodeName names the Node the kubelet registers and the pods it runs
	// (those whose spec.nodeName is NodeName).
	NodeName string
	// Client talks to the apiserver. Many kubelets of one process (hollow
	// nodes) should share one Client, and so one transport and one rate
	// limit: give it QPS for all of them (each idle node makes about two
	// requests per RenewInterval, plus two or three per pod it starts).
	Client kubernetes.Interface
	// Runtime runs the pods.
	Runtime Runtime

	// Version is reported as status.nodeInfo.kubeletVersion: tend's version
	// string. Default "v0.0.0-tend".
	Version string
	// NodeInfo is the rest of status.nodeInfo (machineID, bootID, osImage,
	// kernelVersion...). Its operatingSystem and architecture are always
	// runtime.GOOS and runtime.GOARCH, its containerRuntimeVersion the
	// runtime's "name://version", its kubeletVersion Version.
	NodeInfo corev1.NodeSystemInfo

	// Capacity is the node's status.capacity. Default, a hollow node's: cpu 4,
	// memory 16Gi, pods 110, ephemeral-storage 100Gi. Missing cpu, memory,
	// pods or ephemeral-storage are filled from the default.
	Capacity corev1.ResourceList
	// Reserved is held back for the system: allocatable = capacity - reserved
	// (never below zero). Default none.
	Reserved corev1.ResourceList
	// Labels are added to the node's (kubernetes.io/hostname, kubernetes.io/os,
	// kubernetes.io/arch and their beta.kubernetes.io/ forms), replacing them
	// when they collide, as --node-labels does.
	Labels map[string]string
	// Taints are the node's spec.taints when it registers
	// (--register-with-taints); later changes to the node's taints are left
	// alone.
	Taints []corev1.Taint
	// Addresses are the node's status.addresses. Default, a hollow node's:
	// InternalIP 127.0.0.1 and Hostname NodeName. The first InternalIP is the
	// pods' hostIP and host-network pods' podIP.
	Addresses []corev1.NodeAddress
	// KubeletPort is the port of the node's kubelet server (kubelet/server),
	// reported as status.daemonEndpoints.kubeletEndpoint.Port, where the
	// apiserver reaches it for logs, exec, attach, port-forward and stats.
	// Default 0: the node serves none (hollow nodes).
	KubeletPort int32

	// NodeStatusUpdateFrequency is how often the node's status is computed and
	// written if it changed. Default 10s.
	NodeStatusUpdateFrequency time.Duration
	// NodeStatusReportFrequency is how often the status is written although
	// nothing changed. Default 5m.
	NodeStatusReportFrequency time.Duration
	// NodeLeaseDurationSeconds is the Lease's spec.leaseDurationSeconds.
	// Default 40.
	NodeLeaseDurationSeconds int32
	// RenewInterval is how often the Lease is renewed. Default 10s.
	RenewInterval time.Duration
	// RelistPeriod is how often the runtime is listed to notice containers
	// that changed (exited, say) by themselves, as upstream's PLEG. Default 1s.
	RelistPeriod time.Duration
	// SyncFrequency is how often a pod is synced although nothing happened.
	// Default 1m.
	SyncFrequency time.Duration
	// ContainerBackOff and MaxContainerBackOff bound the delay before a failed
	// container is restarted: it starts at ContainerBackOff, doubles with each
	// failure up to MaxContainerBackOff, and starts over once a container ran
	// for twice MaxContainerBackOff. ContainerBackOff is also the retry period
	// of a pod whose sync failed. Defaults 10s and 5m, upstream's.
	ContainerBackOff, MaxContainerBackOff time.Duration

	// Clock tells the time; default the real clock. Tests inject a fake one.
	Clock clock.WithTicker
	// Metrics receives the kubelet's metrics. One Metrics is shared by every
	// kubelet of a process; nil means metrics are kept but not exposed.
	Metrics *Metrics
	// Recorder, when set, receives Events about the node and its pods
	// (*controllers.Recorder satisfies it). Nil records none.
	Recorder EventRecorder
	// Logf receives the kubelet's log lines; nil discards them.
	Logf func(format string, args ...any)

	// Services, when set, is an informer of the Services of every
	// namespace, for containers' service environment variables, that the
	// kubelets of a process share (5,000 hollow nodes, one watch); its
	// owner runs it. Nil: the kubelet runs its own.
	Services *informers.Informer[*corev1.Service]
	// Volumes prepares pods' volumes on the node (volumes.New). Nil, as
	// on hollow nodes: no volume is materialized, containers get no
	// mounts, and lifecycle of volumes costs nothing.
	Volumes VolumeManager
	// ObjectCacheTTL is how long a ConfigMap or Secret read for a pod's
	// environment or volumes is reused (a pod seen for the first time
	// always reads them afresh), as upstream's TTL cache: the delay before
	// a changed object shows in volumes. Default 1m, upstream's.
	ObjectCacheTTL time.Duration

	// StaticPodPath is a directory of static pod manifests, or one manifest
	// file (upstream's staticPodPath, --pod-manifest-path): pods the kubelet
	// runs from files, each mirrored by a mirror pod in the API (package
	// staticpods says how a manifest is read). Default "": none.
	StaticPodPath string
	// FileCheckFrequency is how often StaticPodPath is read again; on Linux
	// a change is also noticed at once, through inotify. Default 20s,
	// upstream's.
	FileCheckFrequency time.Duration
}

// EventRecorder records Events about objects.
type EventRecorder interface {
	Eventf(obj runtime.Object, eventType, reason, format string, args ...any)
}

// Defaults of Config.
const (
	DefaultVersion                   = "v0.0.0-tend"
	DefaultNodeStatusUpdateFrequency = 10 * time.Second
	DefaultNodeStatusReportFrequency = 5 * time.Minute
	DefaultNodeLeaseDurationSeconds  = 40
	DefaultRenewInterval             = 10 * time.Second
	DefaultRelistPeriod              = time.Second
	DefaultSyncFrequency             = time.Minute
	DefaultContainerBackOff          = 10 * time.Second
	DefaultMaxContainerBackOff       = 5 * time.Minute
	DefaultObjectCacheTTL            = time.Minute
	DefaultFileCheckFrequency        = staticpods.DefaultPeriod
)

// DefaultCapacity is a hollow node's capacity.
func DefaultCapacity() corev1.ResourceList {
	return corev1.ResourceList{
		corev1.ResourceCPU:              resource.MustParse("4"),
		corev1.ResourceMemory:           resource.MustParse("16Gi"),
		corev1.ResourcePods:             resource.MustParse("110"),
		corev1.ResourceEphemeralStorage: resource.MustParse("100Gi"),
	}
}

// withDefaults returns cfg with every unset field defaulted. It does not
// modify cfg's maps or slices.
func (cfg Config) withDefaults() Config {
	if cfg.Version == "" {
		cfg.Version = DefaultVersion
	}
	capacity := DefaultCapacity()
	for name, q := range cfg.Capacity {
		capacity[name] = q.DeepCopy()
	}
	cfg.Capacity = capacity
	if len(cfg.Addresses) == 0 {
		cfg.Addresses = []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: "127.0.0.1"},
			{Type: corev1.NodeHostName, Address: cfg.NodeName},
		}
	}
	setDuration(&cfg.NodeStatusUpdateFrequency, DefaultNodeStatusUpdateFrequency)
	setDuration(&cfg.NodeStatusReportFrequency, DefaultNodeStatusReportFrequency)
	if cfg.NodeLeaseDurationSeconds == 0 {
		cfg.NodeLeaseDurationSeconds = DefaultNodeLeaseDurationSeconds
	}
	setDuration(&cfg.RenewInterval, DefaultRenewInterval)
	setDuration(&cfg.RelistPeriod, DefaultRelistPeriod)
	setDuration(&cfg.SyncFrequency, DefaultSyncFrequency)
	setDuration(&cfg.ContainerBackOff, DefaultContainerBackOff)
	setDuration(&cfg.MaxContainerBackOff, DefaultMaxContainerBackOff)
	setDuration(&cfg.ObjectCacheTTL, DefaultObjectCacheTTL)
	setDuration(&cfg.FileCheckFrequency, DefaultFileCheckFrequency)
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.Metrics == nil {
		cfg.Metrics = newMetrics()
	}
	return cfg
}

func setDuration(d *time.Duration, def time.Duration) {
	if *d == 0 {
		*d = def
	}
}

// validate reports what is wrong with a defaulted config.
func (cfg Config) validate() error {
	var errs []error
	if cfg.NodeName == "" {
		errs = append(errs, errors.New("NodeName is required"))
	} else if msgs := validation.IsDNS1123Subdomain(cfg.NodeName); len(msgs) > 0 {
		errs = append(errs, fmt.Errorf("NodeName %q is not a valid node name: %v", cfg.NodeName, msgs))
	}
	if cfg.Client == nil {
		errs = append(errs, errors.New("Client is required"))
	}
	if cfg.Runtime == nil {
		errs = append(errs, errors.New("Runtime is required"))
	}
	for name, d := range map[string]time.Duration{
		"NodeStatusUpdateFrequency": cfg.NodeStatusUpdateFrequency,
		"NodeStatusReportFrequency": cfg.NodeStatusReportFrequency,
		"RenewInterval":             cfg.RenewInterval,
		"RelistPeriod":              cfg.RelistPeriod,
		"SyncFrequency":             cfg.SyncFrequency,
		"ContainerBackOff":          cfg.ContainerBackOff,
		"MaxContainerBackOff":       cfg.MaxContainerBackOff,
		"ObjectCacheTTL":            cfg.ObjectCacheTTL,
		"FileCheckFrequency":        cfg.FileCheckFrequency,
	} {
		if d < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative, is %v", name, d))
		}
	}
	if cfg.MaxContainerBackOff < cfg.ContainerBackOff {
		errs = append(errs, fmt.Errorf("MaxContainerBackOff (%v) is less than ContainerBackOff (%v)", cfg.MaxContainerBackOff, cfg.ContainerBackOff))
	}
	if cfg.NodeLeaseDurationSeconds < 0 {
		errs = append(errs, fmt.Errorf("NodeLeaseDurationSeconds must be positive, is %d", cfg.NodeLeaseDurationSeconds))
	}
	if hostIP(cfg.Addresses) == "" {
		errs = append(errs, errors.New("Addresses has no InternalIP: pods would have no hostIP"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("kubelet config for node %q: %w", cfg.NodeName, err)
	}
	return nil
}

// hostIP is the first InternalIP of addresses.
func hostIP(addresses []corev1.NodeAddress) string {
	for _, a := range addresses {
		if a.Type == corev1.NodeInternalIP {
			return a.Address
		}
	}
	return ""
}
