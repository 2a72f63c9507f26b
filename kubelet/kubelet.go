package kubelet

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/flowcontrol"
	"k8s.io/utils/clock"

	"github.com/tendhq/tend/informers"
	"github.com/tendhq/tend/kubelet/staticpods"
)

// Kubelet is the agent of one node. Make it with New and Run it.
type Kubelet struct {
	cfg         Config
	rt          Runtime      // instrumented
	images      ImageService // the runtime's, nil when it keeps no images
	clock       clock.WithTicker
	m           *Metrics
	allocatable corev1.ResourceList
	hostIP      string
	backOff     *flowcontrol.Backoff
	started     atomic.Bool

	pods     *informers.Informer[*corev1.Pod]
	nodes    *informers.Informer[*corev1.Node]
	services *informers.Informer[*corev1.Service] // nil: no service variables
	objects  *objectCache
	tokens   *tokenCache

	// mu guards the fields below it.
	mu        sync.Mutex
	runCtx    context.Context
	stopping  bool
	workers   map[types.UID]*podWorker
	node      *corev1.Node // as registered or last written
	podCIDR   string
	ipam      *ipAllocator
	rtStatus  RuntimeStatus
	rtErr     error
	rtChecked bool
	// static are the static pods of the last reading of StaticPodPath, by
	// UID; staticRead says the path was read (or there is none), so that
	// mirror pods no static pod claims can be told to be orphans.
	static     map[types.UID]*corev1.Pod
	staticRead bool

	// Owned by Run's goroutine.
	lastReport time.Time
	lease      *coordinationv1.Lease
	gauges     nodeGauges
	relisted   map[string]relistEntry
	nodeSync   chan struct{}
	mirrorSync chan struct{}
	workersWG  sync.WaitGroup
	// staticErrs are the static pod manifests that could not be used, and
	// why, as last logged; owned by the goroutine reading the static pods.
	staticErrs map[string]string
}

// relistEntry is what the last relist saw of one sandbox or container.
type relistEntry struct {
	pod   types.UID
	state string
}

// New checks cfg and returns a kubelet for it. Nothing happens before Run.
func New(cfg Config) (*Kubelet, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	k := &Kubelet{
		cfg:         cfg,
		clock:       cfg.Clock,
		m:           cfg.Metrics,
		allocatable: allocatableOf(cfg.Capacity, cfg.Reserved),
		hostIP:      hostIP(cfg.Addresses),
		backOff:     flowcontrol.NewFakeBackOff(cfg.ContainerBackOff, cfg.MaxContainerBackOff, cfg.Clock),
		workers:     map[types.UID]*podWorker{},
		nodeSync:    make(chan struct{}, 1),
		mirrorSync:  make(chan struct{}, 1),
	}
	k.rt = &instrumented{rt: cfg.Runtime, m: cfg.Metrics, clock: cfg.Clock}
	k.objects = newObjectCache(cfg.Client, cfg.Clock, cfg.ObjectCacheTTL)
	k.tokens = newTokenCache(cfg.Client, cfg.Clock)
	k.services = cfg.Services
	k.images, _ = cfg.Runtime.(ImageService)
	return k, nil
}

