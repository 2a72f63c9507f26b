package kubelet

import (
	"context"
	"encoding/json"
	"fmt"
	goruntime "runtime"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
)

// Labels the kubelet puts on its node, and keeps there.
const (
	labelOSBeta   = "beta.kubernetes.io/os"
	labelArchBeta = "beta.kubernetes.io/arch"
)

var defaultLabels = []string{corev1.LabelHostname, corev1.LabelOSStable, corev1.LabelArchStable, labelOSBeta, labelArchBeta}

// leaseNamespace holds the nodes' Leases.
const leaseNamespace = corev1.NamespaceNodeLease

// initialNode is the Node the kubelet registers, as upstream's initialNode:
// the default labels, then the configured ones; the configured taints; and a
// first status. The kubelet adds no taint of its own: node.kubernetes.io/not-ready
// is the node lifecycle controller's.
func (k *Kubelet) initialNode() (*corev1.Node, []nodeEvent) {
	hostname := k.cfg.NodeName
	for _, a := range k.cfg.Addresses {
		if a.Type == corev1.NodeHostName {
			hostname = a.Address
			break
		}
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: k.cfg.NodeName, Labels: map[string]string{
			corev1.LabelHostname:   hostname,
			corev1.LabelOSStable:   goruntime.GOOS,
			corev1.LabelArchStable: goruntime.GOARCH,
			labelOSBeta:            goruntime.GOOS,
			labelArchBeta:          goruntime.GOARCH,
		}},
	}
	for key, v := range k.cfg.Labels {
		node.Labels[key] = v
	}
	if len(k.cfg.Taints) > 0 {
		node.Spec.Taints = append([]corev1.Taint(nil), k.cfg.Taints...)
	}
	events := setNodeStatus(node, k.nodeStatusInput())
	return node, events
}

// register creates the kubelet's Node, or, when it exists, puts the default
// labels back on it, as upstream's tryRegisterWithAPIServer. It retries with
// back-off (100ms doubling to 7s) until it succeeds or ctx ends.
func (k *Kubelet) register(ctx context.Context) (*corev1.Node, error) {
	step := 100 * time.Millisecond
	for {
		node, err := k.tryRegister(ctx)
		if err == nil {
			return node, nil
		}
		k.logErr(ctx, "registering node: %v; retrying in %v", err, step)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-k.clock.After(step):
		}
		step = min(2*step, 7*time.Second)
	}
}

func (k *Kubelet) tryRegister(ctx context.Context) (*corev1.Node, error) {
	nodes := k.cfg.Client.CoreV1().Nodes()
	want, events := k.initialNode()
	created, err := nodes.Create(ctx, want, metav1.CreateOptions{})
	if err == nil {
		k.logf("registered node %s", created.Name)
		k.recordNodeEvents(created, events)
		return created, nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("creating node %s: %w", want.Name, err)
	}
	existing, err := nodes.Get(ctx, want.Name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("getting the existing node %s: %w", want.Name, err)
	}
	labels := map[string]*string{}
	for _, key := range defaultLabels {
		v, ok := want.Labels[key]
		if !ok || existing.Labels[key] == v {
			continue
		}
		if v == "" {
			labels[key] = nil
		} else {
			labels[key] = &v
		}
	}
	if len(labels) == 0 {
		return existing, nil
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"labels": labels}})
	if err != nil {
		return nil, err
	}
	updated, err := nodes.Patch(ctx, want.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
	if err != nil {
		return nil, fmt.Errorf("reconciling the labels of the existing node %s: %w", want.Name, err)
	}
	return updated, nil
}

// nodeStatusInput gathers what the node's status is computed from.
func (k *Kubelet) nodeStatusInput() nodeStatusInput {
	k.mu.Lock()
	rs, rerr, checked := k.rtStatus, k.rtErr, k.rtChecked
	k.mu.Unlock()
	in := nodeStatusInput{now: k.clock.Now(), capacity: k.cfg.Capacity, allocatable: k.allocatable,
		addresses: k.cfg.Addresses, nodeInfo: k.cfg.NodeInfo, kubeletPort: k.cfg.KubeletPort}
	in.nodeInfo.KubeletVersion = k.cfg.Version
	in.nodeInfo.OperatingSystem = goruntime.GOOS
	in.nodeInfo.Architecture = goruntime.GOARCH
	switch {
	case !checked:
		in.runtimeErrors = []string{"container runtime status check may not have completed yet"}
	case rerr != nil:
		in.runtimeErrors = []string{fmt.Sprintf("container runtime is down: %v", rerr)}
	default:
		in.nodeInfo.ContainerRuntimeVersion = rs.Name + "://" + rs.Version
		if !rs.Runtime.Ready {
			in.runtimeErrors = []string{"container runtime not ready: " + conditionString("RuntimeReady", rs.Runtime)}
		}
		if !rs.Network.Ready {
			in.networkErrors = []string{"container runtime network not ready: " + conditionString("NetworkReady", rs.Network)}
		}
	}
	if in.nodeInfo.ContainerRuntimeVersion == "" {
		// Keep the last version reported while the runtime does not answer.
		if n := k.currentNode(); n != nil {
			in.nodeInfo.ContainerRuntimeVersion = n.Status.NodeInfo.ContainerRuntimeVersion
		}
	}
	return in
}

// conditionString is how upstream prints a runtime condition:
// "NetworkReady=false reason:NetworkPluginNotReady message:...".
func conditionString(name string, c RuntimeCondition) string {
	return fmt.Sprintf("%s=%t reason:%s message:%s", name, c.Ready, c.Reason, c.Message)
}

