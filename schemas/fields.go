package schemas

import (
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
)

// fieldSet is the field selector support of a kind beyond metadata.name and
// metadata.namespace: the labels upstream accepts and how to read them.
type fieldSet struct {
	labels []string
	fn     func(obj runtime.Object) fields.Set
}

// SupportsField reports whether a field selector label is served for r.
func (r *Resource) SupportsField(label string) bool {
	if label == "metadata.name" || (label == "metadata.namespace" && r.Namespaced) {
		return true
	}
	return contains(r.FieldLabels, label)
}

var podFields = fieldSet{
	labels: []string{"spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
		"spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName"},
	fn: func(obj runtime.Object) fields.Set {
		p := obj.(*corev1.Pod)
		podIP := ""
		if len(p.Status.PodIPs) > 0 {
			podIP = p.Status.PodIPs[0].IP
		} else {
			podIP = p.Status.PodIP
		}
		return fields.Set{
			"spec.nodeName":            p.Spec.NodeName,
			"spec.restartPolicy":       string(p.Spec.RestartPolicy),
			"spec.schedulerName":       p.Spec.SchedulerName,
			"spec.serviceAccountName":  p.Spec.ServiceAccountName,
			"spec.hostNetwork":         strconv.FormatBool(p.Spec.HostNetwork),
			"status.phase":             string(p.Status.Phase),
			"status.podIP":             podIP,
			"status.nominatedNodeName": p.Status.NominatedNodeName,
		}
	},
}

var eventFields = fieldSet{
	labels: []string{"involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
		"involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
		"involvedObject.fieldPath", "reason", "reportingComponent", "source", "type"},
	fn: func(obj runtime.Object) fields.Set {
		e := obj.(*corev1.Event)
		source := e.Source.Component
		if source == "" {
			source = e.ReportingController
		}
		return fields.Set{
			"involvedObject.kind":            e.InvolvedObject.Kind,
			"involvedObject.namespace":       e.InvolvedObject.Namespace,
			"involvedObject.name":            e.InvolvedObject.Name,
			"involvedObject.uid":             string(e.InvolvedObject.UID),
			"involvedObject.apiVersion":      e.InvolvedObject.APIVersion,
			"involvedObject.resourceVersion": e.InvolvedObject.ResourceVersion,
			"involvedObject.fieldPath":       e.InvolvedObject.FieldPath,
			"reason":                         e.Reason,
			"reportingComponent":             e.ReportingController,
			"source":                         source,
			"type":                           e.Type,
		}
	},
}

var namespaceFields = fieldSet{
	labels: []string{"status.phase"},
	fn: func(obj runtime.Object) fields.Set {
		return fields.Set{"status.phase": string(obj.(*corev1.Namespace).Status.Phase)}
	},
}

var nodeFields = fieldSet{
	labels: []string{"spec.unschedulable"},
	fn: func(obj runtime.Object) fields.Set {
		return fields.Set{"spec.unschedulable": strconv.FormatBool(obj.(*corev1.Node).Spec.Unschedulable)}
	},
}

var secretFields = fieldSet{
	labels: []string{"type"},
	fn: func(obj runtime.Object) fields.Set {
		return fields.Set{"type": string(obj.(*corev1.Secret).Type)}
	},
}

var serviceFields = fieldSet{
	labels: []string{"spec.clusterIP", "spec.type"},
	fn: func(obj runtime.Object) fields.Set {
		s := obj.(*corev1.Service)
		return fields.Set{"spec.clusterIP": s.Spec.ClusterIP, "spec.type": string(s.Spec.Type)}
	},
}

var replicasFields = fieldSet{
	labels: []string{"status.replicas"},
	fn: func(obj runtime.Object) fields.Set {
		var n int32
		switch o := obj.(type) {
		case *appsv1.ReplicaSet:
			n = o.Status.Replicas
		case *corev1.ReplicationController:
			n = o.Status.Replicas
		}
		return fields.Set{"status.replicas": strconv.Itoa(int(n))}
	},
}

var jobFields = fieldSet{
	labels: []string{"status.successful"},
	fn: func(obj runtime.Object) fields.Set {
		return fields.Set{"status.successful": strconv.Itoa(int(obj.(*batchv1.Job).Status.Succeeded))}
	},
}
