package controllers_test

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/tendhq/tend/controllers"
	"github.com/tendhq/tend/informers"
	"github.com/tendhq/tend/tendtest"
)

// exposer gives every Deployment labelled expose=true a Service of the same
// name selecting its pods, and removes the Service when the label goes. The
// Service is owned by the Deployment, so the garbage collector deletes it with
// the Deployment.
type exposer struct {
	client      kubernetes.Interface
	deployments *informers.Informer[*appsv1.Deployment]
	services    *informers.Informer[*corev1.Service]
}

// Reconcile is handed a name, never an event: it reads the current state from
// the informers and makes the world match it. Called any number of times, it
// converges.
func (e *exposer) Reconcile(ctx context.Context, req controllers.Request) (controllers.Result, error) {
	d, exists := e.deployments.Get(req.Namespace, req.Name)
	svc, hasService := e.services.Get(req.Namespace, req.Name)
	want := exists && d.Labels["expose"] == "true"
	switch {
	case want && !hasService:
		kind := appsv1.SchemeGroupVersion.WithKind("Deployment")
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: d.Name, Namespace: d.Namespace,
				OwnerReferences: []metav1.OwnerReference{controllers.ControllerRef(d, kind)}},
			Spec: corev1.ServiceSpec{
				Selector: d.Spec.Selector.MatchLabels,
				Ports:    []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}},
			},
		}
		_, err := e.client.CoreV1().Services(d.Namespace).Create(ctx, svc, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			err = nil // the informer will show it; we will be called again
		}
		return controllers.Result{}, err
	case !want && hasService && metav1.IsControlledBy(svc, d):
		err := e.client.CoreV1().Services(req.Namespace).Delete(ctx, req.Name, metav1.DeleteOptions{})
		if apierrors.IsNotFound(err) {
			err = nil
		}
		return controllers.Result{}, err
	}
	return controllers.Result{}, nil
}

// A custom controller written with informers and controllers only.
func Example() {
	// A test cluster: in a real program, a *rest.Config from a kubeconfig.
	cluster, err := tendtest.StartContext(context.Background(), tendtest.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cluster.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client := cluster.Client()

	// One factory per process: informers are shared by every controller.
	factory, err := informers.NewFactory(cluster.RESTConfig(), informers.FactoryOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	r := &exposer{
		client:      client,
		deployments: informers.For[*appsv1.Deployment](factory),
		services:    informers.For[*corev1.Service](factory),
	}
	c := controllers.New("exposer", r, controllers.Options{Workers: 2})
	controllers.Watch(c, r.deployments)                                                                 // a Deployment changed: reconcile it
	controllers.WatchOwner(c, r.services, appsv1.SchemeGroupVersion.WithKind("Deployment").GroupKind()) // its Service changed: reconcile its Deployment
	factory.Start(ctx)
	factory.WaitForSync(ctx)
	go func() { _ = c.Run(ctx) }()

	// Use it.
	replicas := int32(1)
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Labels: map[string]string{"expose": "true"}},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "registry.local/web:1"}}},
			},
		},
	}
	if _, err := client.AppsV1().Deployments("default").Create(ctx, d, metav1.CreateOptions{}); err != nil {
		fmt.Println(err)
		return
	}
	for range 100 {
		if svc, err := client.CoreV1().Services("default").Get(ctx, "web", metav1.GetOptions{}); err == nil {
			fmt.Println("service", svc.Name, "selects", svc.Spec.Selector, "owned by", svc.OwnerReferences[0].Kind)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	fmt.Println("no service")
	// Output: service web selects map[app:web] owned by Deployment
}
