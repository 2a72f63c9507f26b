// Package stats is a node's resource usage as the kubelet reports it: the
// summary API (/stats/summary, k8s.io/kubelet/pkg/apis/stats/v1alpha1),
// the resource metrics (/metrics/resource, which metrics-server and tend's
// metrics.k8s.io read) and cAdvisor-style container metrics for the
// process's /metrics.
//
// Everything is read on request: a Provider holds no goroutine and samples
// nothing until it is asked, so that a process hosting thousands of hollow
// nodes pays for their stats only when someone scrapes them. What it keeps
// between requests is the previous CPU sample of each container it reported
// (to turn cumulative CPU time into a rate), pruned at every request.
//
// Pods are the runtime's: for each pod UID its newest sandbox, and of its
// containers the running ones, the newest of each name, as upstream's CRI
// stats provider reports them. A pod's usage is the sum of its containers'
// (upstream reads the pod cgroup, which adds the sandbox's small overhead).
package stats

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	statsv1alpha1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
	"k8s.io/utils/clock"

	"github.com/tendhq/tend/kubelet"
)

// Runtime is what a Provider reads of a kubelet's runtime; kubelet.Runtime
// has it.
type Runtime interface {
	ListPodSandboxes(ctx context.Context, podUID types.UID) ([]kubelet.SandboxStatus, error)
	ListContainers(ctx context.Context, podUID types.UID) ([]kubelet.ContainerStatus, error)
	Stats(ctx context.Context, containerID string) (kubelet.ContainerStats, error)
}

var _ Runtime = kubelet.Runtime(nil)

// NodeReader reads the node's own usage (the whole machine, not only its
// pods). ProcNode reads it from /proc.
type NodeReader interface {
	ReadNode(ctx context.Context) (NodeUsage, error)
}

// NodeUsage is a node's usage at Timestamp.
type NodeUsage struct {
	Timestamp time.Time
	// StartTime is when the node's counters started (its boot).
	StartTime time.Time
	// CPUUsageCoreNanoSeconds is the CPU time used since StartTime.
	CPUUsageCoreNanoSeconds uint64
	// MemoryUsageBytes is the memory in use (page cache included),
	// MemoryWorkingSetBytes the part of it that cannot be evicted (usage
	// less inactive file pages), MemoryAvailableBytes what is left of the
	// machine's memory after the working set, MemoryRSSBytes anonymous memory.
	MemoryUsageBytes, MemoryWorkingSetBytes, MemoryAvailableBytes, MemoryRSSBytes uint64
}

// Config configures a Provider.
type Config struct {
	// NodeName is the node's name (required).
	NodeName string
	// Runtime is the node's runtime (required).
	Runtime Runtime
	// Node reads the node's usage; nil makes the node's usage the sum of its
	// pods', which is what a hollow node (whose pods run nowhere) should
	// report.
	Node NodeReader
	// StartTime is the node's start, reported when Node is nil; default
	// when New is called.
	StartTime time.Time
	// MinWindow is the shortest time over which a CPU rate is computed: a
	// request sooner than that after the previous one reports the previous
	// rate. Default 1s.
	MinWindow time.Duration
	// Clock tells the time; default the real clock.
	Clock clock.PassiveClock
}

// Provider builds a node's stats summary from its runtime. It is safe for
// concurrent use.
type Provider struct {
	cfg Config

	mu   sync.Mutex
	last map[string]cpuSample // by container ID; "" is the node
}

// cpuSample is one reading of a cumulative CPU counter and the rate
// computed when it was taken.
type cpuSample struct {
	at    time.Time
	total uint64
	rate  uint64
}

