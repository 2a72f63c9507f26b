package printers

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	nodev1 "k8s.io/api/node/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// zeroObject is an empty object of a registered kind.
func zeroObject(gk schema.GroupKind) runtime.Object {
	objects := map[schema.GroupKind]runtime.Object{
		{Kind: "Pod"}: &corev1.Pod{}, {Kind: "Namespace"}: &corev1.Namespace{}, {Kind: "Service"}: &corev1.Service{},
		{Kind: "Endpoints"}: &corev1.Endpoints{}, {Kind: "Node"}: &corev1.Node{}, {Kind: "ConfigMap"}: &corev1.ConfigMap{},
		{Kind: "Secret"}: &corev1.Secret{}, {Kind: "ServiceAccount"}: &corev1.ServiceAccount{}, {Kind: "Event"}: &corev1.Event{},
		{Kind: "PersistentVolume"}: &corev1.PersistentVolume{}, {Kind: "PersistentVolumeClaim"}: &corev1.PersistentVolumeClaim{},
		{Kind: "ResourceQuota"}: &corev1.ResourceQuota{}, {Kind: "ReplicationController"}: &corev1.ReplicationController{},
		{Kind: "PodTemplate"}: &corev1.PodTemplate{},
		appsGK("Deployment"):  &appsv1.Deployment{}, appsGK("ReplicaSet"): &appsv1.ReplicaSet{}, appsGK("StatefulSet"): &appsv1.StatefulSet{},
		appsGK("DaemonSet"): &appsv1.DaemonSet{}, appsGK("ControllerRevision"): &appsv1.ControllerRevision{},
		{Group: "batch", Kind: "Job"}: &batchv1.Job{}, {Group: "batch", Kind: "CronJob"}: &batchv1.CronJob{},
		hpaGK: &autoscalingv2.HorizontalPodAutoscaler{},
		{Group: "coordination.k8s.io", Kind: "Lease"}:       &coordinationv1.Lease{},
		{Group: "discovery.k8s.io", Kind: "EndpointSlice"}:  &discoveryv1.EndpointSlice{},
		{Group: "events.k8s.io", Kind: "Event"}:             &eventsv1.Event{},
		rbacGK("RoleBinding"):                               &rbacv1.RoleBinding{},
		rbacGK("ClusterRoleBinding"):                        &rbacv1.ClusterRoleBinding{},
		storageGK("StorageClass"):                           &storagev1.StorageClass{},
		storageGK("VolumeAttachment"):                       &storagev1.VolumeAttachment{},
		storageGK("CSIDriver"):                              &storagev1.CSIDriver{},
		storageGK("CSINode"):                                &storagev1.CSINode{},
		storageGK("CSIStorageCapacity"):                     &storagev1.CSIStorageCapacity{},
		{Group: "policy", Kind: "PodDisruptionBudget"}:      &policyv1.PodDisruptionBudget{},
		{Group: "scheduling.k8s.io", Kind: "PriorityClass"}: &schedulingv1.PriorityClass{},
		networkingGK("Ingress"):                             &networkingv1.Ingress{},
		networkingGK("IngressClass"):                        &networkingv1.IngressClass{},
		networkingGK("NetworkPolicy"):                       &networkingv1.NetworkPolicy{},
		{Group: "node.k8s.io", Kind: "RuntimeClass"}:        &nodev1.RuntimeClass{},
	}
	return objects[gk]
}

var hpaGK = schema.GroupKind{Group: "autoscaling", Kind: "HorizontalPodAutoscaler"}

func rbacGK(kind string) schema.GroupKind {
	return schema.GroupKind{Group: "rbac.authorization.k8s.io", Kind: kind}
}
func storageGK(kind string) schema.GroupKind {
	return schema.GroupKind{Group: "storage.k8s.io", Kind: kind}
}
func networkingGK(kind string) schema.GroupKind {
	return schema.GroupKind{Group: "networking.k8s.io", Kind: kind}
}

