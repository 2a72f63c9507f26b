package printers

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var podGK = schema.GroupKind{Kind: "Pod"}

func coreGK(kind string) schema.GroupKind { return schema.GroupKind{Kind: kind} }

func TestNamespaceRow(t *testing.T) {
	runRows(t, coreGK("Namespace"), []rowCase{
		{"active", &corev1.Namespace{ObjectMeta: meta("default"), Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}}, []any{"default", "Active", "90m"}},
		{"terminating", &corev1.Namespace{ObjectMeta: meta("old"), Status: corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating}}, []any{"old", "Terminating", "90m"}},
	})
}

func TestServiceRow(t *testing.T) {
	ports := []corev1.ServicePort{{Port: 80, Protocol: corev1.ProtocolTCP}, {Port: 443, NodePort: 30443, Protocol: corev1.ProtocolTCP}}
	runRows(t, coreGK("Service"), []rowCase{
		{
			name: "cluster IP",
			obj: &corev1.Service{ObjectMeta: meta("web"), Spec: corev1.ServiceSpec{
				Type: corev1.ServiceTypeClusterIP, ClusterIP: "10.96.0.10", ClusterIPs: []string{"10.96.0.10"},
				Ports:    []corev1.ServicePort{{Port: 53, Protocol: corev1.ProtocolUDP}, {Port: 53, Protocol: corev1.ProtocolTCP}},
				Selector: map[string]string{"app": "dns"},
			}},
			want: []any{"web", "ClusterIP", "10.96.0.10", "<none>", "53/UDP,53/TCP", "90m", "app=dns"},
		},
		{
			name: "headless without ports or selector",
			obj:  &corev1.Service{ObjectMeta: meta("h"), Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIPs: []string{"None"}}},
			want: []any{"h", "ClusterIP", "None", "<none>", "<none>", "90m", "<none>"},
		},
		{
			name: "node port with external IPs",
			obj: &corev1.Service{ObjectMeta: meta("np"), Spec: corev1.ServiceSpec{
				Type: corev1.ServiceTypeNodePort, ClusterIP: "10.0.0.1", ExternalIPs: []string{"1.2.3.4", "5.6.7.8"}, Ports: ports,
			}},
			want: []any{"np", "NodePort", "10.0.0.1", "1.2.3.4,5.6.7.8", "80/TCP,443:30443/TCP", "90m", "<none>"},
		},
		{
			name: "load balancer pending",
			obj:  &corev1.Service{ObjectMeta: meta("lb"), Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, ClusterIP: "10.0.0.2", Ports: ports}},
			want: []any{"lb", "LoadBalancer", "10.0.0.2", "<pending>", "80/TCP,443:30443/TCP", "90m", "<none>"},
		},
		{
			name: "load balancer addresses sorted, never clipped, then external IPs",
			obj: &corev1.Service{
				ObjectMeta: meta("lb"),
				Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, ClusterIP: "10.0.0.2", ExternalIPs: []string{"9.9.9.9"}},
				Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{
					{Hostname: "a-very-long-hostname.elb.example.com"}, {IP: "203.0.113.7"}, {IP: "203.0.113.7"},
				}}},
			},
			want: []any{"lb", "LoadBalancer", "10.0.0.2", "203.0.113.7,a-very-long-hostname.elb.example.com,9.9.9.9", "<none>", "90m", "<none>"},
		},
		{
			name: "external name",
			obj:  &corev1.Service{ObjectMeta: meta("ext"), Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "db.example.com"}},
			want: []any{"ext", "ExternalName", "<none>", "db.example.com", "<none>", "90m", "<none>"},
		},
		{
			name: "no type",
			obj:  &corev1.Service{ObjectMeta: meta("x")},
			want: []any{"x", "", "<none>", "<unknown>", "<none>", "90m", "<none>"},
		},
	})
}

