// Package serviceaccount gives every namespace what pods there expect to find:
// the "default" ServiceAccount, and the "kube-root-ca.crt" ConfigMap holding
// the cluster CA, which pods use to trust the apiserver.
package serviceaccount

import (
	"bytes"
	"context"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tendhq/tend/controllers"
	"github.com/tendhq/tend/informers"
)

// DefaultName is the ServiceAccount every namespace gets.
const DefaultName = "default"

// RootCAName is the ConfigMap every namespace gets, and RootCAKey its key.
const (
	RootCAName = "kube-root-ca.crt"
	RootCAKey  = "ca.crt"
	// descriptionAnnotation and its text are upstream's.
	descriptionAnnotation = "kubernetes.io/description"
	description           = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters."
)

// active reports whether objects may be created in the namespace.
func active(ns *corev1.Namespace) bool {
	return ns.DeletionTimestamp == nil && ns.Status.Phase != corev1.NamespaceTerminating
}

type serviceAccounts struct {
	client     kubernetes.Interface
	namespaces *informers.Informer[*corev1.Namespace]
	accounts   *informers.Informer[*corev1.ServiceAccount]
}

// NewServiceAccounts returns the controller that keeps a "default"
// ServiceAccount in every active namespace. Requests name namespaces.
func NewServiceAccounts(f *informers.Factory, client kubernetes.Interface, opts controllers.Options) *controllers.Controller {
	r := &serviceAccounts{
		client:     client,
		namespaces: informers.For[*corev1.Namespace](f),
		accounts:   informers.ForSelected[*corev1.ServiceAccount](f, informers.Selectors{Field: "metadata.name=" + DefaultName}),
	}
	c := controllers.New("serviceaccount", r, opts)
	controllers.WatchMap(c, r.namespaces, func(ns *corev1.Namespace) []controllers.Request {
		return []controllers.Request{{Name: ns.Name}}
	})
	controllers.WatchMap(c, r.accounts, func(sa *corev1.ServiceAccount) []controllers.Request {
		return []controllers.Request{{Name: sa.Namespace}}
	})
	return c
}

func (r *serviceAccounts) Reconcile(ctx context.Context, req controllers.Request) (controllers.Result, error) {
	ns, ok := r.namespaces.Get("", req.Name)
	if !ok || !active(ns) {
		return controllers.Result{}, nil
	}
	if _, ok := r.accounts.Get(req.Name, DefaultName); ok {
		return controllers.Result{}, nil
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: DefaultName, Namespace: req.Name}}
	_, err := r.client.CoreV1().ServiceAccounts(req.Name).Create(ctx, sa, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) || isTerminating(err) {
		return controllers.Result{}, nil
	}
	return controllers.Result{}, err
}

type rootCA struct {
	client     kubernetes.Interface
	ca         []byte
	namespaces *informers.Informer[*corev1.Namespace]
	configMaps *informers.Informer[*corev1.ConfigMap]
}

// NewRootCAPublisher returns the controller that keeps a "kube-root-ca.crt"
// ConfigMap holding caPEM in every active namespace, putting it back when it is
// deleted or changed. Requests name namespaces.
func NewRootCAPublisher(f *informers.Factory, client kubernetes.Interface, caPEM []byte, opts controllers.Options) *controllers.Controller {
	r := &rootCA{
		client:     client,
		ca:         caPEM,
		namespaces: informers.For[*corev1.Namespace](f),
		configMaps: informers.ForSelected[*corev1.ConfigMap](f, informers.Selectors{Field: "metadata.name=" + RootCAName}),
	}
	c := controllers.New("root-ca-cert-publisher", r, opts)
	controllers.WatchMap(c, r.namespaces, func(ns *corev1.Namespace) []controllers.Request {
		return []controllers.Request{{Name: ns.Name}}
	})
	controllers.WatchMap(c, r.configMaps, func(cm *corev1.ConfigMap) []controllers.Request {
		return []controllers.Request{{Name: cm.Namespace}}
	})
	return c
}

func (r *rootCA) Reconcile(ctx context.Context, req controllers.Request) (controllers.Result, error) {
	ns, ok := r.namespaces.Get("", req.Name)
	if !ok || !active(ns) {
		return controllers.Result{}, nil
	}
	cms := r.client.CoreV1().ConfigMaps(req.Name)
	cur, ok := r.configMaps.Get(req.Name, RootCAName)
	if !ok {
		cm := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: RootCAName, Namespace: req.Name,
				Annotations: map[string]string{descriptionAnnotation: description}},
			Data: map[string]string{RootCAKey: string(r.ca)},
		}
		_, err := cms.Create(ctx, cm, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) || isTerminating(err) {
			return controllers.Result{}, nil
		}
		return controllers.Result{}, err
	}
	if bytes.Equal([]byte(cur.Data[RootCAKey]), r.ca) && len(cur.Data) == 1 && len(cur.BinaryData) == 0 &&
		cur.Annotations[descriptionAnnotation] == description {
		return controllers.Result{}, nil
	}
	next := cur.DeepCopy()
	next.Data = map[string]string{RootCAKey: string(r.ca)}
	next.BinaryData = nil
	if next.Annotations == nil {
		next.Annotations = map[string]string{}
	}
	next.Annotations[descriptionAnnotation] = description
	_, err := cms.Update(ctx, next, metav1.UpdateOptions{})
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		// The informer will show the newer state; reconcile again then.
		return controllers.Result{}, nil
	}
	return controllers.Result{}, err
}

// isTerminating reports whether err says the namespace is being deleted.
func isTerminating(err error) bool {
	return apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause)
}