func TestHorizontalPodAutoscalerRow(t *testing.T) {
	q := resource.MustParse
	qp := func(s string) *resource.Quantity { v := q(s); return &v }
	ref := autoscalingv2.CrossVersionObjectReference{Kind: "Deployment", Name: "web", APIVersion: "apps/v1"}
	cpu := func(target int32) autoscalingv2.MetricSpec { return cpuUtilizationMetric(target) }
	cpuNow := func(p int32) autoscalingv2.MetricStatus {
		return autoscalingv2.MetricStatus{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{
			Name: corev1.ResourceCPU, Current: autoscalingv2.MetricValueStatus{AverageUtilization: &p},
		}}
	}
	memValue := autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
		Name: corev1.ResourceMemory, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: qp("500Mi")},
	}}
	pods := autoscalingv2.MetricSpec{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
		Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: qp("1k")},
	}}
	external := autoscalingv2.MetricSpec{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
		Target: autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: qp("30")},
	}}
	objectAvg := autoscalingv2.MetricSpec{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricSource{
		Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: qp("2")},
	}}
	containerAuto := autoscalingv2.MetricSpec{Type: autoscalingv2.ContainerResourceMetricSourceType, ContainerResource: &autoscalingv2.ContainerResourceMetricSource{
		Name: corev1.ResourceCPU, Container: "app", Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType},
	}}
	hpa := func(metrics []autoscalingv2.MetricSpec, current []autoscalingv2.MetricStatus) *autoscalingv2.HorizontalPodAutoscaler {
		return &autoscalingv2.HorizontalPodAutoscaler{
			ObjectMeta: meta("web"),
			Spec:       autoscalingv2.HorizontalPodAutoscalerSpec{ScaleTargetRef: ref, MinReplicas: ptrTo(int32(2)), MaxReplicas: 10, Metrics: metrics},
			Status:     autoscalingv2.HorizontalPodAutoscalerStatus{CurrentReplicas: 3, CurrentMetrics: current},
		}
	}
	row := func(targets string) []any {
		return []any{"web", "Deployment/web", targets, "2", int64(10), int64(3), "90m"}
	}
	runRows(t, hpaGK, []rowCase{
		{"cpu utilisation", hpa([]autoscalingv2.MetricSpec{cpu(50)}, []autoscalingv2.MetricStatus{cpuNow(37)}), row("cpu: 37%/50%")},
		{"no metrics", hpa(nil, nil), row("<none>")},
		{"unknown current", hpa([]autoscalingv2.MetricSpec{cpu(50), memValue}, nil), row("cpu: <unknown>/50%, memory: <unknown>/500Mi")},
		{
			"more than two",
			hpa([]autoscalingv2.MetricSpec{pods, external, objectAvg}, []autoscalingv2.MetricStatus{
				{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricStatus{Current: autoscalingv2.MetricValueStatus{AverageValue: qp("250")}}},
				{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricStatus{Current: autoscalingv2.MetricValueStatus{Value: qp("12")}}},
			}),
			row("250/1k, 12/30 + 1 more..."),
		},
		{"object average", hpa([]autoscalingv2.MetricSpec{objectAvg}, nil), row("<unknown>/2 (avg)")},
		{"container resource without target", hpa([]autoscalingv2.MetricSpec{containerAuto}, nil), row("cpu: <unknown>/<auto>")},
		{"status without quantity prints <nil>", hpa([]autoscalingv2.MetricSpec{memValue}, []autoscalingv2.MetricStatus{cpuNow(10)}), row("memory: <nil>/500Mi")},
		{"unknown type", hpa([]autoscalingv2.MetricSpec{{Type: "Bogus"}}, nil), row("<unknown type>")},
		{
			name: "min replicas unset",
			obj:  &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: meta("h"), Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MaxReplicas: 1}},
			want: []any{"h", "/", "<none>", "<unset>", int64(1), int64(0), "90m"},
		},
	})

	v1 := func(target, current *int32, annotations map[string]string) *autoscalingv1.HorizontalPodAutoscaler {
		m := meta("web")
		m.Annotations = annotations
		return &autoscalingv1.HorizontalPodAutoscaler{
			ObjectMeta: m,
			Spec: autoscalingv1.HorizontalPodAutoscalerSpec{
				ScaleTargetRef: autoscalingv1.CrossVersionObjectReference{Kind: "Deployment", Name: "web"},
				MinReplicas:    ptrTo(int32(2)), MaxReplicas: 10, TargetCPUUtilizationPercentage: target,
			},
			Status: autoscalingv1.HorizontalPodAutoscalerStatus{CurrentReplicas: 3, CurrentCPUUtilizationPercentage: current},
		}
	}
	runRows(t, hpaGK, []rowCase{
		{"v1 cpu", v1(ptrTo(int32(60)), ptrTo(int32(45)), nil), row("cpu: 45%/60%")},
		{"v1 default target", v1(nil, nil, nil), row("cpu: <unknown>/80%")},
		{
			name: "v1 round-trip annotations come first",
			obj: v1(ptrTo(int32(60)), ptrTo(int32(45)), map[string]string{
				hpaMetricSpecsAnnotation:    `[{"type":"Pods","pods":{"metricName":"qps","targetAverageValue":"1k"}}]`,
				hpaMetricStatusesAnnotation: `[{"type":"Pods","pods":{"metricName":"qps","currentAverageValue":"900"}},{"type":"Resource","resource":{"name":"cpu","currentAverageUtilization":45,"currentAverageValue":"0"}}]`,
			}),
			want: row("900/1k, cpu: 45%/60%"),
		},
		{"v1 malformed annotation ignored", v1(ptrTo(int32(60)), nil, map[string]string{hpaMetricSpecsAnnotation: "{"}), row("cpu: <unknown>/60%")},
	})
}

