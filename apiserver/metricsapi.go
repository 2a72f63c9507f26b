package apiserver

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"reflect"
	"strconv"
	"sync"
	"time"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	statsv1alpha1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"github.com/tendhq/tend/apiserver/storage"
	"github.com/tendhq/tend/schemas/openapi"
)

// metrics.k8s.io/v1beta1 is served by the apiserver itself, from the
// kubelets' stats, so that `kubectl top` works with nothing installed.
//
// How it aggregates, and why: metrics-server scrapes every kubelet's
// /metrics/resource every 15 s and computes CPU rates from two points, so
// it answers only from its second scrape on and costs a scrape of every node
// each period whether anyone asks or not. tend reads lazily instead: a
// request reads /stats/summary from the kubelets of the nodes it needs, in
// parallel and each with a timeout, and keeps each node's answer for a short
// time (metricsCacheTTL), so that `kubectl top node` then `kubectl top pod`
// read each kubelet once, and a request for one pod reads one kubelet. The
// summary carries CPU rates the kubelet computed (usageNanoCores, over the
// time since its previous read, or since the container's start on the
// first), so the first request already has an answer, and a cluster nobody
// asks costs nothing: neither do its thousands of hollow nodes, whose
// kubelets serve no endpoint and are skipped.
//
// A node's metrics window is the time since the apiserver's previous read
// of its kubelet (the window the kubelet's rate covers when the apiserver is
// its only reader), or, on a first read, the time since the node's or pod's
// start. Pods or nodes whose kubelet cannot be read, or that it does not
// report, are left out of lists and are NotFound to a get, as with
// metrics-server.
const (
	metricsGroup   = "metrics.k8s.io"
	metricsVersion = "v1beta1"
	// metricsCacheTTL is how long one read of a kubelet's summary answers.
	metricsCacheTTL = 5 * time.Second
	// metricsTimeout bounds one read of a kubelet.
	metricsTimeout = 5 * time.Second
	// metricsParallel is how many kubelets one request reads at a time.
	metricsParallel = 32
)

var (
	nodeMetricsGR = schema.GroupResource{Group: metricsGroup, Resource: "nodes"}
	podMetricsGR  = schema.GroupResource{Group: metricsGroup, Resource: "pods"}
	nodesGR       = schema.GroupResource{Resource: "nodes"}
	podsGR        = schema.GroupResource{Resource: "pods"}
)

// metricsDiscovery is the group's discovery: its APIGroup, its aggregated
// discovery entry and its APIResourceList.
func metricsDiscovery() (metav1.APIGroup, apidiscoveryv2.APIGroupDiscovery, *metav1.APIResourceList) {
	gv := metav1.GroupVersionForDiscovery{GroupVersion: metricsGroup + "/" + metricsVersion, Version: metricsVersion}
	group := metav1.APIGroup{TypeMeta: metav1.TypeMeta{Kind: "APIGroup", APIVersion: "v1"}, Name: metricsGroup,
		Versions: []metav1.GroupVersionForDiscovery{gv}, PreferredVersion: gv}
	verbs := []string{"get", "list"}
	list := &metav1.APIResourceList{TypeMeta: metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"}, GroupVersion: gv.GroupVersion,
		APIResources: []metav1.APIResource{
			{Name: "nodes", SingularName: "", Namespaced: false, Kind: "NodeMetrics", Verbs: verbs},
			{Name: "pods", SingularName: "", Namespaced: true, Kind: "PodMetrics", Verbs: verbs},
		}}
	agg := apidiscoveryv2.APIGroupDiscovery{ObjectMeta: metav1.ObjectMeta{Name: metricsGroup},
		Versions: []apidiscoveryv2.APIVersionDiscovery{{Version: metricsVersion, Freshness: apidiscoveryv2.DiscoveryFreshnessCurrent,
			Resources: []apidiscoveryv2.APIResourceDiscovery{
				{Resource: "nodes", Scope: apidiscoveryv2.ScopeCluster, Verbs: verbs,
					ResponseKind: &metav1.GroupVersionKind{Group: metricsGroup, Version: metricsVersion, Kind: "NodeMetrics"}},
				{Resource: "pods", Scope: apidiscoveryv2.ScopeNamespace, Verbs: verbs,
					ResponseKind: &metav1.GroupVersionKind{Group: metricsGroup, Version: metricsVersion, Kind: "PodMetrics"}},
			}}}}
	return group, agg, list
}