// Run registers the node and runs it until ctx ends: it keeps the node's
// status and Lease fresh and runs the pods bound to it. It returns nil once
// ctx ends and every pod worker has stopped; the containers keep running in
// the runtime, and a kubelet started again on the same runtime adopts them.
// Run may be called once.
func (k *Kubelet) Run(ctx context.Context) error {
	if !k.started.CompareAndSwap(false, true) {
		return fmt.Errorf("kubelet of node %s: Run called twice", k.cfg.NodeName)
	}
	k.m.nodeName.WithLabelValues(k.cfg.NodeName).Set(1)
	defer k.m.nodeName.DeleteLabelValues(k.cfg.NodeName)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := k.clock.Now()
	k.checkRuntime(ctx)
	node, err := k.register(ctx)
	if err != nil {
		return nil // ctx ended
	}
	k.m.registration.Observe(k.clock.Since(start).Seconds())
	k.setNode(node)
	k.lastReport = k.clock.Now()
	k.event(node, corev1.EventTypeNormal, "Starting", "Starting kubelet.")

	var informersWG sync.WaitGroup
	defer informersWG.Wait()
	defer cancel()
	k.pods = informers.New[*corev1.Pod](k.cfg.Client.CoreV1().Pods(""), informers.Options{
		FieldSelector: fields.OneTermEqualSelector("spec.nodeName", k.cfg.NodeName).String(), Logf: k.logf})
	k.nodes = informers.New[*corev1.Node](k.cfg.Client.CoreV1().Nodes(), informers.Options{
		FieldSelector: fields.OneTermEqualSelector("metadata.name", k.cfg.NodeName).String(), Logf: k.logf})
	k.nodes.AddHandler(informers.Handler[*corev1.Node]{
		OnAdd:    func(n *corev1.Node, _ bool) { k.nodeChanged(n) },
		OnUpdate: func(_, n *corev1.Node) { k.nodeChanged(n) },
	})
	runs := []func(context.Context){k.pods.Run, k.nodes.Run}
	if k.services == nil {
		// Only the default namespace's "kubernetes" and the pods' own
		// namespaces count, but upstream's kubelet watches every service
		// too: a namespace's services change rarely.
		k.services = informers.New[*corev1.Service](k.cfg.Client.CoreV1().Services(""), informers.Options{Logf: k.logf})
		runs = append(runs, k.services.Run)
	}
	for _, run := range runs {
		informersWG.Add(1)
		go func() {
			defer informersWG.Done()
			run(ctx)
		}()
	}
	if !informers.WaitForSync(ctx, k.pods, k.nodes, k.services) {
		return nil
	}
	k.mu.Lock()
	k.runCtx = ctx
	k.mu.Unlock()

	if n := k.currentNode(); n != nil && n.Spec.PodCIDR != "" {
		k.applyPodCIDR(ctx, n.Spec.PodCIDR)
	}
	k.checkRuntime(ctx)
	k.adopt(ctx)
	// Static pods come first: their source is read before the API's pods
	// are handed to workers, so that their mirror pods find them.
	var source *staticpods.Source
	if k.cfg.StaticPodPath != "" {
		source, err = staticpods.NewSource(staticpods.SourceConfig{Path: k.cfg.StaticPodPath, NodeName: k.cfg.NodeName,
			Period: k.cfg.FileCheckFrequency, Clock: k.clock, Logf: k.logf})
		if err != nil {
			return fmt.Errorf("kubelet of node %s: %w", k.cfg.NodeName, err)
		}
		k.applyStatic(staticpods.Read(k.cfg.StaticPodPath, k.cfg.NodeName), true)
	} else {
		k.mu.Lock()
		k.staticRead = true
		k.mu.Unlock()
	}
	// Pods are admitted in the order they were created, as upstream's
	// HandlePodAdditions: those that ran before a restart come first.
	initial := k.pods.List()
	sort.Slice(initial, func(i, j int) bool {
		a, b := initial[i].CreationTimestamp, initial[j].CreationTimestamp
		if !a.Equal(&b) {
			return a.Before(&b)
		}
		return initial[i].Name < initial[j].Name
	})
	for _, p := range initial {
		k.podChanged(p, true)
	}
	// Only now, with a worker for every pod of the node (static ones too),
	// are the volumes of pods the node does not run known to be orphans: the
	// running pods' volumes, emptyDirs with their data, must survive a
	// restart of the kubelet.
	k.removeOrphanVolumes(ctx)
	k.pods.AddHandler(informers.Handler[*corev1.Pod]{
		OnAdd:    func(p *corev1.Pod, initial bool) { k.podChanged(p, initial) },
		OnUpdate: func(_, p *corev1.Pod) { k.podChanged(p, false) },
		OnDelete: func(p *corev1.Pod) {
			if isMirrorPod(p) {
				k.mirrorDeleted(p)
				return
			}
			k.podDeleted(p)
		},
	})
	if source != nil {
		informersWG.Add(1)
		go func() {
			defer informersWG.Done()
			source.Run(ctx, func(u staticpods.Update) { k.applyStatic(u, false) })
		}()
	}
	k.cleanupMirrorPods(ctx)
	k.syncNodeStatus(ctx)
	k.renewLease(ctx)
	k.housekeeping(ctx)

	cancel()
	k.mu.Lock()
	k.stopping = true // no worker starts after this
	k.mu.Unlock()
	k.workersWG.Wait()
	k.m.update(&k.gauges, 0, nil)
	return nil
}

