package printers

import (
	"reflect"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// now is the fixed clock of every test; created is 90 minutes before it.
var (
	now     = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	created = metav1.NewTime(now.Add(-90 * time.Minute))
)

func ago(d time.Duration) metav1.Time { return metav1.NewTime(now.Add(-d)) }

func meta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: "ns", CreationTimestamp: created}
}

// rowFor prints obj with the registered printer of gk and checks the row has one
// cell per column.
func rowFor(t *testing.T, gk schema.GroupKind, obj runtime.Object) []any {
	t.Helper()
	p, ok := For(gk)
	if !ok {
		t.Fatalf("For(%v) = _, false; want a printer", gk)
	}
	cells, err := p.Row(obj, now)
	if err != nil {
		t.Fatalf("Row(%T) error: %v", obj, err)
	}
	if len(cells) != len(p.Columns) {
		t.Fatalf("Row(%T) = %d cells; want %d, one per column", obj, len(cells), len(p.Columns))
	}
	return cells
}

type rowCase struct {
	name string
	obj  runtime.Object
	want []any
}

func runRows(t *testing.T, gk schema.GroupKind, cases []rowCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := rowFor(t, gk, tc.obj)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Row(%s)\n got %#v\nwant %#v", tc.name, got, tc.want)
			}
		})
	}
}

// columnNames is the upstream header of a kind, wide columns marked with "*".
func columnNames(p Printer) string {
	names := make([]string, len(p.Columns))
	for i, c := range p.Columns {
		names[i] = c.Name
		if c.Priority > 0 {
			names[i] += "*"
		}
	}
	return strings.Join(names, ",")
}