// metricsOpenAPI describes the group's two resources for OpenAPI.
func metricsOpenAPI() []openapi.Resource {
	verbs := []string{"get", "list"}
	return []openapi.Resource{
		{Group: metricsGroup, Version: metricsVersion, Resource: "nodes", Kind: "NodeMetrics", Verbs: verbs,
			Type: reflect.TypeOf(metricsv1beta1.NodeMetrics{}), ListType: reflect.TypeOf(metricsv1beta1.NodeMetricsList{})},
		{Group: metricsGroup, Version: metricsVersion, Resource: "pods", Kind: "PodMetrics", Namespaced: true, Verbs: verbs,
			Type: reflect.TypeOf(metricsv1beta1.PodMetrics{}), ListType: reflect.TypeOf(metricsv1beta1.PodMetricsList{})},
	}
}

// metricsAPI serves /apis/metrics.k8s.io/v1beta1/... .
type metricsAPI struct {
	s   *Server
	now func() time.Time
	// transport reaches kubelets; resolved at the first read.
	transportOnce sync.Once
	transport     http.RoundTripper
	transportErr  error
	newTransport  func() (http.RoundTripper, error)

	mu    sync.Mutex
	nodes map[string]*kubeletRead
}

// kubeletRead is the last read of one node's kubelet. Its mutex is held
// while reading, so that concurrent requests wait for one read.
type kubeletRead struct {
	mu       sync.Mutex
	endpoint string
	at       time.Time // when the read ended; zero before the first
	summary  *statsv1alpha1.Summary
	err      error
	// prevAt is when the read before this one ended: the start of the
	// window of this one's rates.
	prevAt time.Time
}

// newMetricsAPI returns the group's handler. newTransport gives the
// connection to kubelets, with the apiserver's kubelet-client certificate
// (the server's one, shared with the pod proxy: podproxy.go).
func newMetricsAPI(s *Server, newTransport func() (http.RoundTripper, error)) *metricsAPI {
	return &metricsAPI{s: s, now: time.Now, newTransport: newTransport, nodes: map[string]*kubeletRead{}}
}

// kubeletClientTransport is how the apiserver reaches kubelets: it trusts
// serving certificates of the cluster CA and presents upstream's
// apiserver-kubelet-client certificate (user kube-apiserver-kubelet-client,
// group system:masters) from the data directory's pki, issued on first use.
func (s *Server) kubeletClientTransport() (http.RoundTripper, error) {
	leaf, err := s.ca.Client(filepath.Join(s.cfg.DataDir, "pki"), "apiserver-kubelet-client", "kube-apiserver-kubelet-client", []string{"system:masters"})
	if err != nil {
		return nil, fmt.Errorf("the apiserver's kubelet client certificate: %w", err)
	}
	cert, err := leaf.TLSCertificate()
	if err != nil {
		return nil, fmt.Errorf("the apiserver's kubelet client certificate: %w", err)
	}
	return &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: s.ca.Pool(), Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		DialContext:         (&net.Dialer{Timeout: metricsTimeout}).DialContext,
		TLSHandshakeTimeout: metricsTimeout,
		MaxIdleConnsPerHost: 2,
		IdleConnTimeout:     90 * time.Second,
	}, nil
}