// housekeeping runs the node's periodic work until ctx ends: the node status,
// the Lease, the runtime relist and the back-off's garbage collection.
func (k *Kubelet) housekeeping(ctx context.Context) {
	status := k.clock.NewTicker(k.cfg.NodeStatusUpdateFrequency)
	defer status.Stop()
	lease := k.clock.NewTicker(k.cfg.RenewInterval)
	defer lease.Stop()
	relist := k.clock.NewTicker(k.cfg.RelistPeriod)
	defer relist.Stop()
	gc := k.clock.NewTicker(time.Minute)
	defer gc.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-status.C():
			k.syncNodeStatus(ctx)
		case <-k.nodeSync:
			if n := k.currentNode(); n != nil && n.Spec.PodCIDR != "" {
				k.applyPodCIDR(ctx, n.Spec.PodCIDR)
			}
			k.syncNodeStatus(ctx)
		case <-lease.C():
			k.renewLease(ctx)
		case <-relist.C():
			k.relist(ctx)
		case <-k.mirrorSync:
			k.cleanupMirrorPods(ctx)
		case <-gc.C():
			k.backOff.GC()
			k.objects.prune()
			k.removeOrphanVolumes(ctx)
			k.cleanupMirrorPods(ctx)
		}
	}
}

// nodeChanged notices a new pod CIDR on the node.
func (k *Kubelet) nodeChanged(n *corev1.Node) {
	k.mu.Lock()
	changed := n.Spec.PodCIDR != "" && n.Spec.PodCIDR != k.podCIDR
	k.mu.Unlock()
	if changed {
		select {
		case k.nodeSync <- struct{}{}:
		default:
		}
	}
}

// applyPodCIDR gives the runtime the node's pod CIDR and addresses pods from
// it. Pods keep the addresses they have.
func (k *Kubelet) applyPodCIDR(ctx context.Context, cidr string) {
	k.mu.Lock()
	same := cidr == k.podCIDR
	k.mu.Unlock()
	if same {
		return
	}
	if err := k.rt.UpdatePodCIDR(ctx, cidr); err != nil {
		k.logf("giving the runtime pod CIDR %s: %v", cidr, err)
		return
	}
	alloc, err := newIPAllocator(cidr)
	if err != nil {
		k.logf("node %s: %v", k.cfg.NodeName, err)
		return
	}
	k.mu.Lock()
	if k.ipam != nil {
		for uid, ip := range k.ipam.byPod {
			alloc.reserve(uid, ip.String())
		}
	}
	k.podCIDR, k.ipam = cidr, alloc
	k.mu.Unlock()
	k.logf("pod CIDR is %s", cidr)
	k.checkRuntime(ctx)
}

// checkRuntime asks the runtime for its status; when its network becomes
// ready, pods waiting for it are synced at once.
func (k *Kubelet) checkRuntime(ctx context.Context) {
	rs, err := k.rt.Status(ctx)
	k.mu.Lock()
	wasReady := k.rtChecked && k.rtErr == nil && k.rtStatus.Network.Ready
	k.rtStatus, k.rtErr, k.rtChecked = rs, err, true
	nowReady := err == nil && rs.Network.Ready
	var wake []*podWorker
	if nowReady && !wasReady {
		for _, w := range k.workers {
			wake = append(wake, w)
		}
	}
	k.mu.Unlock()
	for _, w := range wake {
		w.kick()
	}
}

// networkError says why pods that need the pod network cannot start, or "".
func (k *Kubelet) networkError() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	switch {
	case !k.rtChecked:
		return "container runtime status check may not have completed yet"
	case k.rtErr != nil:
		return fmt.Sprintf("container runtime is down: %v", k.rtErr)
	case !k.rtStatus.Network.Ready:
		return "container runtime network not ready: " + conditionString("NetworkReady", k.rtStatus.Network)
	}
	return ""
}

func (k *Kubelet) runtimeName() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.rtStatus.Name == "" {
		return "unknown"
	}
	return k.rtStatus.Name
}

// adopt takes over what the runtime still holds from an earlier run: the
// sandboxes keep their addresses, so that no pod gets another's.
func (k *Kubelet) adopt(ctx context.Context) {
	sandboxes, err := k.rt.ListPodSandboxes(ctx, "")
	if err != nil {
		k.logf("listing the runtime's sandboxes: %v", err)
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, sb := range sandboxes {
		if sb.IP == "" || sb.HostNetwork || k.ipam == nil {
			continue
		}
		if !k.ipam.reserve(sb.PodUID, sb.IP) {
			k.logf("sandbox %s of pod %s/%s holds %s, which is taken or outside the pod CIDR", sb.ID, sb.Namespace, sb.Name, sb.IP)
		}
	}
}

// allocateIP gives a pod an address from the pod CIDR, preferring the one it
// had.
func (k *Kubelet) allocateIP(uid types.UID, preferred string) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.ipam == nil {
		return "", errors.New("the node has no pod CIDR yet")
	}
	ip, err := k.ipam.allocate(uid, preferred)
	if err != nil {
		return "", err
	}
	return ip.String(), nil
}

