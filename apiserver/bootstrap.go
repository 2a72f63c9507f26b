package apiserver

import (
	"context"
	"fmt"
	"net"
	"net/http"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// bootstrap creates what every cluster has once storage is ready: the default
// namespaces and the default/kubernetes Service on the first service address.
// It goes through the same create path as a client's request.
func (s *Server) bootstrap(ctx context.Context) error {
	select {
	case <-s.store.Ready():
	case <-ctx.Done():
		return ctx.Err()
	}
	for _, name := range []string{"default", "kube-system", "kube-public", "kube-node-lease"} {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if err := s.createInternal(ctx, schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}, "", ns); err != nil {
			return err
		}
	}
	// Upstream's built-in priority classes, for the pods that keep a cluster alive.
	for _, pc := range []*schedulingv1.PriorityClass{
		{ObjectMeta: metav1.ObjectMeta{Name: "system-node-critical"}, Value: 2000001000,
			Description: "Used for system critical pods that must not be moved from their current node."},
		{ObjectMeta: metav1.ObjectMeta{Name: "system-cluster-critical"}, Value: 2000000000,
			Description: "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary."},
	} {
		if err := s.createInternal(ctx, schema.GroupVersionResource{Group: "scheduling.k8s.io", Version: "v1", Resource: "priorityclasses"}, "", pc); err != nil {
			return err
		}
	}
	cidr, _ := parseServiceCIDR(s.cfg.ServiceCIDR)
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "kubernetes", Labels: map[string]string{"component": "apiserver", "provider": "kubernetes"}},
		Spec: corev1.ServiceSpec{
			ClusterIP: cidr.first().String(),
			Ports: []corev1.ServicePort{{Name: "https", Port: 443, Protocol: corev1.ProtocolTCP,
				TargetPort: intstr.FromInt32(int32(s.listener.Addr().(*net.TCPAddr).Port))}},
		},
	}
	return s.createInternal(ctx, schema.GroupVersionResource{Version: "v1", Resource: "services"}, "default", svc)
}

// createInternal creates obj unless an object of that name exists.
func (s *Server) createInternal(ctx context.Context, gvr schema.GroupVersionResource, namespace string, obj runtime.Object) error {
	kind, ok := s.registry.Lookup(gvr)
	if !ok {
		return fmt.Errorf("no kind for %v", gvr)
	}
	obj.GetObjectKind().SetGroupVersionKind(kind.GroupVersionKind())
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, "/", nil)
	if err != nil {
		return err
	}
	rq := &request{s: s, r: r, kind: kind, cache: s.caches[kind.Storage.GroupResource], q: r.URL.Query(), namespace: namespace}
	_, err = rq.createObject(obj, false)
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}
