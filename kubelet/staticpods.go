package kubelet

import (
	"context"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tendhq/tend/kubelet/staticpods"
)

// Static pods, as upstream's kubelet runs them:
//
//   - The pods of Config.StaticPodPath (package staticpods reads them) run in
//     workers of their own, keyed by their static UIDs, admitted like any
//     other pod. A manifest removed stops its pod as a deleted pod stops
//     (preStop, SIGTERM, grace period); a changed manifest is a new pod (a
//     new UID), which starts once the old one, of the same name, has stopped.
//   - Each running static pod has a mirror pod in the API: a copy with the
//     annotation kubernetes.io/config.mirror (the static pod's hash) and the
//     Node as its controller owner. A mirror pod that is missing is created;
//     one mirroring another version of the static pod is deleted (grace 0)
//     and created again; one someone deletes (kubectl delete) is deleted at
//     once and created again a second later (mirrorRemakeDelay), so that
//     kubectl, waiting for it to go, sees it go. The static pod runs on
//     meanwhile. Mirror pods no static pod of the node claims are deleted.
//   - The informer's mirror pods never get workers of their own. The status
//     of a static pod is written to its mirror pod; without one it is kept,
//     and written once the mirror pod exists.
//   - A static pod rejected by admission gets no mirror pod, as upstream's.

// isMirrorPod reports whether a pod from the API is a mirror pod.
func isMirrorPod(pod *corev1.Pod) bool {
	_, ok := pod.Annotations[staticpods.ConfigMirrorAnnotation]
	return ok
}

// isMirrorOf is upstream's IsMirrorPodOf: the mirror pod has the static
// pod's namespace and name, and its hash.
func isMirrorOf(mirror, static *corev1.Pod) bool {
	hash, ok := mirror.Annotations[staticpods.ConfigMirrorAnnotation]
	return ok && mirror.Namespace == static.Namespace && mirror.Name == static.Name &&
		hash == static.Annotations[staticpods.ConfigHashAnnotation]
}

// mirrorPodOf is the mirror pod of a static pod on node, as upstream's
// CreateMirrorPod makes it: a copy with the mirror annotation and the node
// as its controller.
func mirrorPodOf(static *corev1.Pod, node *corev1.Node) *corev1.Pod {
	m := &corev1.Pod{ObjectMeta: *static.ObjectMeta.DeepCopy(), Spec: *static.Spec.DeepCopy()}
	m.UID, m.ResourceVersion = "", ""
	m.Annotations[staticpods.ConfigMirrorAnnotation] = static.Annotations[staticpods.ConfigHashAnnotation]
	controller := true
	m.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID, Controller: &controller}}
	return m
}

// sameStatic reports whether two readings of a static pod (of one UID, so a
// manifest that sets metadata.uid) say the same.
func sameStatic(a, b *corev1.Pod) bool {
	annotations := func(p *corev1.Pod) map[string]string {
		out := make(map[string]string, len(p.Annotations))
		for k, v := range p.Annotations {
			if k != staticpods.ConfigSeenAnnotation && k != staticpods.ConfigSourceAnnotation {
				out[k] = v
			}
		}
		return out
	}
	return apiequality.Semantic.DeepEqual(a.Labels, b.Labels) &&
		apiequality.Semantic.DeepEqual(annotations(a), annotations(b)) &&
		apiequality.Semantic.DeepEqual(a.Spec, b.Spec)
}

// applyStatic takes a reading of the static pod path: new pods start, removed
// ones stop, changed ones (same UID) are updated. initial says it is the
// reading made before the API's pods are handed to workers. It is called
// from one goroutine at a time (Run, then the source's).
func (k *Kubelet) applyStatic(u staticpods.Update, initial bool) {
	k.logStaticErrors(u)
	if u.Err != nil {
		return
	}
	seen := k.clock.Now().Format(time.RFC3339Nano) // upstream's NewTimestamp().GetString()
	k.mu.Lock()
	old := k.static
	next := make(map[types.UID]*corev1.Pod, len(u.Pods))
	var added, changed, removed []*corev1.Pod
	for _, p := range u.Pods {
		p.Annotations[staticpods.ConfigSourceAnnotation] = staticpods.FileSource
		o, ok := old[p.UID]
		switch {
		case !ok:
			p.Annotations[staticpods.ConfigSeenAnnotation] = seen
			added = append(added, p)
		case sameStatic(o, p):
			p = o
		default:
			p.Annotations[staticpods.ConfigSeenAnnotation] = o.Annotations[staticpods.ConfigSeenAnnotation]
			changed = append(changed, p)
		}
		next[p.UID] = p
	}
	for uid, p := range old {
		if _, ok := next[uid]; !ok {
			removed = append(removed, p)
		}
	}
	k.static, k.staticRead = next, true
	k.mu.Unlock()
	sort.Slice(removed, func(i, j int) bool { return removed[i].Name < removed[j].Name })
	// Removed pods go first: they no longer count for the admission of the
	// pods that replace them.
	for _, p := range removed {
		k.logf("static pod %s/%s (%s) is no longer in %s: stopping it", p.Namespace, p.Name, p.UID, k.cfg.StaticPodPath)
		k.podDeleted(p)
	}
	for _, p := range added {
		k.dispatch(p, initial, true)
	}
	for _, p := range changed {
		k.dispatch(p, false, true)
	}
	if len(removed)+len(added) > 0 {
		k.signalMirrorSync()
	}
}