// New returns a Provider for one node.
func New(cfg Config) (*Provider, error) {
	var errs []error
	if cfg.NodeName == "" {
		errs = append(errs, errors.New("NodeName is required"))
	}
	if cfg.Runtime == nil {
		errs = append(errs, errors.New("Runtime is required"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.StartTime.IsZero() {
		cfg.StartTime = cfg.Clock.Now()
	}
	if cfg.MinWindow <= 0 {
		cfg.MinWindow = time.Second
	}
	return &Provider{cfg: cfg, last: map[string]cpuSample{}}, nil
}

// NodeName is the name of the provider's node.
func (p *Provider) NodeName() string { return p.cfg.NodeName }

// Summary reports the node's and its pods' CPU and memory, as upstream's
// /stats/summary does (network, filesystem, volume and swap stats are not
// collected). A container whose stats cannot be read (it ended between the
// listing and the reading) is reported without CPU and memory; an error
// listing the runtime's pods or reading the node is returned.
func (p *Provider) Summary(ctx context.Context) (*statsv1alpha1.Summary, error) {
	pods, reads, err := p.read(ctx)
	if err != nil {
		return nil, err
	}
	var node *NodeUsage
	if p.cfg.Node != nil {
		u, err := p.cfg.Node.ReadNode(ctx)
		if err != nil {
			return nil, fmt.Errorf("stats of node %s: %w", p.cfg.NodeName, err)
		}
		node = &u
	}
	now := p.cfg.Clock.Now()

	p.mu.Lock()
	seen := make(map[string]cpuSample, len(p.last))
	sum := &statsv1alpha1.Summary{Pods: make([]statsv1alpha1.PodStats, 0, len(pods))}
	var nodeCPU, nodeMem, nodeRate uint64
	for _, sb := range pods {
		ps := statsv1alpha1.PodStats{
			PodRef:     statsv1alpha1.PodReference{Name: sb.Name, Namespace: sb.Namespace, UID: string(sb.PodUID)},
			StartTime:  metav1.NewTime(sb.CreatedAt),
			Containers: []statsv1alpha1.ContainerStats{},
		}
		var podCPU, podRate, podMem uint64
		var podTime time.Time
		anyStats := false
		for _, r := range reads[sb.PodUID] {
			cs := statsv1alpha1.ContainerStats{Name: r.status.Name, StartTime: metav1.NewTime(r.status.StartedAt)}
			if r.ok {
				ts := r.stats.Timestamp
				if ts.IsZero() {
					ts = now
				}
				rate := r.stats.CPUUsageNanoCores
				if rate == 0 {
					rate = p.rateLocked(r.status.ID, ts, r.stats.CPUUsageCoreNanoSeconds, r.status.StartedAt)
				}
				if smp, ok := p.last[r.status.ID]; ok {
					seen[r.status.ID] = smp
				}
				cs.CPU = &statsv1alpha1.CPUStats{Time: metav1.NewTime(ts), UsageNanoCores: ptr(rate), UsageCoreNanoSeconds: ptr(r.stats.CPUUsageCoreNanoSeconds)}
				cs.Memory = &statsv1alpha1.MemoryStats{Time: metav1.NewTime(ts), WorkingSetBytes: ptr(r.stats.MemoryWorkingSetBytes)}
				podCPU += r.stats.CPUUsageCoreNanoSeconds
				podRate += rate
				podMem += r.stats.MemoryWorkingSetBytes
				if ts.After(podTime) {
					podTime = ts
				}
				anyStats = true
			}
			ps.Containers = append(ps.Containers, cs)
		}
		if anyStats {
			ps.CPU = &statsv1alpha1.CPUStats{Time: metav1.NewTime(podTime), UsageNanoCores: ptr(podRate), UsageCoreNanoSeconds: ptr(podCPU)}
			ps.Memory = &statsv1alpha1.MemoryStats{Time: metav1.NewTime(podTime), WorkingSetBytes: ptr(podMem)}
			nodeCPU += podCPU
			nodeRate += podRate
			nodeMem += podMem
		}
		sum.Pods = append(sum.Pods, ps)
	}
	sum.Node = statsv1alpha1.NodeStats{NodeName: p.cfg.NodeName, StartTime: metav1.NewTime(p.cfg.StartTime)}
	if node != nil {
		ts := node.Timestamp
		if ts.IsZero() {
			ts = now
		}
		rate := p.rateLocked("", ts, node.CPUUsageCoreNanoSeconds, node.StartTime)
		seen[""] = p.last[""] // rateLocked stored it
		sum.Node.StartTime = metav1.NewTime(node.StartTime)
		sum.Node.CPU = &statsv1alpha1.CPUStats{Time: metav1.NewTime(ts), UsageNanoCores: ptr(rate), UsageCoreNanoSeconds: ptr(node.CPUUsageCoreNanoSeconds)}
		sum.Node.Memory = &statsv1alpha1.MemoryStats{Time: metav1.NewTime(ts),
			UsageBytes: ptr(node.MemoryUsageBytes), WorkingSetBytes: ptr(node.MemoryWorkingSetBytes),
			AvailableBytes: ptr(node.MemoryAvailableBytes), RSSBytes: ptr(node.MemoryRSSBytes)}
	} else {
		sum.Node.CPU = &statsv1alpha1.CPUStats{Time: metav1.NewTime(now), UsageNanoCores: ptr(nodeRate), UsageCoreNanoSeconds: ptr(nodeCPU)}
		sum.Node.Memory = &statsv1alpha1.MemoryStats{Time: metav1.NewTime(now), WorkingSetBytes: ptr(nodeMem), UsageBytes: ptr(nodeMem)}
	}
	p.last = seen
	p.mu.Unlock()
	return sum, nil
}

// containerRead is one running container's status and stats.
type containerRead struct {
	status    kubelet.ContainerStatus
	stats     kubelet.ContainerStats
	ok        bool // stats were read
	namespace string
	pod       string
}

// read lists the node's pods and their running containers and reads each
// container's stats.
func (p *Provider) read(ctx context.Context) ([]kubelet.SandboxStatus, map[types.UID][]containerRead, error) {
	sandboxes, err := p.cfg.Runtime.ListPodSandboxes(ctx, "")
	if err != nil {
		return nil, nil, fmt.Errorf("stats of node %s: listing pod sandboxes: %w", p.cfg.NodeName, err)
	}
	containers, err := p.cfg.Runtime.ListContainers(ctx, "")
	if err != nil {
		return nil, nil, fmt.Errorf("stats of node %s: listing containers: %w", p.cfg.NodeName, err)
	}
	pods := latestSandboxes(sandboxes)
	byPod := runningContainers(containers)
	reads := make(map[types.UID][]containerRead, len(pods))
	for _, sb := range pods {
		for _, c := range byPod[sb.PodUID] {
			if c.SandboxID != "" && c.SandboxID != sb.ID {
				continue
			}
			s, err := p.cfg.Runtime.Stats(ctx, c.ID)
			reads[sb.PodUID] = append(reads[sb.PodUID], containerRead{status: c, stats: s, ok: err == nil, namespace: sb.Namespace, pod: sb.Name})
		}
	}
	return pods, reads, nil
}

// containers reads the node's running containers whose stats could be read.
func (p *Provider) containers(ctx context.Context) ([]containerRead, error) {
	pods, reads, err := p.read(ctx)
	if err != nil {
		return nil, err
	}
	var out []containerRead
	for _, sb := range pods {
		for _, r := range reads[sb.PodUID] {
			if r.ok {
				out = append(out, r)
			}
		}
	}
	return out, nil
}

// rateLocked turns the cumulative CPU time total read at at into a rate in
// nanocores: over the time since the previous sample of key when that is at
// least MinWindow old, the previous rate when it is younger (or not older
// than this one), and the average since start when there is none (or the
// counter went back: a restart).
// Call it with p.mu held.
func (p *Provider) rateLocked(key string, at time.Time, total uint64, start time.Time) uint64 {
	prev, ok := p.last[key]
	if ok && !at.After(prev.at) {
		// Read no later than the sample held (a concurrent request took
		// a newer one first): its rate stands.
		return prev.rate
	}
	if ok && total >= prev.total {
		dt := at.Sub(prev.at)
		if dt < p.cfg.MinWindow {
			return prev.rate
		}
		rate := nanocores(total-prev.total, dt)
		p.last[key] = cpuSample{at: at, total: total, rate: rate}
		return rate
	}
	var rate uint64
	if !start.IsZero() && at.After(start) {
		rate = nanocores(total, at.Sub(start))
	}
	p.last[key] = cpuSample{at: at, total: total, rate: rate}
	return rate
}

// nanocores is the rate of using used core-nanoseconds over d.
func nanocores(used uint64, d time.Duration) uint64 {
	if d <= 0 {
		return 0
	}
	return uint64(float64(used) / d.Seconds())
}

// latestSandboxes keeps, of each pod UID, its newest sandbox, and drops a
// pod whose sandbox is not ready when a ready one of the same namespace and
// name exists (a pod deleted and created again), as upstream does. The
// result is sorted by namespace and name.
func latestSandboxes(all []kubelet.SandboxStatus) []kubelet.SandboxStatus {
	byUID := map[types.UID]kubelet.SandboxStatus{}
	for _, sb := range all {
		if cur, ok := byUID[sb.PodUID]; !ok || sb.CreatedAt.After(cur.CreatedAt) {
			byUID[sb.PodUID] = sb
		}
	}
	ready := map[string]bool{}
	for _, sb := range byUID {
		if sb.State == kubelet.SandboxReady {
			ready[sb.Namespace+"/"+sb.Name] = true
		}
	}
	out := make([]kubelet.SandboxStatus, 0, len(byUID))
	for _, sb := range byUID {
		if sb.State != kubelet.SandboxReady && ready[sb.Namespace+"/"+sb.Name] {
			continue
		}
		out = append(out, sb)
	}
	slices.SortFunc(out, func(a, b kubelet.SandboxStatus) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name), a.CreatedAt.Compare(b.CreatedAt))
	})
	return out
}

// runningContainers groups the running containers by pod, keeping the
// newest of each name, sorted by name.
func runningContainers(all []kubelet.ContainerStatus) map[types.UID][]kubelet.ContainerStatus {
	type key struct {
		pod  types.UID
		name string
	}
	newest := map[key]kubelet.ContainerStatus{}
	for _, c := range all {
		if c.State != kubelet.ContainerRunning {
			continue
		}
		k := key{c.PodUID, c.Name}
		if cur, ok := newest[k]; !ok || c.CreatedAt.After(cur.CreatedAt) {
			newest[k] = c
		}
	}
	out := map[types.UID][]kubelet.ContainerStatus{}
	for k, c := range newest {
		out[k.pod] = append(out[k.pod], c)
	}
	for _, cs := range out {
		slices.SortFunc(cs, func(a, b kubelet.ContainerStatus) int { return cmp.Compare(a.Name, b.Name) })
	}
	return out
}

func ptr(v uint64) *uint64 { return &v }