func (m *metricsAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ri, _ := RequestInfoFrom(r.Context())
	if ri == nil || !ri.IsResourceRequest || ri.APIGroup != metricsGroup || ri.APIVersion != metricsVersion ||
		ri.Subresource != "" || (ri.Resource != "nodes" && ri.Resource != "pods") {
		writeError(w, r, errNotFoundPath())
		return
	}
	gr := nodeMetricsGR
	if ri.Resource == "pods" {
		gr = podMetricsGR
	}
	if ri.Verb != "get" && ri.Verb != "list" {
		writeError(w, r, apierrors.NewMethodNotSupported(gr, r.Method))
		return
	}
	if ri.Resource == "nodes" && ri.Namespace != "" || ri.Resource == "pods" && ri.Name != "" && ri.Namespace == "" {
		writeError(w, r, errNotFoundPath())
		return
	}
	var (
		obj any
		err error
	)
	switch {
	case ri.Resource == "nodes" && ri.Verb == "get":
		obj, err = m.getNode(r.Context(), ri.Name)
	case ri.Resource == "nodes":
		obj, err = m.listNodes(r.Context(), r)
	case ri.Verb == "get":
		obj, err = m.getPod(r.Context(), ri.Namespace, ri.Name)
	default:
		obj, err = m.listPods(r.Context(), r, ri.Namespace)
	}
	if err != nil {
		writeError(w, r, toAPIError(err, gr, ri.Name))
		return
	}
	writeJSON(w, r, http.StatusOK, obj)
}

// predicate parses the request's label and field selectors for listing
// the objects of gr (nodes or pods) the metrics are of.
func (m *metricsAPI) predicate(r *http.Request, gr schema.GroupResource, namespace string) (storage.Predicate, error) {
	p := storage.Predicate{Namespace: namespace}
	q := r.URL.Query()
	if s := q.Get("labelSelector"); s != "" {
		sel, err := labels.Parse(s)
		if err != nil {
			return p, apierrors.NewBadRequest(fmt.Sprintf("unable to parse requirement: %v", err))
		}
		p.Label = sel
	}
	if s := q.Get("fieldSelector"); s != "" {
		sel, err := fields.ParseSelector(s)
		if err != nil {
			return p, apierrors.NewBadRequest(fmt.Sprintf("invalid field selector: %v", err))
		}
		for _, req := range sel.Requirements() {
			if req.Field != "metadata.name" && (gr != podsGR || req.Field != "metadata.namespace") {
				return p, apierrors.NewBadRequest(fmt.Sprintf("field label not supported: %s", req.Field))
			}
		}
		p.Field = sel
	}
	return p, nil
}

func (m *metricsAPI) listNodes(ctx context.Context, r *http.Request) (*metricsv1beta1.NodeMetricsList, error) {
	p, err := m.predicate(r, nodesGR, "")
	if err != nil {
		return nil, err
	}
	res, err := m.s.caches[nodesGR].List(ctx, storage.ListOptions{ReadOptions: storage.ReadOptions{RV: "0"}, Predicate: p})
	if err != nil {
		return nil, err
	}
	nodes := make([]*corev1.Node, 0, len(res.Items))
	for _, o := range res.Items {
		n, err := decodeNode(o)
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, n)
	}
	reads := m.readNodes(ctx, nodes)
	out := &metricsv1beta1.NodeMetricsList{TypeMeta: metav1.TypeMeta{Kind: "NodeMetricsList", APIVersion: metricsGroup + "/" + metricsVersion},
		Items: []metricsv1beta1.NodeMetrics{}}
	for _, n := range nodes {
		if nm, ok := nodeMetrics(n, reads[n.Name]); ok {
			out.Items = append(out.Items, *nm)
		}
	}
	return out, nil
}

func (m *metricsAPI) getNode(ctx context.Context, name string) (*metricsv1beta1.NodeMetrics, error) {
	o, err := m.s.caches[nodesGR].Get(ctx, name, storage.ReadOptions{RV: "0"})
	if err != nil {
		if apierrors.IsNotFound(toAPIError(err, nodesGR, name)) {
			return nil, apierrors.NewNotFound(nodeMetricsGR, name)
		}
		return nil, err
	}
	n, err := decodeNode(o)
	if err != nil {
		return nil, err
	}
	reads := m.readNodes(ctx, []*corev1.Node{n})
	nm, ok := nodeMetrics(n, reads[name])
	if !ok {
		return nil, apierrors.NewNotFound(nodeMetricsGR, name)
	}
	return nm, nil
}