func TestLeaseRow(t *testing.T) {
	runRows(t, schema.GroupKind{Group: "coordination.k8s.io", Kind: "Lease"}, []rowCase{
		{"held", &coordinationv1.Lease{ObjectMeta: meta("kube-scheduler"), Spec: coordinationv1.LeaseSpec{HolderIdentity: ptrTo("cp-1_abc")}}, []any{"kube-scheduler", "cp-1_abc", "90m"}},
		{"free", &coordinationv1.Lease{ObjectMeta: meta("l")}, []any{"l", "", "90m"}},
	})
}

func TestEndpointSliceRow(t *testing.T) {
	ep := func(addrs ...string) discoveryv1.Endpoint { return discoveryv1.Endpoint{Addresses: addrs} }
	runRows(t, schema.GroupKind{Group: "discovery.k8s.io", Kind: "EndpointSlice"}, []rowCase{
		{
			name: "ports and endpoints",
			obj: &discoveryv1.EndpointSlice{
				ObjectMeta: meta("web-abc"), AddressType: discoveryv1.AddressTypeIPv4,
				Ports:     []discoveryv1.EndpointPort{{Port: ptrTo(int32(80))}, {Name: ptrTo("metrics")}, {}},
				Endpoints: []discoveryv1.Endpoint{ep("10.0.0.1"), ep("10.0.0.2", "10.0.0.3")},
			},
			want: []any{"web-abc", "IPv4", "80,metrics,*", "10.0.0.1,10.0.0.2,10.0.0.3", "90m"},
		},
		{
			name: "more than three",
			obj: &discoveryv1.EndpointSlice{
				ObjectMeta: meta("s"), AddressType: discoveryv1.AddressTypeIPv6,
				Ports:     []discoveryv1.EndpointPort{{Port: ptrTo(int32(1))}, {Port: ptrTo(int32(2))}, {Port: ptrTo(int32(3))}, {Port: ptrTo(int32(4))}},
				Endpoints: []discoveryv1.Endpoint{ep("fd00::1", "fd00::2"), ep("fd00::3", "fd00::4", "fd00::5")},
			},
			want: []any{"s", "IPv6", "1,2,3 + 1 more...", "fd00::1,fd00::2,fd00::3 + 2 more...", "90m"},
		},
		{"empty", &discoveryv1.EndpointSlice{ObjectMeta: meta("s"), AddressType: discoveryv1.AddressTypeFQDN}, []any{"s", "FQDN", "<unset>", "<unset>", "90m"}},
	})
}

