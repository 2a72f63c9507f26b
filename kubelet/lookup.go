package kubelet

import corev1 "k8s.io/api/core/v1"

// GetPod returns the pod namespace/name if it is bound to this node, from
// the kubelet's cache (do not modify it). Before Run has synced its cache,
// no pod is found.
func (k *Kubelet) GetPod(namespace, name string) (*corev1.Pod, bool) {
	k.mu.Lock()
	synced := k.runCtx != nil
	k.mu.Unlock()
	if !synced {
		return nil, false
	}
	return k.pods.Get(namespace, name)
}

// ListPods returns the pods bound to this node, from the kubelet's cache
// (do not modify them); none before Run has synced its cache.
func (k *Kubelet) ListPods() []*corev1.Pod {
	k.mu.Lock()
	synced := k.runCtx != nil
	k.mu.Unlock()
	if !synced {
		return nil
	}
	return k.pods.List()
}