// podRef is what PodMetrics need of a pod: its name, labels, node and UID.
type podRef struct {
	namespace, name, node, uid string
	labels                     labels.Set
}

func (m *metricsAPI) listPods(ctx context.Context, r *http.Request, namespace string) (*metricsv1beta1.PodMetricsList, error) {
	p, err := m.predicate(r, podsGR, namespace)
	if err != nil {
		return nil, err
	}
	res, err := m.s.caches[podsGR].List(ctx, storage.ListOptions{ReadOptions: storage.ReadOptions{RV: "0"}, Predicate: p})
	if err != nil {
		return nil, err
	}
	pods := make([]podRef, 0, len(res.Items))
	for _, o := range res.Items {
		pods = append(pods, podRefOf(o))
	}
	items, err := m.podMetrics(ctx, pods)
	if err != nil {
		return nil, err
	}
	return &metricsv1beta1.PodMetricsList{TypeMeta: metav1.TypeMeta{Kind: "PodMetricsList", APIVersion: metricsGroup + "/" + metricsVersion},
		Items: items}, nil
}

func (m *metricsAPI) getPod(ctx context.Context, namespace, name string) (*metricsv1beta1.PodMetrics, error) {
	o, err := m.s.caches[podsGR].Get(ctx, namespace+"/"+name, storage.ReadOptions{RV: "0"})
	if err != nil {
		if apierrors.IsNotFound(toAPIError(err, podsGR, name)) {
			return nil, apierrors.NewNotFound(podMetricsGR, name)
		}
		return nil, err
	}
	items, err := m.podMetrics(ctx, []podRef{podRefOf(o)})
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, apierrors.NewNotFound(podMetricsGR, name)
	}
	return &items[0], nil
}

func podRefOf(o *storage.Object) podRef {
	ref := podRef{namespace: o.Namespace, name: o.Name, node: o.Fields["spec.nodeName"], labels: o.Labels}
	// The UID tells a pod from an earlier one of the same name; only it
	// is decoded of the pod.
	var meta struct {
		Metadata struct {
			UID string `json:"uid"`
		} `json:"metadata"`
	}
	if json.Unmarshal(o.JSON, &meta) == nil {
		ref.uid = meta.Metadata.UID
	}
	return ref
}

// podMetrics reads the kubelets of pods' nodes and returns the metrics of
// the pods they report, in pods' order.
func (m *metricsAPI) podMetrics(ctx context.Context, pods []podRef) ([]metricsv1beta1.PodMetrics, error) {
	needed := map[string]bool{}
	var nodes []*corev1.Node
	for _, p := range pods {
		if p.node == "" || needed[p.node] {
			continue
		}
		needed[p.node] = true
		o, err := m.s.caches[nodesGR].Get(ctx, p.node, storage.ReadOptions{RV: "0"})
		if err != nil {
			continue // a pod on a node that is gone has no metrics
		}
		n, err := decodeNode(o)
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, n)
	}
	reads := m.readNodes(ctx, nodes)
	type key struct{ namespace, name string }
	reported := map[key]struct {
		ps   *statsv1alpha1.PodStats
		read kubeletSample
	}{}
	for _, rd := range reads {
		if rd.summary == nil {
			continue
		}
		for i := range rd.summary.Pods {
			ps := &rd.summary.Pods[i]
			reported[key{ps.PodRef.Namespace, ps.PodRef.Name}] = struct {
				ps   *statsv1alpha1.PodStats
				read kubeletSample
			}{ps, rd}
		}
	}
	out := make([]metricsv1beta1.PodMetrics, 0, len(pods))
	for _, p := range pods {
		rp, ok := reported[key{p.namespace, p.name}]
		if !ok || (p.uid != "" && rp.ps.PodRef.UID != "" && rp.ps.PodRef.UID != p.uid) {
			continue
		}
		if pm, ok := podMetricsOf(p, rp.ps, rp.read); ok {
			out = append(out, *pm)
		}
	}
	return out, nil
}

// kubeletSample is one read of a kubelet as a request uses it.
type kubeletSample struct {
	summary *statsv1alpha1.Summary
	prevAt  time.Time
}