func TestBindingRows(t *testing.T) {
	subjects := []rbacv1.Subject{
		{Kind: rbacv1.UserKind, Name: "alice"}, {Kind: rbacv1.UserKind, Name: "bob"},
		{Kind: rbacv1.GroupKind, Name: "devs"},
		{Kind: rbacv1.ServiceAccountKind, Namespace: "kube-system", Name: "builder"},
		{Kind: "Other", Name: "ignored"},
	}
	runRows(t, rbacGK("RoleBinding"), []rowCase{
		{
			name: "subjects",
			obj:  &rbacv1.RoleBinding{ObjectMeta: meta("rb"), RoleRef: rbacv1.RoleRef{Kind: "Role", Name: "reader"}, Subjects: subjects},
			want: []any{"rb", "Role/reader", "90m", "alice, bob", "devs", "kube-system/builder"},
		},
		{"no subjects", &rbacv1.RoleBinding{ObjectMeta: meta("rb"), RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "view"}}, []any{"rb", "ClusterRole/view", "90m", "", "", ""}},
	})
	runRows(t, rbacGK("ClusterRoleBinding"), []rowCase{{
		name: "subjects",
		obj:  &rbacv1.ClusterRoleBinding{ObjectMeta: meta("crb"), RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "cluster-admin"}, Subjects: subjects[2:4]},
		want: []any{"crb", "ClusterRole/cluster-admin", "90m", "", "devs", "kube-system/builder"},
	}})
}

func TestStorageRows(t *testing.T) {
	retain := corev1.PersistentVolumeReclaimRetain
	wait := storagev1.VolumeBindingWaitForFirstConsumer
	defaultMeta := meta("standard")
	defaultMeta.Annotations = map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}
	betaDefault := meta("old")
	betaDefault.Annotations = map[string]string{"storageclass.beta.kubernetes.io/is-default-class": "true"}
	runRows(t, storageGK("StorageClass"), []rowCase{
		{
			name: "default class",
			obj: &storagev1.StorageClass{ObjectMeta: defaultMeta, Provisioner: "rancher.io/local-path",
				ReclaimPolicy: &retain, VolumeBindingMode: &wait, AllowVolumeExpansion: ptrTo(true)},
			want: []any{"standard (default)", "rancher.io/local-path", "Retain", "WaitForFirstConsumer", true, "90m"},
		},
		{"defaults", &storagev1.StorageClass{ObjectMeta: betaDefault, Provisioner: "x"}, []any{"old (default)", "x", "Delete", "Immediate", false, "90m"}},
	})
	runRows(t, storageGK("VolumeAttachment"), []rowCase{
		{
			name: "attached",
			obj: &storagev1.VolumeAttachment{ObjectMeta: meta("csi-1"),
				Spec:   storagev1.VolumeAttachmentSpec{Attacher: "ebs.csi.aws.com", NodeName: "n1", Source: storagev1.VolumeAttachmentSource{PersistentVolumeName: ptrTo("pv1")}},
				Status: storagev1.VolumeAttachmentStatus{Attached: true}},
			want: []any{"csi-1", "ebs.csi.aws.com", "pv1", "n1", true, "90m"},
		},
		{"inline", &storagev1.VolumeAttachment{ObjectMeta: meta("csi-2")}, []any{"csi-2", "", "", "", false, "90m"}},
	})
	runRows(t, storageGK("CSIDriver"), []rowCase{
		{
			name: "explicit",
			obj: &storagev1.CSIDriver{ObjectMeta: meta("d"), Spec: storagev1.CSIDriverSpec{
				AttachRequired: ptrTo(false), PodInfoOnMount: ptrTo(true), StorageCapacity: ptrTo(true), RequiresRepublish: ptrTo(true),
				TokenRequests:        []storagev1.TokenRequest{{Audience: "a"}, {Audience: "b"}},
				VolumeLifecycleModes: []storagev1.VolumeLifecycleMode{storagev1.VolumeLifecyclePersistent, storagev1.VolumeLifecycleEphemeral},
			}},
			want: []any{"d", false, true, true, "a,b", true, "Persistent,Ephemeral", "90m"},
		},
		{"defaults", &storagev1.CSIDriver{ObjectMeta: meta("d")}, []any{"d", true, false, false, "<unset>", false, "<none>", "90m"}},
		{"empty token requests", &storagev1.CSIDriver{ObjectMeta: meta("d"), Spec: storagev1.CSIDriverSpec{TokenRequests: []storagev1.TokenRequest{}}}, []any{"d", true, false, false, "", false, "<none>", "90m"}},
	})
	runRows(t, storageGK("CSINode"), []rowCase{{
		name: "two drivers",
		obj:  &storagev1.CSINode{ObjectMeta: meta("n1"), Spec: storagev1.CSINodeSpec{Drivers: []storagev1.CSINodeDriver{{Name: "a"}, {Name: "b"}}}},
		want: []any{"n1", int64(2), "90m"},
	}})
	capacity := resource.MustParse("100Gi")
	runRows(t, storageGK("CSIStorageCapacity"), []rowCase{
		{"set", &storagev1.CSIStorageCapacity{ObjectMeta: meta("c"), StorageClassName: "fast", Capacity: &capacity}, []any{"c", "fast", "100Gi"}},
		{"unset", &storagev1.CSIStorageCapacity{ObjectMeta: meta("c"), StorageClassName: "fast"}, []any{"c", "fast", "<unset>"}},
	})
}