func (k *Kubelet) releaseIP(uid types.UID) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.ipam != nil {
		k.ipam.release(uid)
	}
}

// podChanged hands the latest state of a pod from the API to its worker; a
// mirror pod's goes to the worker of its static pod instead.
func (k *Kubelet) podChanged(pod *corev1.Pod, initial bool) {
	if isMirrorPod(pod) {
		k.mirrorChanged(pod)
		return
	}
	k.dispatch(pod, initial, false)
}

// dispatch hands a pod's latest state to its worker, starting one (and
// admitting the pod) for a pod seen for the first time. static says the pod
// is a static pod.
func (k *Kubelet) dispatch(pod *corev1.Pod, initial, static bool) {
	k.mu.Lock()
	w, ok := k.workers[pod.UID]
	if !ok {
		if k.runCtx == nil || k.stopping {
			k.mu.Unlock()
			return
		}
		w = k.newWorkerLocked(pod)
		w.static = static
		k.workers[pod.UID] = w
		k.workersWG.Add(1)
		go w.run(k.runCtx)
	}
	k.mu.Unlock()
	w.update(pod, initial)
}

// podDeleted tells a pod's worker that the pod is gone: from the API, or, a
// static pod, from its manifests.
func (k *Kubelet) podDeleted(pod *corev1.Pod) {
	k.mu.Lock()
	w, ok := k.workers[pod.UID]
	if ok && w.finished {
		delete(k.workers, pod.UID)
		ok = false
	}
	k.mu.Unlock()
	if ok {
		w.markGone(pod)
	}
}

// workerDone records that a worker's goroutine ended: its pod is finished (and
// stays in the API) or gone. A static pod gone lets the next of its name start,
// and its mirror pod go.
func (k *Kubelet) workerDone(w *podWorker) {
	k.mu.Lock()
	if !w.isGone() {
		w.finished = true
		w.admitted = false
		k.mu.Unlock()
		return
	}
	delete(k.workers, w.uid)
	var next []*podWorker
	if w.static {
		next = k.staticWorkersLocked(w.namespace, w.name)
	}
	k.mu.Unlock()
	for _, o := range next {
		o.kick()
	}
	if w.static {
		k.signalMirrorSync()
	}
}

// newWorkerLocked makes the worker of a pod seen for the first time and
// admits the pod against the others admitted (and not finished), as upstream's
// canAdmitPod.
func (k *Kubelet) newWorkerLocked(pod *corev1.Pod) *podWorker {
	w := newPodWorker(k, pod)
	if isTerminal(pod.Status.Phase) || pod.DeletionTimestamp != nil {
		return w
	}
	// A pod gone (from the API, or from the static pod manifests) counts no
	// more while it stops, as upstream's pod manager forgets it.
	var others []*corev1.Pod
	for _, o := range k.workers {
		if o.admitted && !o.isGone() {
			others = append(others, o.admittedPod)
		}
	}
	node := k.node
	if k.nodes != nil {
		if n, ok := k.nodes.Get("", k.cfg.NodeName); ok {
			node = n
		}
	}
	if node == nil {
		node = &corev1.Node{}
	}
	a := admitPod(pod, node, k.allocatable, others)
	if !a.Admit {
		w.rejection = &a
		return w
	}
	w.admitted, w.admittedPod = true, pod
	return w
}