// readNodes reads the kubelets of nodes, metricsParallel at a time, and
// returns the summaries by node name; a node whose kubelet could not be
// read is missing.
func (m *metricsAPI) readNodes(ctx context.Context, nodes []*corev1.Node) map[string]kubeletSample {
	out := make(map[string]kubeletSample, len(nodes))
	var mu sync.Mutex
	work := make(chan *corev1.Node)
	var wg sync.WaitGroup
	for range min(len(nodes), metricsParallel) {
		wg.Go(func() {
			for n := range work {
				if s, ok := m.read(ctx, n); ok {
					mu.Lock()
					out[n.Name] = s
					mu.Unlock()
				}
			}
		})
	}
	for _, n := range nodes {
		work <- n
	}
	close(work)
	wg.Wait()
	return out
}

// read returns node n's summary: the last read when it is younger than
// metricsCacheTTL and from the same endpoint, a new one otherwise.
func (m *metricsAPI) read(ctx context.Context, n *corev1.Node) (kubeletSample, bool) {
	endpoint := kubeletEndpoint(n)
	if endpoint == "" {
		return kubeletSample{}, false
	}
	m.mu.Lock()
	kr := m.nodes[n.Name]
	if kr == nil {
		kr = &kubeletRead{}
		m.nodes[n.Name] = kr
	}
	m.mu.Unlock()

	kr.mu.Lock()
	defer kr.mu.Unlock()
	now := m.now()
	if kr.endpoint == endpoint && !kr.at.IsZero() && now.Sub(kr.at) < metricsCacheTTL {
		return kubeletSample{summary: kr.summary, prevAt: kr.prevAt}, kr.err == nil
	}
	s, err := m.fetch(ctx, endpoint)
	if err != nil {
		m.s.logf("metrics.k8s.io: reading the stats of node %s at %s: %v", n.Name, endpoint, err)
	}
	if kr.endpoint != endpoint {
		kr.at = time.Time{}
	}
	if err == nil {
		kr.prevAt = kr.at
		kr.summary = s
	}
	kr.endpoint, kr.at, kr.err = endpoint, m.now(), err
	m.pruneLocked(now)
	return kubeletSample{summary: kr.summary, prevAt: kr.prevAt}, err == nil
}

// pruneLocked forgets, now and then, nodes not read for long (deleted
// ones). Called with a kubeletRead's lock held, never m.mu.
func (m *metricsAPI) pruneLocked(now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.nodes) < 64 {
		return
	}
	for name, kr := range m.nodes {
		if kr.mu.TryLock() {
			if !kr.at.IsZero() && now.Sub(kr.at) > 10*time.Minute {
				delete(m.nodes, name)
			}
			kr.mu.Unlock()
		}
	}
}

// fetch GETs https://endpoint/stats/summary?only_cpu_and_memory=true.
func (m *metricsAPI) fetch(ctx context.Context, endpoint string) (*statsv1alpha1.Summary, error) {
	m.transportOnce.Do(func() { m.transport, m.transportErr = m.newTransport() })
	if m.transportErr != nil {
		return nil, m.transportErr
	}
	ctx, cancel := context.WithTimeout(ctx, metricsTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+endpoint+"/stats/summary?only_cpu_and_memory=true", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := m.transport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		if len(body) > 256 {
			body = body[:256]
		}
		return nil, fmt.Errorf("%s: %q", resp.Status, body)
	}
	var s statsv1alpha1.Summary
	if err := json.Unmarshal(body, &s); err != nil {
		return nil, fmt.Errorf("decoding the summary: %w", err)
	}
	return &s, nil
}

// kubeletEndpoint is where node n's kubelet listens: its InternalIP and
// status.daemonEndpoints.kubeletEndpoint.Port; "" when it reports no port
// (hollow nodes serve none) or no address.
func kubeletEndpoint(n *corev1.Node) string {
	port := n.Status.DaemonEndpoints.KubeletEndpoint.Port
	if port <= 0 {
		return ""
	}
	for _, a := range n.Status.Addresses {
		if a.Type == corev1.NodeInternalIP && a.Address != "" {
			return net.JoinHostPort(a.Address, strconv.Itoa(int(port)))
		}
	}
	return ""
}