func TestPodDisruptionBudgetRow(t *testing.T) {
	two := intstr.FromInt32(2)
	pct := intstr.FromString("25%")
	runRows(t, schema.GroupKind{Group: "policy", Kind: "PodDisruptionBudget"}, []rowCase{
		{"min available", &policyv1.PodDisruptionBudget{ObjectMeta: meta("pdb"), Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: &two}, Status: policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: 1}}, []any{"pdb", "2", "N/A", int64(1), "90m"}},
		{"max unavailable", &policyv1.PodDisruptionBudget{ObjectMeta: meta("pdb"), Spec: policyv1.PodDisruptionBudgetSpec{MaxUnavailable: &pct}}, []any{"pdb", "N/A", "25%", int64(0), "90m"}},
	})
}

func TestPriorityClassRow(t *testing.T) {
	never := corev1.PreemptNever
	runRows(t, schema.GroupKind{Group: "scheduling.k8s.io", Kind: "PriorityClass"}, []rowCase{
		{"critical", &schedulingv1.PriorityClass{ObjectMeta: meta("system-cluster-critical"), Value: 2000000000, PreemptionPolicy: ptrTo(corev1.PreemptLowerPriority)}, []any{"system-cluster-critical", int64(2000000000), false, "90m", "PreemptLowerPriority"}},
		{"global default", &schedulingv1.PriorityClass{ObjectMeta: meta("low"), Value: -5, GlobalDefault: true, PreemptionPolicy: &never}, []any{"low", int64(-5), true, "90m", "Never"}},
		{"unset policy", &schedulingv1.PriorityClass{ObjectMeta: meta("p")}, []any{"p", int64(0), false, "90m", ""}},
	})
}