// relist lists the runtime, as upstream's PLEG: the pods whose sandboxes or
// containers changed are synced, the running counts are published, and what
// the runtime holds for pods the kubelet does not run (any more) is removed.
func (k *Kubelet) relist(ctx context.Context) {
	start := k.clock.Now()
	sandboxes, err := k.rt.ListPodSandboxes(ctx, "")
	if err != nil {
		k.logf("relisting sandboxes: %v", err)
		return
	}
	containers, err := k.rt.ListContainers(ctx, "")
	if err != nil {
		k.logf("relisting containers: %v", err)
		return
	}
	seen := make(map[string]relistEntry, len(sandboxes)+len(containers))
	changed := map[types.UID]bool{}
	note := func(id string, e relistEntry) {
		seen[id] = e
		if old, ok := k.relisted[id]; !ok || old != e {
			changed[e.pod] = true
		}
	}
	runningPods := 0
	counts := map[string]int{}
	present := map[types.UID]bool{}
	for _, sb := range sandboxes {
		note("sandbox/"+sb.ID, relistEntry{sb.PodUID, string(sb.State)})
		present[sb.PodUID] = true
		if sb.State == SandboxReady {
			runningPods++
		}
	}
	for _, c := range containers {
		note(c.ID, relistEntry{c.PodUID, string(c.State)})
		present[c.PodUID] = true
		counts[string(c.State)]++
	}
	for id, e := range k.relisted {
		if _, ok := seen[id]; !ok {
			changed[e.pod] = true
		}
	}
	k.relisted = seen
	k.m.update(&k.gauges, runningPods, counts)

	var wake, gone []*podWorker
	var orphans []types.UID
	k.mu.Lock()
	for uid := range changed {
		if w, ok := k.workers[uid]; ok && !w.finished {
			wake = append(wake, w)
		}
	}
	for uid := range present {
		if w, ok := k.workers[uid]; !ok || w.finished {
			orphans = append(orphans, uid)
		}
	}
	// A pod deleted while its deletion could not be delivered (between the
	// first list and the handler's registration) is gone all the same: the
	// informer's store is always ahead of the handlers. (Static pods leave
	// with their manifests.)
	for _, w := range k.workers {
		if w.static {
			continue
		}
		if p, ok := k.pods.Get(w.namespace, w.name); !ok || p.UID != w.uid {
			gone = append(gone, w)
		}
	}
	k.mu.Unlock()
	for _, w := range wake {
		w.kick()
	}
	for _, w := range gone {
		k.podDeleted(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: w.namespace, Name: w.name, UID: w.uid}})
	}
	for _, uid := range orphans {
		k.removeOrphan(ctx, uid)
	}
	k.m.relistDuration.Observe(k.clock.Since(start).Seconds())
}

// removeOrphan removes what the runtime holds for a pod without a worker.
func (k *Kubelet) removeOrphan(ctx context.Context, uid types.UID) {
	sandboxes, err := k.rt.ListPodSandboxes(ctx, uid)
	if err != nil {
		return
	}
	for _, sb := range sandboxes {
		k.logf("removing sandbox %s of pod %s/%s (%s), which the node does not run", sb.ID, sb.Namespace, sb.Name, uid)
		if err := k.rt.RemovePodSandbox(ctx, sb.ID); err != nil && !errors.Is(err, ErrNotFound) {
			k.logf("removing sandbox %s: %v", sb.ID, err)
		}
	}
	containers, err := k.rt.ListContainers(ctx, uid)
	if err != nil {
		return
	}
	for _, c := range containers {
		if err := k.rt.RemoveContainer(ctx, c.ID); err != nil && !errors.Is(err, ErrNotFound) {
			k.logf("removing container %s: %v", c.ID, err)
		}
	}
	k.releaseIP(uid)
}

// removeOrphanVolumes tears down the volumes of pods the node does not run
// (any more): pods deleted while the kubelet was down.
func (k *Kubelet) removeOrphanVolumes(ctx context.Context) {
	if k.cfg.Volumes == nil {
		return
	}
	uids, err := k.cfg.Volumes.Pods()
	if err != nil {
		k.logf("listing the pods with volumes: %v", err)
		return
	}
	for _, uid := range uids {
		k.mu.Lock()
		_, running := k.workers[uid]
		k.mu.Unlock()
		if running {
			continue
		}
		k.logf("removing the volumes of pod %s, which the node does not run", uid)
		if err := k.cfg.Volumes.TearDown(ctx, uid); err != nil {
			k.logErr(ctx, "removing the volumes of pod %s: %v", uid, err)
		}
	}
}

// logErr logs a failure, unless it is the kubelet stopping.
func (k *Kubelet) logErr(ctx context.Context, format string, args ...any) {
	if ctx.Err() == nil {
		k.logf(format, args...)
	}
}

func (k *Kubelet) logf(format string, args ...any) {
	if k.cfg.Logf != nil {
		k.cfg.Logf("kubelet %s: "+format, append([]any{k.cfg.NodeName}, args...)...)
	}
}

func (k *Kubelet) event(obj runtime.Object, eventType, reason, format string, args ...any) {
	if k.cfg.Recorder != nil {
		k.cfg.Recorder.Eventf(obj, eventType, reason, format, args...)
	}
}