func TestEndpointsRow(t *testing.T) {
	addrs := func(ips ...string) []corev1.EndpointAddress {
		out := make([]corev1.EndpointAddress, len(ips))
		for i, ip := range ips {
			out[i].IP = ip
		}
		return out
	}
	runRows(t, coreGK("Endpoints"), []rowCase{
		{"none", &corev1.Endpoints{ObjectMeta: meta("e")}, []any{"e", "<none>", "90m"}},
		{
			name: "two ports",
			obj: &corev1.Endpoints{ObjectMeta: meta("e"), Subsets: []corev1.EndpointSubset{{
				Addresses: addrs("10.1.0.20"), Ports: []corev1.EndpointPort{{Port: 53}, {Port: 9153}},
			}}},
			want: []any{"e", "10.1.0.20:53,10.1.0.20:9153", "90m"},
		},
		{
			name: "more than three",
			obj: &corev1.Endpoints{ObjectMeta: meta("kube-dns"), Subsets: []corev1.EndpointSubset{{
				Addresses: addrs("10.1.0.20", "10.1.0.21"), Ports: []corev1.EndpointPort{{Port: 53}, {Port: 53}, {Port: 9153}},
			}}},
			want: []any{"kube-dns", "10.1.0.20:53,10.1.0.21:53,10.1.0.20:53 + 3 more...", "90m"},
		},
		{
			name: "headless without ports, IPv6",
			obj: &corev1.Endpoints{ObjectMeta: meta("e"), Subsets: []corev1.EndpointSubset{
				{Addresses: addrs("fd00::1")}, {Addresses: addrs("fd00::2"), Ports: []corev1.EndpointPort{{Port: 80}}},
			}},
			want: []any{"e", "fd00::1,[fd00::2]:80", "90m"},
		},
	})
}

func TestNodeRow(t *testing.T) {
	ready := func(s corev1.ConditionStatus) []corev1.NodeCondition {
		return []corev1.NodeCondition{{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse}, {Type: corev1.NodeReady, Status: s}}
	}
	runRows(t, coreGK("Node"), []rowCase{
		{
			name: "ready control plane",
			obj: &corev1.Node{
				ObjectMeta: metav1.ObjectMeta{Name: "n1", CreationTimestamp: created, Labels: map[string]string{
					"node-role.kubernetes.io/control-plane": "", "kubernetes.io/role": "master", "node-role.kubernetes.io/": "x",
				}},
				Status: corev1.NodeStatus{
					Conditions: ready(corev1.ConditionTrue),
					Addresses:  []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: "n1"}, {Type: corev1.NodeInternalIP, Address: "192.168.1.10"}},
					NodeInfo: corev1.NodeSystemInfo{
						KubeletVersion: "v1.37.2", OSImage: "Debian GNU/Linux 13", KernelVersion: "6.12.0", ContainerRuntimeVersion: "containerd://2.1.0",
					},
				},
			},
			want: []any{"n1", "Ready", "control-plane,master", "90m", "v1.37.2", "192.168.1.10", "<none>", "Debian GNU/Linux 13", "6.12.0", "containerd://2.1.0"},
		},
		{
			name: "not ready and cordoned",
			obj: &corev1.Node{
				ObjectMeta: meta("n2"),
				Spec:       corev1.NodeSpec{Unschedulable: true},
				Status: corev1.NodeStatus{
					Conditions: ready(corev1.ConditionUnknown),
					Addresses:  []corev1.NodeAddress{{Type: corev1.NodeExternalIP, Address: "203.0.113.1"}},
				},
			},
			want: []any{"n2", "NotReady,SchedulingDisabled", "<none>", "90m", "", "<none>", "203.0.113.1", "<unknown>", "<unknown>", "<unknown>"},
		},
		{
			name: "no ready condition",
			obj:  &corev1.Node{ObjectMeta: meta("n3")},
			want: []any{"n3", "Unknown", "<none>", "90m", "", "<none>", "<none>", "<unknown>", "<unknown>", "<unknown>"},
		},
	})
}

func TestDataKindsRows(t *testing.T) {
	runRows(t, coreGK("ConfigMap"), []rowCase{
		{"data and binary data", &corev1.ConfigMap{ObjectMeta: meta("cm"), Data: map[string]string{"a": "1", "b": "2"}, BinaryData: map[string][]byte{"c": nil}}, []any{"cm", int64(3), "90m"}},
		{"empty", &corev1.ConfigMap{ObjectMeta: meta("cm")}, []any{"cm", int64(0), "90m"}},
	})
	runRows(t, coreGK("Secret"), []rowCase{
		{"opaque", &corev1.Secret{ObjectMeta: meta("s"), Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"a": nil}}, []any{"s", "Opaque", int64(1), "90m"}},
		{
			name: "string data merged",
			obj: &corev1.Secret{ObjectMeta: meta("tls"), Type: corev1.SecretTypeTLS,
				Data: map[string][]byte{"tls.crt": nil}, StringData: map[string]string{"tls.crt": "x", "tls.key": "y"}},
			want: []any{"tls", "kubernetes.io/tls", int64(2), "90m"},
		},
	})
	runRows(t, coreGK("ServiceAccount"), []rowCase{
		{"default", &corev1.ServiceAccount{ObjectMeta: meta("default")}, []any{"default", int64(0), "90m"}},
		{"with secret", &corev1.ServiceAccount{ObjectMeta: meta("builder"), Secrets: []corev1.ObjectReference{{Name: "t"}}}, []any{"builder", int64(1), "90m"}},
	})
}