func TestNetworkingRows(t *testing.T) {
	rules := func(hosts ...string) []networkingv1.IngressRule {
		out := make([]networkingv1.IngressRule, len(hosts))
		for i, h := range hosts {
			out[i].Host = h
		}
		return out
	}
	runRows(t, networkingGK("Ingress"), []rowCase{
		{
			name: "tls and addresses",
			obj: &networkingv1.Ingress{
				ObjectMeta: meta("web"),
				Spec:       networkingv1.IngressSpec{IngressClassName: ptrTo("nginx"), Rules: rules("a.example.com", "b.example.com"), TLS: []networkingv1.IngressTLS{{}}},
				Status: networkingv1.IngressStatus{LoadBalancer: networkingv1.IngressLoadBalancerStatus{Ingress: []networkingv1.IngressLoadBalancerIngress{
					{IP: "203.0.113.9"}, {Hostname: "lb.really-long-name.example.com"},
				}}},
			},
			want: []any{"web", "nginx", "a.example.com,b.example.com", "203.0.113.9,lb.really-long-name.example.com", "80, 443", "90m"},
		},
		{"catch all", &networkingv1.Ingress{ObjectMeta: meta("i"), Spec: networkingv1.IngressSpec{Rules: rules("")}}, []any{"i", "<none>", "*", "", "80", "90m"}},
		{
			name: "more hosts: remaining rules counted",
			obj:  &networkingv1.Ingress{ObjectMeta: meta("i"), Spec: networkingv1.IngressSpec{Rules: rules("", "a", "b", "c", "d")}},
			want: []any{"i", "<none>", "a,b,c + 2 more...", "", "80", "90m"},
		},
		{"exactly three hosts", &networkingv1.Ingress{ObjectMeta: meta("i"), Spec: networkingv1.IngressSpec{Rules: rules("a", "b", "c")}}, []any{"i", "<none>", "a,b,c", "", "80", "90m"}},
	})
	runRows(t, networkingGK("IngressClass"), []rowCase{
		{
			name: "parameters with group",
			obj: &networkingv1.IngressClass{ObjectMeta: meta("nginx"), Spec: networkingv1.IngressClassSpec{
				Controller: "k8s.io/ingress-nginx",
				Parameters: &networkingv1.IngressClassParametersReference{APIGroup: ptrTo("k8s.example.com"), Kind: "IngressParameters", Name: "external-lb"},
			}},
			want: []any{"nginx", "k8s.io/ingress-nginx", "IngressParameters.k8s.example.com/external-lb", "90m"},
		},
		{"no parameters", &networkingv1.IngressClass{ObjectMeta: meta("c"), Spec: networkingv1.IngressClassSpec{Controller: "x"}}, []any{"c", "x", "<none>", "90m"}},
	})
	runRows(t, networkingGK("NetworkPolicy"), []rowCase{
		{"selector", &networkingv1.NetworkPolicy{ObjectMeta: meta("np"), Spec: networkingv1.NetworkPolicySpec{PodSelector: *webSelector}}, []any{"np", "app=web", "90m"}},
		{"all pods", &networkingv1.NetworkPolicy{ObjectMeta: meta("deny")}, []any{"deny", "<none>", "90m"}},
	})
}

func TestRuntimeClassRow(t *testing.T) {
	runRows(t, schema.GroupKind{Group: "node.k8s.io", Kind: "RuntimeClass"}, []rowCase{
		{"gvisor", &nodev1.RuntimeClass{ObjectMeta: meta("gvisor"), Handler: "runsc"}, []any{"gvisor", "runsc", "90m"}},
	})
}

// TestRowDoesNotTouchQuantities guards against Quantity.String caching its result
// in the printed object, which would race with other readers of a shared cache.
func TestRowDoesNotTouchQuantities(t *testing.T) {
	c := resource.MustParse("1Gi")
	c.Add(resource.MustParse("1Gi")) // clears the cached string
	obj := &storagev1.CSIStorageCapacity{ObjectMeta: meta("c"), Capacity: &c}
	before := *obj.Capacity
	rowFor(t, storageGK("CSIStorageCapacity"), obj)
	if *obj.Capacity != before {
		t.Errorf("printing changed the object's quantity from %#v to %#v", before, *obj.Capacity)
	}
}