func TestColumns(t *testing.T) {
	tests := []struct {
		gk   schema.GroupKind
		want string
	}{
		{schema.GroupKind{Kind: "Pod"}, "Name,Ready,Status,Restarts,Age,IP*,Node*,Nominated Node*,Readiness Gates*"},
		{schema.GroupKind{Kind: "Namespace"}, "Name,Status,Age"},
		{schema.GroupKind{Kind: "Service"}, "Name,Type,Cluster-IP,External-IP,Port(s),Age,Selector*"},
		{schema.GroupKind{Kind: "Endpoints"}, "Name,Endpoints,Age"},
		{schema.GroupKind{Kind: "Node"}, "Name,Status,Roles,Age,Version,Internal-IP*,External-IP*,OS-Image*,Kernel-Version*,Container-Runtime*"},
		{schema.GroupKind{Kind: "ConfigMap"}, "Name,Data,Age"},
		{schema.GroupKind{Kind: "Secret"}, "Name,Type,Data,Age"},
		{schema.GroupKind{Kind: "ServiceAccount"}, "Name,Secrets,Age"},
		{schema.GroupKind{Kind: "Event"}, "Last Seen,Type,Reason,Object,Subobject*,Source*,Message,First Seen*,Count*,Name*"},
		{schema.GroupKind{Group: "events.k8s.io", Kind: "Event"}, "Last Seen,Type,Reason,Object,Subobject*,Source*,Message,First Seen*,Count*,Name*"},
		{schema.GroupKind{Kind: "PersistentVolume"}, "Name,Capacity,Access Modes,Reclaim Policy,Status,Claim,StorageClass,VolumeAttributesClass,Reason,Age,VolumeMode*"},
		{schema.GroupKind{Kind: "PersistentVolumeClaim"}, "Name,Status,Volume,Capacity,Access Modes,StorageClass,VolumeAttributesClass,Age,VolumeMode*"},
		{schema.GroupKind{Kind: "ResourceQuota"}, "Name,Request,Limit,Age"},
		{schema.GroupKind{Kind: "ReplicationController"}, "Name,Desired,Current,Ready,Age,Containers*,Images*,Selector*"},
		{schema.GroupKind{Kind: "PodTemplate"}, "Name,Containers,Images,Pod Labels"},
		{schema.GroupKind{Group: "apps", Kind: "Deployment"}, "Name,Ready,Up-to-date,Available,Age,Containers*,Images*,Selector*"},
		{schema.GroupKind{Group: "apps", Kind: "ReplicaSet"}, "Name,Desired,Current,Ready,Age,Containers*,Images*,Selector*"},
		{schema.GroupKind{Group: "apps", Kind: "StatefulSet"}, "Name,Ready,Age,Containers*,Images*"},
		{schema.GroupKind{Group: "apps", Kind: "DaemonSet"}, "Name,Desired,Current,Ready,Up-to-date,Available,Node Selector,Age,Containers*,Images*,Selector*"},
		{schema.GroupKind{Group: "apps", Kind: "ControllerRevision"}, "Name,Controller,Revision,Age"},
		{schema.GroupKind{Group: "batch", Kind: "Job"}, "Name,Status,Completions,Duration,Age,Containers*,Images*,Selector*"},
		{schema.GroupKind{Group: "batch", Kind: "CronJob"}, "Name,Schedule,Timezone,Suspend,Active,Last Schedule,Age,Containers*,Images*,Selector*"},
		{schema.GroupKind{Group: "autoscaling", Kind: "HorizontalPodAutoscaler"}, "Name,Reference,Targets,MinPods,MaxPods,Replicas,Age"},
		{schema.GroupKind{Group: "coordination.k8s.io", Kind: "Lease"}, "Name,Holder,Age"},
		{schema.GroupKind{Group: "discovery.k8s.io", Kind: "EndpointSlice"}, "Name,AddressType,Ports,Endpoints,Age"},
		{schema.GroupKind{Group: "rbac.authorization.k8s.io", Kind: "RoleBinding"}, "Name,Role,Age,Users*,Groups*,ServiceAccounts*"},
		{schema.GroupKind{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding"}, "Name,Role,Age,Users*,Groups*,ServiceAccounts*"},
		{schema.GroupKind{Group: "storage.k8s.io", Kind: "StorageClass"}, "Name,Provisioner,ReclaimPolicy,VolumeBindingMode,AllowVolumeExpansion,Age"},
		{schema.GroupKind{Group: "storage.k8s.io", Kind: "VolumeAttachment"}, "Name,Attacher,PV,Node,Attached,Age"},
		{schema.GroupKind{Group: "storage.k8s.io", Kind: "CSIDriver"}, "Name,AttachRequired,PodInfoOnMount,StorageCapacity,TokenRequests,RequiresRepublish,Modes,Age"},
		{schema.GroupKind{Group: "storage.k8s.io", Kind: "CSINode"}, "Name,Drivers,Age"},
		{schema.GroupKind{Group: "storage.k8s.io", Kind: "CSIStorageCapacity"}, "Name,StorageClassName,Capacity"},
		{schema.GroupKind{Group: "policy", Kind: "PodDisruptionBudget"}, "Name,Min Available,Max Unavailable,Allowed Disruptions,Age"},
		{schema.GroupKind{Group: "scheduling.k8s.io", Kind: "PriorityClass"}, "Name,Value,Global-Default,Age,PreemptionPolicy"},
		{schema.GroupKind{Group: "networking.k8s.io", Kind: "Ingress"}, "Name,Class,Hosts,Address,Ports,Age"},
		{schema.GroupKind{Group: "networking.k8s.io", Kind: "IngressClass"}, "Name,Controller,Parameters,Age"},
		{schema.GroupKind{Group: "networking.k8s.io", Kind: "NetworkPolicy"}, "Name,Pod-Selector,Age"},
		{schema.GroupKind{Group: "node.k8s.io", Kind: "RuntimeClass"}, "Name,Handler,Age"},
	}
	if len(tests) != len(registry) {
		t.Errorf("registry has %d kinds; the test lists %d", len(registry), len(tests))
	}
	for _, tc := range tests {
		p, ok := For(tc.gk)
		if !ok {
			t.Errorf("For(%v) = _, false; want a printer", tc.gk)
			continue
		}
		if got := columnNames(p); got != tc.want {
			t.Errorf("For(%v) columns = %q; want %q", tc.gk, got, tc.want)
		}
		if p.Columns[0].Name == "Name" && p.Columns[0].Format != "name" {
			t.Errorf("For(%v) Name column format = %q; want %q", tc.gk, p.Columns[0].Format, "name")
		}
	}
}

func TestColumnDescriptions(t *testing.T) {
	p, _ := For(schema.GroupKind{Kind: "Pod"})
	if got, want := p.Columns[0].Description, objectMetaDoc["name"]; got != want || got == "" {
		t.Errorf("pod Name description = %q; want %q", got, want)
	}
	if got, want := p.Columns[5].Description, (corev1.PodStatus{}).SwaggerDoc()["podIP"]; got != want || got == "" {
		t.Errorf("pod IP description = %q; want %q", got, want)
	}
	d, _ := For(schema.GroupKind{Group: "apps", Kind: "Deployment"})
	if d.Columns[2].Description == "" {
		t.Errorf("deployment Up-to-date description is empty; want the DeploymentStatus doc")
	}
}

// TestEveryPrinterHandlesEmptyObjects feeds each printer the zero value of its kind:
// nothing may panic and every row must have one cell per column.
func TestEveryPrinterHandlesEmptyObjects(t *testing.T) {
	for gk, p := range registry {
		obj := zeroObject(gk)
		if obj == nil {
			t.Errorf("no zero object for %v", gk)
			continue
		}
		cells, err := p.Row(obj, now)
		if err != nil {
			t.Errorf("Row(empty %v) error: %v", gk, err)
			continue
		}
		if len(cells) != len(p.Columns) {
			t.Errorf("Row(empty %v) = %d cells; want %d", gk, len(cells), len(p.Columns))
		}
	}
}

func TestForReturnsACopy(t *testing.T) {
	gk := schema.GroupKind{Kind: "Pod"}
	p, _ := For(gk)
	p.Columns[0].Name = "changed"
	if q, _ := For(gk); q.Columns[0].Name != "Name" {
		t.Errorf("For(%v) after caller edit: first column = %q; want %q", gk, q.Columns[0].Name, "Name")
	}
}

func TestForUnknownKinds(t *testing.T) {
	for _, gk := range []schema.GroupKind{
		{Group: "rbac.authorization.k8s.io", Kind: "Role"},
		{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"},
		{Kind: "LimitRange"},
		{Group: "example.com", Kind: "Widget"},
	} {
		if _, ok := For(gk); ok {
			t.Errorf("For(%v) = _, true; want false (upstream prints it with the default convertor)", gk)
		}
	}
}

func TestRowRejectsWrongType(t *testing.T) {
	for _, gk := range []schema.GroupKind{
		{Kind: "Pod"},
		{Kind: "Event"},
		{Group: "autoscaling", Kind: "HorizontalPodAutoscaler"},
	} {
		p, _ := For(gk)
		if _, err := p.Row(&appsv1.Deployment{}, now); err == nil {
			t.Errorf("For(%v).Row(*Deployment) error = nil; want an error", gk)
		}
		var nilPod *corev1.Pod
		if _, err := p.Row(nilPod, now); err == nil {
			t.Errorf("For(%v).Row(nil *Pod) error = nil; want an error", gk)
		}
	}
}

func TestDefault(t *testing.T) {
	p := Default()
	if got, want := columnNames(p), "Name,Created At"; got != want {
		t.Fatalf("Default() columns = %q; want %q", got, want)
	}
	if got, want := p.Columns[1].Type, "date"; got != want {
		t.Errorf("Default() Created At type = %q; want %q", got, want)
	}
	local := metav1.NewTime(time.Date(2024, 5, 6, 9, 0, 0, 0, time.FixedZone("X", 2*3600)))
	tests := []struct {
		name string
		obj  runtime.Object
		want []any
	}{
		{"role", &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "reader", CreationTimestamp: local}}, []any{"reader", "2024-05-06T07:00:00Z"}},
		{"cluster role", &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "admin", CreationTimestamp: created}}, []any{"admin", "2024-05-06T05:38:09Z"}},
		{"limit range", &corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Name: "limits", CreationTimestamp: created}}, []any{"limits", "2024-05-06T05:38:09Z"}},
	}
	for _, tc := range tests {
		got, err := p.Row(tc.obj, now)
		if err != nil {
			t.Fatalf("Default().Row(%s) error: %v", tc.name, err)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Default().Row(%s) = %#v; want %#v", tc.name, got, tc.want)
		}
	}
	if _, err := p.Row(&metav1.Status{}, now); err == nil {
		t.Errorf("Default().Row(*Status) error = nil; want an error for an object without metadata")
	}
}

func TestTranslateTimestampSince(t *testing.T) {
	tests := []struct {
		ts   metav1.Time
		want string
	}{
		{metav1.Time{}, "<unknown>"},
		{ago(30 * time.Second), "30s"},
		{ago(119 * time.Second), "119s"},
		{ago(5*time.Minute + 7*time.Second), "5m7s"},
		{ago(90 * time.Minute), "90m"},
		{ago(5*time.Hour + 3*time.Minute), "5h3m"},
		{ago(30 * time.Hour), "30h"},
		{ago(3*24*time.Hour + 2*time.Hour), "3d2h"},
		{ago(400 * 24 * time.Hour), "400d"},
		{metav1.NewTime(now.Add(time.Hour)), "<invalid>"},
	}
	for _, tc := range tests {
		if got := translateTimestampSince(tc.ts, now); got != tc.want {
			t.Errorf("translateTimestampSince(%v) = %q; want %q", tc.ts, got, tc.want)
		}
	}
}