// currentNode is the Node as the informer last saw it, or as registered. It
// is shared: do not modify it.
func (k *Kubelet) currentNode() *corev1.Node {
	if k.nodes != nil {
		if n, ok := k.nodes.Get("", k.cfg.NodeName); ok {
			return n
		}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.node
}

// syncNodeStatus computes the node's status and writes it when it changed or
// NodeStatusReportFrequency passed since the last write, as upstream's
// tryUpdateNodeStatus. A node that was deleted is registered again.
func (k *Kubelet) syncNodeStatus(ctx context.Context) {
	k.checkRuntime(ctx)
	base := k.currentNode()
	if base == nil {
		return
	}
	node := base.DeepCopy()
	events := setNodeStatus(node, k.nodeStatusInput())
	now := k.clock.Now()
	if now.Before(k.lastReport.Add(k.cfg.NodeStatusReportFrequency)) && !nodeStatusChanged(&base.Status, &node.Status) {
		return
	}
	patch, err := nodeStatusPatch(&base.Status, &node.Status)
	if err != nil {
		k.logf("computing the status patch of node %s: %v", k.cfg.NodeName, err)
		return
	}
	updated, err := k.cfg.Client.CoreV1().Nodes().Patch(ctx, k.cfg.NodeName, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
	if apierrors.IsNotFound(err) {
		k.logf("node %s is gone; registering it again", k.cfg.NodeName)
		if n, err := k.tryRegister(ctx); err == nil {
			k.setNode(n)
		}
		return
	}
	if err != nil {
		k.logErr(ctx, "writing the status of node %s: %v", k.cfg.NodeName, err)
		return
	}
	k.lastReport = now
	k.setNode(updated)
	k.recordNodeEvents(updated, events)
}

// recordNodeEvents records status events as upstream's recordNodeStatusEvent:
// "Node <name> status is now: <reason>".
func (k *Kubelet) recordNodeEvents(node *corev1.Node, events []nodeEvent) {
	for _, e := range events {
		k.event(node, e.eventType, e.reason, "Node %s status is now: %s", k.cfg.NodeName, e.reason)
	}
}

func (k *Kubelet) setNode(n *corev1.Node) {
	k.mu.Lock()
	k.node = n
	k.mu.Unlock()
}

// renewLease renews the node's Lease in kube-node-lease, as upstream's lease
// controller: an update of the last Lease written (no read), and when that
// fails, a read (or a create) and an update. The Lease is owned by the Node,
// so that it goes when the node does.
func (k *Kubelet) renewLease(ctx context.Context) {
	leases := k.cfg.Client.CoordinationV1().Leases(leaseNamespace)
	if k.lease != nil {
		l, err := leases.Update(ctx, k.desiredLease(k.lease), metav1.UpdateOptions{})
		if err == nil {
			k.lease = l
			return
		}
		k.logErr(ctx, "renewing lease %s/%s: %v", leaseNamespace, k.cfg.NodeName, err)
		k.lease = nil
	}
	l, err := leases.Get(ctx, k.cfg.NodeName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		l, err = leases.Create(ctx, k.desiredLease(nil), metav1.CreateOptions{})
	case err == nil:
		l, err = leases.Update(ctx, k.desiredLease(l), metav1.UpdateOptions{})
	}
	if err != nil {
		k.logErr(ctx, "renewing lease %s/%s: %v", leaseNamespace, k.cfg.NodeName, err)
		return
	}
	k.lease = l
}

// desiredLease is base (or a new Lease) held by the node, renewed now.
func (k *Kubelet) desiredLease(base *coordinationv1.Lease) *coordinationv1.Lease {
	var l *coordinationv1.Lease
	if base == nil {
		holder := k.cfg.NodeName
		l = &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: k.cfg.NodeName, Namespace: leaseNamespace},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: &holder}}
	} else {
		l = base.DeepCopy()
	}
	d := k.cfg.NodeLeaseDurationSeconds
	l.Spec.LeaseDurationSeconds = &d
	l.Spec.RenewTime = &metav1.MicroTime{Time: k.clock.Now()}
	if len(l.OwnerReferences) == 0 {
		if n := k.currentNode(); n != nil && n.UID != "" {
			l.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: n.Name, UID: n.UID}}
		}
	}
	return l
}

// nodeStatusPatch is the strategic merge patch from one node status to
// another. status.addresses is declared a list merged by type, which two
// addresses of one type break, so, as upstream's PatchNodeStatus, a change of
// addresses replaces the whole list.
func nodeStatusPatch(from, to *corev1.NodeStatus) ([]byte, error) {
	replaceAddresses := len(from.Addresses) > 0 && !apiequality.Semantic.DeepEqual(from.Addresses, to.Addresses)
	diff := to.DeepCopy()
	if replaceAddresses {
		diff.Addresses = from.Addresses
	}
	old, err := json.Marshal(corev1.Node{Status: *from})
	if err != nil {
		return nil, err
	}
	cur, err := json.Marshal(corev1.Node{Status: *diff})
	if err != nil {
		return nil, err
	}
	patch, err := strategicpatch.CreateTwoWayMergePatch(old, cur, corev1.Node{})
	if err != nil || !replaceAddresses {
		return patch, err
	}
	var m map[string]any
	if err := json.Unmarshal(patch, &m); err != nil {
		return nil, err
	}
	status, _ := m["status"].(map[string]any)
	if status == nil {
		status = map[string]any{}
		m["status"] = status
	}
	addresses := make([]any, 0, len(to.Addresses)+1)
	for _, a := range to.Addresses {
		addresses = append(addresses, map[string]any{"type": a.Type, "address": a.Address})
	}
	status["addresses"] = append(addresses, map[string]any{"$patch": "replace"})
	return json.Marshal(m)
}