func TestPersistentVolumeRow(t *testing.T) {
	block := corev1.PersistentVolumeBlock
	deleted := metav1.NewTime(now)
	runRows(t, coreGK("PersistentVolume"), []rowCase{
		{
			name: "bound",
			obj: &corev1.PersistentVolume{
				ObjectMeta: meta("pv1"),
				Spec: corev1.PersistentVolumeSpec{
					Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")},
					AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany, corev1.ReadWriteOnce, corev1.ReadWriteOnce},
					PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
					ClaimRef:                      &corev1.ObjectReference{Namespace: "ns", Name: "data"},
					StorageClassName:              "fast",
					VolumeAttributesClassName:     ptrTo("gold"),
					VolumeMode:                    &block,
				},
				Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeBound},
			},
			want: []any{"pv1", "10Gi", "RWO,RWX", "Retain", "Bound", "ns/data", "fast", "gold", "", "90m", "Block"},
		},
		{
			name: "terminating, beta class annotation wins",
			obj: &corev1.PersistentVolume{
				ObjectMeta: metav1.ObjectMeta{
					Name: "pv2", CreationTimestamp: created, DeletionTimestamp: &deleted,
					Annotations: map[string]string{corev1.BetaStorageClassAnnotation: "old"},
				},
				Spec:   corev1.PersistentVolumeSpec{StorageClassName: "fast", AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOncePod, corev1.ReadOnlyMany}},
				Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeFailed, Reason: "Recycler failed"},
			},
			want: []any{"pv2", "0", "ROX,RWOP", "", "Terminating", "", "old", "<unset>", "Recycler failed", "90m", "<unset>"},
		},
	})
}

func TestPersistentVolumeClaimRow(t *testing.T) {
	fs := corev1.PersistentVolumeFilesystem
	runRows(t, coreGK("PersistentVolumeClaim"), []rowCase{
		{
			name: "bound shows status capacity",
			obj: &corev1.PersistentVolumeClaim{
				ObjectMeta: meta("data"),
				Spec: corev1.PersistentVolumeClaimSpec{
					VolumeName: "pv1", StorageClassName: ptrTo("fast"), VolumeMode: &fs,
					Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("5Gi")}},
				},
				Status: corev1.PersistentVolumeClaimStatus{
					Phase: corev1.ClaimBound, AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Capacity: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")},
				},
			},
			want: []any{"data", "Bound", "pv1", "10Gi", "RWO", "fast", "<unset>", "90m", "Filesystem"},
		},
		{
			name: "pending shows nothing",
			obj: &corev1.PersistentVolumeClaim{
				ObjectMeta: meta("data"),
				Spec: corev1.PersistentVolumeClaimSpec{
					VolumeAttributesClassName: ptrTo("gold"),
					Resources:                 corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("5Gi")}},
				},
				Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending},
			},
			want: []any{"data", "Pending", "", "", "", "", "gold", "90m", "<unset>"},
		},
	})
}

func TestResourceQuotaRow(t *testing.T) {
	q := resource.MustParse
	runRows(t, coreGK("ResourceQuota"), []rowCase{
		{
			name: "requests and limits",
			obj: &corev1.ResourceQuota{
				ObjectMeta: meta("quota"),
				Status: corev1.ResourceQuotaStatus{
					Hard: corev1.ResourceList{"pods": q("10"), "requests.cpu": q("2"), "limits.memory": q("4Gi"), "limits.cpu": q("4")},
					Used: corev1.ResourceList{"pods": q("3"), "requests.cpu": q("500m"), "limits.cpu": q("1")},
				},
			},
			want: []any{"quota", "pods: 3/10, requests.cpu: 500m/2", "limits.cpu: 1/4, limits.memory: 0/4Gi", "90m"},
		},
		{"empty", &corev1.ResourceQuota{ObjectMeta: meta("quota")}, []any{"quota", "", "", "90m"}},
	})
}

