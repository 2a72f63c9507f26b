package printers

import (
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	appsv1beta1 "k8s.io/api/apps/v1beta1"
	corev1 "k8s.io/api/core/v1"
	extensionsv1beta1 "k8s.io/api/extensions/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Column descriptions come from the same (older) API versions upstream takes them
// from, so the text matches byte for byte.
func addApps(m map[schema.GroupKind]Printer) {
	apps := func(kind string) schema.GroupKind { return schema.GroupKind{Group: "apps", Kind: kind} }

	m[apps("Deployment")] = Printer{
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			{Name: "Ready", Type: "string", Description: "Number of the pod with ready state"},
			{Name: "Up-to-date", Type: "string", Description: extensionsv1beta1.DeploymentStatus{}.SwaggerDoc()["updatedReplicas"]},
			{Name: "Available", Type: "string", Description: extensionsv1beta1.DeploymentStatus{}.SwaggerDoc()["availableReplicas"]},
			ageColumn(),
			{Name: "Containers", Type: "string", Priority: 1, Description: containersDoc},
			{Name: "Images", Type: "string", Priority: 1, Description: imagesDoc},
			{Name: "Selector", Type: "string", Priority: 1, Description: extensionsv1beta1.DeploymentSpec{}.SwaggerDoc()["selector"]},
		},
		Row: rowOf(printDeployment),
	}
	m[apps("ReplicaSet")] = Printer{
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			{Name: "Desired", Type: "integer", Description: extensionsv1beta1.ReplicaSetSpec{}.SwaggerDoc()["replicas"]},
			{Name: "Current", Type: "integer", Description: extensionsv1beta1.ReplicaSetStatus{}.SwaggerDoc()["replicas"]},
			{Name: "Ready", Type: "integer", Description: extensionsv1beta1.ReplicaSetStatus{}.SwaggerDoc()["readyReplicas"]},
			ageColumn(),
			{Name: "Containers", Type: "string", Priority: 1, Description: containersDoc},
			{Name: "Images", Type: "string", Priority: 1, Description: imagesDoc},
			{Name: "Selector", Type: "string", Priority: 1, Description: extensionsv1beta1.ReplicaSetSpec{}.SwaggerDoc()["selector"]},
		},
		Row: rowOf(printReplicaSet),
	}
	m[apps("StatefulSet")] = Printer{
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			{Name: "Ready", Type: "string", Description: "Number of the pod with ready state"},
			ageColumn(),
			{Name: "Containers", Type: "string", Priority: 1, Description: containersDoc},
			{Name: "Images", Type: "string", Priority: 1, Description: imagesDoc},
		},
		Row: rowOf(printStatefulSet),
	}
	m[apps("DaemonSet")] = Printer{
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			{Name: "Desired", Type: "integer", Description: extensionsv1beta1.DaemonSetStatus{}.SwaggerDoc()["desiredNumberScheduled"]},
			{Name: "Current", Type: "integer", Description: extensionsv1beta1.DaemonSetStatus{}.SwaggerDoc()["currentNumberScheduled"]},
			{Name: "Ready", Type: "integer", Description: extensionsv1beta1.DaemonSetStatus{}.SwaggerDoc()["numberReady"]},
			{Name: "Up-to-date", Type: "integer", Description: extensionsv1beta1.DaemonSetStatus{}.SwaggerDoc()["updatedNumberScheduled"]},
			{Name: "Available", Type: "integer", Description: extensionsv1beta1.DaemonSetStatus{}.SwaggerDoc()["numberAvailable"]},
			{Name: "Node Selector", Type: "string", Description: corev1.PodSpec{}.SwaggerDoc()["nodeSelector"]},
			ageColumn(),
			{Name: "Containers", Type: "string", Priority: 1, Description: containersDoc},
			{Name: "Images", Type: "string", Priority: 1, Description: imagesDoc},
			{Name: "Selector", Type: "string", Priority: 1, Description: extensionsv1beta1.DaemonSetSpec{}.SwaggerDoc()["selector"]},
		},
		Row: rowOf(printDaemonSet),
	}
	m[apps("ControllerRevision")] = Printer{
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			{Name: "Controller", Type: "string", Description: "Controller of the object"},
			{Name: "Revision", Type: "string", Description: appsv1beta1.ControllerRevision{}.SwaggerDoc()["revision"]},
			ageColumn(),
		},
		Row: rowOfErr(printControllerRevision),
	}
}

func printDeployment(d *appsv1.Deployment, now time.Time) []any {
	// Upstream converts a nil selector to labels.Nothing(), which prints as "".
	selector := "<invalid>"
	if s, err := metav1.LabelSelectorAsSelector(d.Spec.Selector); err == nil {
		selector = s.String()
	}
	names, images := layoutContainerCells(d.Spec.Template.Spec.Containers)
	return []any{
		d.Name, fmt.Sprintf("%d/%d", d.Status.ReadyReplicas, deref(d.Spec.Replicas)),
		int64(d.Status.UpdatedReplicas), int64(d.Status.AvailableReplicas),
		translateTimestampSince(d.CreationTimestamp, now), names, images, selector,
	}
}

func printReplicaSet(rs *appsv1.ReplicaSet, now time.Time) []any {
	names, images := layoutContainerCells(rs.Spec.Template.Spec.Containers)
	return []any{
		rs.Name, int64(deref(rs.Spec.Replicas)), int64(rs.Status.Replicas), int64(rs.Status.ReadyReplicas),
		translateTimestampSince(rs.CreationTimestamp, now), names, images, metav1.FormatLabelSelector(rs.Spec.Selector),
	}
}

func printStatefulSet(ss *appsv1.StatefulSet, now time.Time) []any {
	names, images := layoutContainerCells(ss.Spec.Template.Spec.Containers)
	return []any{
		ss.Name, fmt.Sprintf("%d/%d", ss.Status.ReadyReplicas, deref(ss.Spec.Replicas)),
		translateTimestampSince(ss.CreationTimestamp, now), names, images,
	}
}

func printDaemonSet(ds *appsv1.DaemonSet, now time.Time) []any {
	names, images := layoutContainerCells(ds.Spec.Template.Spec.Containers)
	s := ds.Status
	return []any{
		ds.Name, int64(s.DesiredNumberScheduled), int64(s.CurrentNumberScheduled), int64(s.NumberReady),
		int64(s.UpdatedNumberScheduled), int64(s.NumberAvailable), labels.FormatLabels(ds.Spec.Template.Spec.NodeSelector),
		translateTimestampSince(ds.CreationTimestamp, now), names, images, metav1.FormatLabelSelector(ds.Spec.Selector),
	}
}

// printControllerRevision names the controlling owner as lower-case "kind.group/name".
func printControllerRevision(cr *appsv1.ControllerRevision, now time.Time) ([]any, error) {
	controller := "<none>"
	if ref := metav1.GetControllerOf(cr); ref != nil {
		gv, err := schema.ParseGroupVersion(ref.APIVersion)
		if err != nil {
			return nil, fmt.Errorf("printers: controller revision %s/%s: %w", cr.Namespace, cr.Name, err)
		}
		controller = ref.Name
		if gk := gv.WithKind(ref.Kind).GroupKind(); !gk.Empty() {
			controller = strings.ToLower(gk.String()) + "/" + ref.Name
		}
	}
	return []any{cr.Name, controller, cr.Revision, translateTimestampSince(cr.CreationTimestamp, now)}, nil
}
