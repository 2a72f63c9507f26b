package kubelet

import corev1 "k8s.io/api/core/v1"

// GetPod returns the pod namespace/name if it is bound to this node, from
// the kubelet's cache (do not modify it). Before Run has synced its cache,
// no pod is found. The name of a static pod finds the static pod (its UID is
// the one the runtime knows), with its mirror pod's status, as upstream's
// GetPodByName; a mirror pod of no static pod is not found.
func (k *Kubelet) GetPod(namespace, name string) (*corev1.Pod, bool) {
	k.mu.Lock()
	synced := k.runCtx != nil
	k.mu.Unlock()
	if !synced {
		return nil, false
	}
	if p, ok := k.staticPod(namespace, name); ok {
		return p, true
	}
	p, ok := k.pods.Get(namespace, name)
	if !ok || isMirrorPod(p) {
		return nil, false
	}
	return p, true
}

// ListPods returns the pods bound to this node, from the kubelet's cache
// (do not modify them); none before Run has synced its cache. Static pods
// are listed as GetPod finds them, in place of their mirror pods.
func (k *Kubelet) ListPods() []*corev1.Pod {
	k.mu.Lock()
	synced := k.runCtx != nil
	k.mu.Unlock()
	if !synced {
		return nil
	}
	all := k.pods.List()
	out := make([]*corev1.Pod, 0, len(all))
	for _, p := range all {
		if !isMirrorPod(p) {
			out = append(out, p)
		}
	}
	k.mu.Lock()
	static := make([]*corev1.Pod, 0, len(k.static))
	for _, p := range k.static {
		static = append(static, p)
	}
	k.mu.Unlock()
	for _, p := range static {
		if v, ok := k.staticPod(p.Namespace, p.Name); ok {
			out = append(out, v)
		}
	}
	return out
}