func decodeNode(o *storage.Object) (*corev1.Node, error) {
	var n corev1.Node
	if err := jsonUnmarshal(o.JSON, &n); err != nil {
		return nil, fmt.Errorf("decoding node %s: %w", o.Name, err)
	}
	return &n, nil
}

// nodeMetrics is node n's metrics from its kubelet's summary, if it reports
// CPU and memory.
func nodeMetrics(n *corev1.Node, rd kubeletSample) (*metricsv1beta1.NodeMetrics, bool) {
	if rd.summary == nil {
		return nil, false
	}
	ns := rd.summary.Node
	if ns.CPU == nil || ns.CPU.UsageNanoCores == nil || ns.Memory == nil || ns.Memory.WorkingSetBytes == nil {
		return nil, false
	}
	ts := ns.CPU.Time.Time
	return &metricsv1beta1.NodeMetrics{
		TypeMeta:   metav1.TypeMeta{Kind: "NodeMetrics", APIVersion: metricsGroup + "/" + metricsVersion},
		ObjectMeta: metav1.ObjectMeta{Name: n.Name, Labels: n.Labels, CreationTimestamp: metav1.NewTime(time.Now())},
		Timestamp:  metav1.NewTime(ts),
		Window:     metav1.Duration{Duration: window(ts, rd.prevAt, ns.StartTime.Time)},
		Usage:      usage(*ns.CPU.UsageNanoCores, *ns.Memory.WorkingSetBytes),
	}, true
}

// podMetricsOf is pod p's metrics from its stats, if every container it
// reports has CPU and memory (metrics-server leaves out a pod with a
// container it has no metrics of, rather than under-report it).
func podMetricsOf(p podRef, ps *statsv1alpha1.PodStats, rd kubeletSample) (*metricsv1beta1.PodMetrics, bool) {
	pm := &metricsv1beta1.PodMetrics{
		TypeMeta: metav1.TypeMeta{Kind: "PodMetrics", APIVersion: metricsGroup + "/" + metricsVersion},
		ObjectMeta: metav1.ObjectMeta{Name: p.name, Namespace: p.namespace, Labels: map[string]string(p.labels),
			CreationTimestamp: metav1.NewTime(time.Now())},
		Containers: make([]metricsv1beta1.ContainerMetrics, 0, len(ps.Containers)),
	}
	var ts time.Time
	for _, c := range ps.Containers {
		if c.CPU == nil || c.CPU.UsageNanoCores == nil || c.Memory == nil || c.Memory.WorkingSetBytes == nil {
			return nil, false
		}
		if c.CPU.Time.After(ts) {
			ts = c.CPU.Time.Time
		}
		pm.Containers = append(pm.Containers, metricsv1beta1.ContainerMetrics{Name: c.Name,
			Usage: usage(*c.CPU.UsageNanoCores, *c.Memory.WorkingSetBytes)})
	}
	if ts.IsZero() {
		if ps.CPU == nil {
			return nil, false
		}
		ts = ps.CPU.Time.Time
	}
	pm.Timestamp = metav1.NewTime(ts)
	pm.Window = metav1.Duration{Duration: window(ts, rd.prevAt, ps.StartTime.Time)}
	return pm, true
}

// window is the time the rates read at ts cover: since the previous read,
// or since the start on a first one.
func window(ts, prevAt, start time.Time) time.Duration {
	from := prevAt
	if from.IsZero() || from.Before(start) {
		from = start
	}
	if from.IsZero() || !ts.After(from) {
		return 0
	}
	return ts.Sub(from).Round(time.Millisecond)
}

// usage is a ResourceList of CPU in nanocores and memory in bytes, in the
// forms metrics-server gives.
func usage(nanocores, bytes uint64) corev1.ResourceList {
	return corev1.ResourceList{
		corev1.ResourceCPU:    *resource.NewScaledQuantity(int64(nanocores), -9),
		corev1.ResourceMemory: *resource.NewQuantity(int64(bytes), resource.BinarySI),
	}
}