// logStaticErrors logs (and records as a Warning Event on the Node) each
// manifest that cannot be used, when its error is new.
func (k *Kubelet) logStaticErrors(u staticpods.Update) {
	cur := make(map[string]string, len(u.Errors)+1)
	for _, e := range u.Errors {
		cur[e.Path] = e.Err.Error()
	}
	if u.Err != nil {
		cur[k.cfg.StaticPodPath] = u.Err.Error()
	}
	for path, msg := range cur {
		if k.staticErrs[path] == msg {
			continue
		}
		k.logf("could not process static pod manifest %s: %s", path, msg)
		if node := k.currentNode(); node != nil {
			k.event(node, corev1.EventTypeWarning, "FailedValidation", "Could not process static pod manifest %s: %s", path, msg)
		}
	}
	k.staticErrs = cur
}

// staticWorkersLocked are the workers of the static pods named namespace/name.
func (k *Kubelet) staticWorkersLocked(namespace, name string) []*podWorker {
	var out []*podWorker
	for _, w := range k.workers {
		if w.static && w.namespace == namespace && w.name == name {
			out = append(out, w)
		}
	}
	return out
}

// mirrorChanged wakes the worker of the static pod a mirror pod mirrors; a
// mirror pod of no static pod is an orphan, to delete.
func (k *Kubelet) mirrorChanged(pod *corev1.Pod) {
	k.mu.Lock()
	ws := k.staticWorkersLocked(pod.Namespace, pod.Name)
	k.mu.Unlock()
	for _, w := range ws {
		w.kick()
	}
	if len(ws) == 0 {
		k.signalMirrorSync()
	}
}

// mirrorDeleted tells the worker of the static pod that its mirror pod is
// gone: it makes another.
func (k *Kubelet) mirrorDeleted(pod *corev1.Pod) {
	k.mu.Lock()
	ws := k.staticWorkersLocked(pod.Namespace, pod.Name)
	k.mu.Unlock()
	for _, w := range ws {
		w.forgetMirror(pod.UID)
		w.kick()
	}
}

// staticBlocked reports whether a static pod must wait before it starts: an
// older static pod of the same name (a manifest changed) is still stopping,
// as upstream's pod workers start static pods of one full name in turn.
func (k *Kubelet) staticBlocked(w *podWorker) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, o := range k.staticWorkersLocked(w.namespace, w.name) {
		if o != w && o.isGone() {
			return true
		}
	}
	return false
}

func (k *Kubelet) signalMirrorSync() {
	select {
	case k.mirrorSync <- struct{}{}:
	default:
	}
}

// cleanupMirrorPods deletes the mirror pods no static pod of the node claims
// (upstream's orphaned mirror pods in HandlePodCleanups): those of manifests
// removed, once their pods stopped. Nothing is deleted before the static pod
// path was read.
func (k *Kubelet) cleanupMirrorPods(ctx context.Context) {
	k.mu.Lock()
	if !k.staticRead || k.pods == nil {
		k.mu.Unlock()
		return
	}
	claimed := make(map[string]bool, len(k.static))
	for _, p := range k.static {
		claimed[p.Namespace+"/"+p.Name] = true
	}
	for _, w := range k.workers {
		if w.static {
			claimed[w.key()] = true
		}
	}
	k.mu.Unlock()
	for _, p := range k.pods.List() {
		if !isMirrorPod(p) || claimed[p.Namespace+"/"+p.Name] {
			continue
		}
		k.logf("deleting mirror pod %s/%s (%s): the node runs no static pod of that name", p.Namespace, p.Name, p.UID)
		if err := k.deleteMirrorPod(ctx, p); err != nil {
			k.logErr(ctx, "deleting orphaned mirror pod %s/%s: %v", p.Namespace, p.Name, err)
		}
	}
}

// deleteMirrorPod deletes a mirror pod at once, as upstream's DeleteMirrorPod:
// grace 0, on its UID. A mirror pod already gone, or replaced, is no error.
func (k *Kubelet) deleteMirrorPod(ctx context.Context, m *corev1.Pod) error {
	zero := int64(0)
	uid := m.UID
	err := k.cfg.Client.CoreV1().Pods(m.Namespace).Delete(ctx, m.Name, metav1.DeleteOptions{
		GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &uid}})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	return err
}

// staticPod returns the static pod named namespace/name, as the node's
// kubelet server sees it (upstream's GetPodByName finds the static pod, not
// its mirror): the static pod with its mirror pod's status.
func (k *Kubelet) staticPod(namespace, name string) (*corev1.Pod, bool) {
	k.mu.Lock()
	var static *corev1.Pod
	for _, p := range k.static {
		if p.Namespace == namespace && p.Name == name {
			static = p
			break
		}
	}
	k.mu.Unlock()
	if static == nil {
		return nil, false
	}
	view := *static
	if m, ok := k.pods.Get(namespace, name); ok && isMirrorOf(m, static) {
		view.Status = m.Status
	}
	return &view, true
}