func TestReplicationControllerRow(t *testing.T) {
	runRows(t, coreGK("ReplicationController"), []rowCase{
		{
			name: "with template",
			obj: &corev1.ReplicationController{
				ObjectMeta: meta("rc"),
				Spec: corev1.ReplicationControllerSpec{
					Replicas: ptrTo(int32(3)), Selector: map[string]string{"app": "web"},
					Template: &corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: containers("web", "log")}},
				},
				Status: corev1.ReplicationControllerStatus{Replicas: 3, ReadyReplicas: 2},
			},
			want: []any{"rc", int64(3), int64(3), int64(2), "90m", "web,log", "web:1,log:1", "app=web"},
		},
		{"without template", &corev1.ReplicationController{ObjectMeta: meta("rc")}, []any{"rc", int64(0), int64(0), int64(0), "90m", "", "", "<none>"}},
	})
}

func TestPodTemplateRow(t *testing.T) {
	runRows(t, coreGK("PodTemplate"), []rowCase{
		{
			name: "labels sorted",
			obj: &corev1.PodTemplate{ObjectMeta: meta("tpl"), Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"tier": "fe", "app": "web"}},
				Spec:       corev1.PodSpec{Containers: containers("web")},
			}},
			want: []any{"tpl", "web", "web:1", "app=web,tier=fe"},
		},
		{"empty", &corev1.PodTemplate{ObjectMeta: meta("tpl")}, []any{"tpl", "", "", "<none>"}},
	})
}

func TestEventRow(t *testing.T) {
	micro := func(d time.Duration) metav1.MicroTime { return metav1.NewMicroTime(now.Add(-d)) }
	for _, gk := range []schema.GroupKind{coreGK("Event"), {Group: "events.k8s.io", Kind: "Event"}} {
		runRows(t, gk, []rowCase{
			{
				name: "core event",
				obj: &corev1.Event{
					ObjectMeta:     meta("web.17a"),
					InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "web", FieldPath: "spec.containers{web}"},
					Reason:         "BackOff", Type: corev1.EventTypeWarning, Message: "Back-off restarting failed container\n",
					Source:         corev1.EventSource{Component: "kubelet", Host: "node-1"},
					FirstTimestamp: ago(time.Hour), LastTimestamp: ago(2 * time.Minute), Count: 12,
				},
				want: []any{"2m", "Warning", "BackOff", "pod/web", "spec.containers{web}", "kubelet, node-1", "Back-off restarting failed container", "60m", int64(12), "web.17a"},
			},
			{
				name: "new-style singleton event without timestamps",
				obj: &corev1.Event{
					ObjectMeta:     meta("e"),
					InvolvedObject: corev1.ObjectReference{Kind: "Node"},
					Reason:         "Starting", Type: corev1.EventTypeNormal,
					EventTime: micro(3 * time.Minute), ReportingController: "kube-proxy", ReportingInstance: "kube-proxy-abc",
				},
				want: []any{"3m", "Normal", "Starting", "node", "", "kube-proxy, kube-proxy-abc", "", "3m", int64(1), "e"},
			},
			{
				name: "series",
				obj: &corev1.Event{
					ObjectMeta:     meta("e"),
					InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "p"},
					Source:         corev1.EventSource{Component: "scheduler"},
					EventTime:      micro(time.Hour), Count: 1,
					Series: &corev1.EventSeries{Count: 4, LastObservedTime: micro(30 * time.Second)},
				},
				want: []any{"30s", "", "", "pod/p", "", "scheduler", "", "60m", int64(4), "e"},
			},
			{
				name: "events.k8s.io event",
				obj: &eventsv1.Event{
					ObjectMeta: meta("e2"),
					Regarding:  corev1.ObjectReference{Kind: "Deployment", Name: "web"},
					Reason:     "ScalingReplicaSet", Type: corev1.EventTypeNormal, Note: "Scaled up replica set web-1 to 3",
					EventTime: micro(10 * time.Minute), ReportingController: "deployment-controller",
					DeprecatedCount: 2, DeprecatedFirstTimestamp: ago(20 * time.Minute), DeprecatedLastTimestamp: ago(4 * time.Minute),
				},
				want: []any{"4m", "Normal", "ScalingReplicaSet", "deployment/web", "", "deployment-controller", "Scaled up replica set web-1 to 3", "20m", int64(2), "e2"},
			},
			{
				name: "events.k8s.io series",
				obj: &eventsv1.Event{
					ObjectMeta: meta("e3"),
					Regarding:  corev1.ObjectReference{Kind: "Pod", Name: "p"},
					EventTime:  micro(time.Hour), ReportingController: "kubelet", ReportingInstance: "node-1",
					Series: &eventsv1.EventSeries{Count: 9, LastObservedTime: micro(time.Minute)},
				},
				want: []any{"60s", "", "", "pod/p", "", "kubelet, node-1", "", "60m", int64(9), "e3"},
			},
		})
	}
}