// anyMirror is the mirror pod of the worker's name, whatever it mirrors:
// the informer's, or the one the worker created while the informer has not
// delivered it yet.
func (w *podWorker) anyMirror() *corev1.Pod {
	var informed *corev1.Pod
	if p, ok := w.k.pods.Get(w.namespace, w.name); ok && isMirrorPod(p) {
		informed = p
	}
	w.mu.Lock()
	created := w.created
	w.mu.Unlock()
	switch {
	case created == nil:
		return informed
	case informed == nil, informed.UID == created.UID && rvNewer(created.ResourceVersion, informed.ResourceVersion):
		return created
	}
	return informed
}

// mirror is the static pod's own mirror pod, or nil.
func (w *podWorker) mirror(pod *corev1.Pod) *corev1.Pod {
	if m := w.anyMirror(); m != nil && isMirrorOf(m, pod) {
		return m
	}
	return nil
}

// forgetMirror drops the mirror pod the worker created, once it is deleted.
func (w *podWorker) forgetMirror(uid types.UID) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.created != nil && w.created.UID == uid {
		w.created = nil
	}
}

// syncMirror keeps the static pod's mirror pod, as upstream's
// tryReconcileMirrorPods: one being deleted, or mirroring another version of
// the static pod, is deleted; a missing one is created, unless the node is
// unknown or being deleted.
func (w *podWorker) syncMirror(ctx context.Context, pod *corev1.Pod) {
	k := w.k
	if k.clock.Now().Before(w.mirrorRetryAt) {
		w.retryBy(w.mirrorRetryAt)
		return
	}
	m := w.anyMirror()
	if m != nil && (m.DeletionTimestamp != nil || !isMirrorOf(m, pod)) {
		if m.DeletionTimestamp != nil {
			k.logf("mirror pod %s (%s) is being deleted: making another for static pod %s", w.key(), m.UID, pod.UID)
		} else {
			k.logf("mirror pod %s (%s) mirrors another version of the static pod: replacing it", w.key(), m.UID)
		}
		if err := k.deleteMirrorPod(ctx, m); err != nil {
			k.logErr(ctx, "deleting mirror pod %s: %v", w.key(), err)
			w.retryMirror()
			return
		}
		w.forgetMirror(m.UID)
		if m.DeletionTimestamp != nil {
			// Someone deleted it (kubectl delete, which then waits for it
			// to go): it goes at once, as upstream's, and comes back a
			// moment later. A mirror pod made again at once can reach
			// kubectl's list before it watches, and it never sees the
			// deletion it waits for.
			w.mirrorRetryAt = k.clock.Now().Add(mirrorRemakeDelay)
			w.retryBy(w.mirrorRetryAt)
			return
		}
		m = nil
	}
	if m != nil {
		return
	}
	node := k.currentNode()
	switch {
	case node == nil || node.UID == "":
		k.logf("no mirror pod for static pod %s yet: the node %s is not registered", w.key(), k.cfg.NodeName)
		w.retryMirror()
		return
	case node.DeletionTimestamp != nil:
		return // as upstream: the node is being removed from the cluster
	}
	created, err := k.cfg.Client.CoreV1().Pods(pod.Namespace).Create(ctx, mirrorPodOf(pod, node), metav1.CreateOptions{})
	switch {
	case err == nil:
		w.mu.Lock()
		w.created = created
		w.mu.Unlock()
	case apierrors.IsAlreadyExists(err):
		// The informer delivers it (or it is a pod of the API's: the static
		// pod runs without a mirror pod, as upstream's).
		w.retryMirror()
	default:
		k.logErr(ctx, "creating the mirror pod of static pod %s: %v", w.key(), err)
		w.retryMirror()
	}
}

// mirrorRemakeDelay is how long after deleting a mirror pod someone deleted
// its worker makes another.
const mirrorRemakeDelay = time.Second

// retryMirror holds off mirror pod changes for a back-off period, and makes
// the worker sync again then.
func (w *podWorker) retryMirror() {
	w.mirrorRetryAt = w.k.clock.Now().Add(w.k.cfg.ContainerBackOff)
	w.retryBy(w.mirrorRetryAt)
}

// withConditionsOf returns status with the pod conditions the kubelet does
// not own replaced by those of api (the mirror pod's, which other components
// write), as upstream's status manager merges them.
func withConditionsOf(status corev1.PodStatus, api *corev1.PodStatus) corev1.PodStatus {
	conditions := make([]corev1.PodCondition, 0, len(status.Conditions))
	for _, c := range status.Conditions {
		if conditionByKubelet(c.Type) {
			conditions = append(conditions, c)
		}
	}
	for _, c := range api.Conditions {
		if !conditionByKubelet(c.Type) {
			conditions = append(conditions, c)
		}
	}
	status.Conditions = conditions
	return status
}
