package defaults

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// createTime is the clock PrepareForCreateAt is given; objects keep it to the second.
var createTime = time.Date(2025, 1, 2, 3, 4, 5, 600_000_000, time.UTC)

var prepareCases = []manifestCase{
	{
		name: "pod: status reset to Pending with its QoS class",
		in: `
apiVersion: v1
kind: Pod
metadata: {name: p, uid: u-1, resourceVersion: "7", generation: 1, creationTimestamp: "2025-01-01T00:00:00Z"}
spec:
  containers:
  - name: app
    image: app:v1
    resources: {limits: {cpu: "1", memory: 1Gi}}
status:
  phase: Running
  podIP: 10.0.0.9
  conditions: [{type: Ready, status: "True"}]
`,
		want: `
apiVersion: v1
kind: Pod
metadata: {name: p, uid: u-1, resourceVersion: "7", generation: 1, creationTimestamp: "2025-01-01T00:00:00Z"}
spec:
  containers:
  - name: app
    image: app:v1
    imagePullPolicy: IfNotPresent
    resources:
      limits: {cpu: "1", memory: 1Gi}
      requests: {cpu: "1", memory: 1Gi}
    terminationMessagePath: /dev/termination-log
    terminationMessagePolicy: File
  enableServiceLinks: true` + podSpecDefaults(2) + `
status: {phase: Pending, qosClass: Guaranteed}
`,
	},
	{
		name: "pod: scheduling gates add a PodScheduled=False condition",
		in: `
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  schedulingGates: [{name: example.com/quota}]
  containers: [{name: app, image: app:v1, imagePullPolicy: Never}]
`,
		want: `
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  schedulingGates: [{name: example.com/quota}]
  containers:
  - name: app
    image: app:v1
    imagePullPolicy: Never
    resources: {}
    terminationMessagePath: /dev/termination-log
    terminationMessagePolicy: File
  enableServiceLinks: true` + podSpecDefaults(2) + `
status:
  phase: Pending
  qosClass: BestEffort
  conditions:
  - type: PodScheduled
    status: "False"
    reason: SchedulingGated
    message: Scheduling is blocked due to non-empty scheduling gates
    lastProbeTime: null
    lastTransitionTime: "2025-01-02T03:04:05Z"
`,
	},
	{
		name: "pod: matchLabelKeys merged into selectors, AppArmor annotation into the field",
		in: `
apiVersion: v1
kind: Pod
metadata:
  name: p
  labels: {app: web, pod-template-hash: abc}
  annotations: {container.apparmor.security.beta.kubernetes.io/app: localhost/strict}
spec:
  containers: [{name: app, image: app:v1, imagePullPolicy: Never}]
  affinity:
    podAntiAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
      - topologyKey: kubernetes.io/hostname
        labelSelector: {matchLabels: {app: web}}
        matchLabelKeys: [pod-template-hash, missing]
        mismatchLabelKeys: [app]
  topologySpreadConstraints:
  - maxSkew: 1
    topologyKey: zone
    whenUnsatisfiable: DoNotSchedule
    labelSelector: {matchLabels: {app: web}}
    matchLabelKeys: [pod-template-hash]
`,
		want: `
apiVersion: v1
kind: Pod
metadata:
  name: p
  labels: {app: web, pod-template-hash: abc}
  annotations: {container.apparmor.security.beta.kubernetes.io/app: localhost/strict}
spec:
  containers:
  - name: app
    image: app:v1
    imagePullPolicy: Never
    resources: {}
    securityContext:
      appArmorProfile: {type: Localhost, localhostProfile: strict}
    terminationMessagePath: /dev/termination-log
    terminationMessagePolicy: File
  affinity:
    podAntiAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
      - topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels: {app: web}
          matchExpressions:
          - {key: pod-template-hash, operator: In, values: [abc]}
          - {key: app, operator: NotIn, values: [web]}
        matchLabelKeys: [pod-template-hash, missing]
        mismatchLabelKeys: [app]
  topologySpreadConstraints:
  - maxSkew: 1
    topologyKey: zone
    whenUnsatisfiable: DoNotSchedule
    labelSelector:
      matchLabels: {app: web}
      matchExpressions: [{key: pod-template-hash, operator: In, values: [abc]}]
    matchLabelKeys: [pod-template-hash]
  enableServiceLinks: true` + podSpecDefaults(2) + `
status: {phase: Pending, qosClass: BestEffort}
`,
	},
	{
		name: "namespace: Active, kubernetes finalizer, name label",
		in: `
apiVersion: v1
kind: Namespace
metadata: {name: team-b}
spec: {finalizers: [example.com/cleanup]}
status: {phase: Terminating}
`,
		want: `
apiVersion: v1
kind: Namespace
metadata:
  name: team-b
  labels: {kubernetes.io/metadata.name: team-b}
spec: {finalizers: [example.com/cleanup, kubernetes]}
status: {phase: Active}
`,
	},
	{
		name: "service: status cleared",
		in: `
apiVersion: v1
kind: Service
metadata: {name: s}
spec: {type: LoadBalancer, ports: [{port: 80}]}
status: {loadBalancer: {ingress: [{ip: 192.0.2.1}]}}
`,
		want: `
apiVersion: v1
kind: Service
metadata: {name: s}
spec:
  type: LoadBalancer
  ports: [{port: 80, protocol: TCP, targetPort: 80}]
  sessionAffinity: None
  externalTrafficPolicy: Cluster
  internalTrafficPolicy: Cluster
  allocateLoadBalancerNodePorts: true
status: {loadBalancer: {}}
`,
	},
	{
		name: "node: config source dropped, status kept",
		in: `
apiVersion: v1
kind: Node
metadata: {name: node-1}
spec:
  configSource: {configMap: {name: kc, namespace: kube-system, kubeletConfigKey: kubelet}}
status:
  capacity: {pods: "110"}
  config: {error: stale}
  conditions: [{type: Ready, status: "True"}]
`,
		want: `
apiVersion: v1
kind: Node
metadata: {name: node-1}
spec: {}
status:
  capacity: {pods: "110"}
  allocatable: {pods: "110"}
  conditions: [{type: Ready, status: "True"}]
`,
	},
	{
		name: "persistent volume: Pending since now",
		in: `
apiVersion: v1
kind: PersistentVolume
metadata: {name: pv}
spec:
  capacity: {storage: 1Gi}
  persistentVolumeReclaimPolicy: Delete
  nfs: {server: nfs.example.com, path: /exports}
status: {phase: Bound}
`,
		want: `
apiVersion: v1
kind: PersistentVolume
metadata: {name: pv}
spec:
  capacity: {storage: 1Gi}
  persistentVolumeReclaimPolicy: Delete
  nfs: {server: nfs.example.com, path: /exports}
  volumeMode: Filesystem
status: {phase: Pending, lastPhaseTransitionTime: "2025-01-02T03:04:05Z"}
`,
	},
	{
		name: "persistent volume claim: Pending, data source mirrored",
		in: `
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: c}
spec:
  resources: {requests: {storage: 1Gi}}
  dataSource: {apiGroup: snapshot.storage.k8s.io, kind: VolumeSnapshot, name: snap}
status: {phase: Bound, capacity: {storage: 1Gi}}
`,
		want: `
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: c}
spec:
  resources: {requests: {storage: 1Gi}}
  volumeMode: Filesystem
  dataSource: {apiGroup: snapshot.storage.k8s.io, kind: VolumeSnapshot, name: snap}
  dataSourceRef: {apiGroup: snapshot.storage.k8s.io, kind: VolumeSnapshot, name: snap}
status: {phase: Pending}
`,
	},
	{
		name: "persistent volume claim: a legacy dataSource of another kind is dropped",
		in: `
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: c}
spec:
  volumeMode: Block
  resources: {requests: {storage: 1Gi}}
  dataSource: {apiGroup: example.com, kind: Populator, name: p}
`,
		want: `
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: c}
spec:
  volumeMode: Block
  resources: {requests: {storage: 1Gi}}
status: {phase: Pending}
`,
	},
	{
		name: "persistent volume claim: dataSourceRef mirrored unless cross-namespace",
		in: `
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: c}
spec:
  volumeMode: Block
  resources: {requests: {storage: 1Gi}}
  dataSourceRef: {apiGroup: example.com, kind: Populator, name: p}
`,
		want: `
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: c}
spec:
  volumeMode: Block
  resources: {requests: {storage: 1Gi}}
  dataSource: {apiGroup: example.com, kind: Populator, name: p}
  dataSourceRef: {apiGroup: example.com, kind: Populator, name: p}
status: {phase: Pending}
`,
	},
	{
		name: "service account: only secret names kept",
		in: `
apiVersion: v1
kind: ServiceAccount
metadata: {name: sa}
secrets: [{name: tok, namespace: other, uid: x, fieldPath: data}]
`,
		want: `
apiVersion: v1
kind: ServiceAccount
metadata: {name: sa}
secrets: [{name: tok}]
`,
	},
	{
		name: "job: selector and labels generated from the UID",
		in: `
apiVersion: batch/v1
kind: Job
metadata: {name: pi, uid: 5c1e}
spec:
  template:
    metadata: {labels: {app: pi}}
    spec:
      restartPolicy: Never
      containers: [{name: app, image: app:v1, imagePullPolicy: Never}]
status: {succeeded: 3}
`,
		want: `
apiVersion: batch/v1
kind: Job
metadata:
  name: pi
  uid: 5c1e
  labels: {app: pi, batch.kubernetes.io/controller-uid: 5c1e, batch.kubernetes.io/job-name: pi, controller-uid: 5c1e, job-name: pi}
spec:
  parallelism: 1
  completions: 1
  backoffLimit: 6
  completionMode: NonIndexed
  suspend: false
  manualSelector: false
  podReplacementPolicy: TerminatingOrFailed
  selector:
    matchLabels: {batch.kubernetes.io/controller-uid: 5c1e}
  template:
    metadata:
      labels: {app: pi, batch.kubernetes.io/controller-uid: 5c1e, batch.kubernetes.io/job-name: pi, controller-uid: 5c1e, job-name: pi}
    spec:
      containers:
      - name: app
        image: app:v1
        imagePullPolicy: Never
        resources: {}
        terminationMessagePath: /dev/termination-log
        terminationMessagePolicy: File
      dnsPolicy: ClusterFirst
      restartPolicy: Never
      schedulerName: default-scheduler
      securityContext: {}
      terminationGracePeriodSeconds: 30
status: {}
`,
	},
	{
		name: "daemon set: template generation annotation",
		in: `
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: ds}
spec:
  selector: {matchLabels: {app: ds}}
  template:
    metadata: {labels: {app: ds}}
    spec:
      containers: [{name: app, image: app:v1, imagePullPolicy: Never}]
status: {numberReady: 4}
`,
		want: `
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: ds
  annotations: {deprecated.daemonset.template.generation: "1"}
spec:
  revisionHistoryLimit: 10
  updateStrategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 0, maxUnavailable: 1}
  selector: {matchLabels: {app: ds}}
  template:
    metadata: {labels: {app: ds}}
    spec:
      containers:
      - name: app
        image: app:v1
        imagePullPolicy: Never
        resources: {}
        terminationMessagePath: /dev/termination-log
        terminationMessagePolicy: File` + podSpecDefaults(6) + `
`,
	},
	{
		name: "endpoint slice: deprecatedTopology dropped",
		in: `
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: es}
addressType: IPv4
endpoints: [{addresses: [10.0.0.1], deprecatedTopology: {kubernetes.io/hostname: n1}}]
`,
		want: `
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: es}
addressType: IPv4
endpoints: [{addresses: [10.0.0.1]}]
`,
	},
	{
		name: "lease: coordinated leader election fields dropped",
		in: `
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: l}
spec: {holderIdentity: me, strategy: OldestEmulationVersion, preferredHolder: you}
`,
		want: `
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: l}
spec: {holderIdentity: me}
`,
	},
}

func TestPrepareForCreate(t *testing.T) {
	for _, tc := range prepareCases {
		t.Run(tc.name, func(t *testing.T) {
			obj := decode(t, tc.in)
			Default(obj)
			PrepareForCreateAt(obj, createTime)
			if got, want := encode(t, obj), canonical(t, tc.want); got != want {
				t.Errorf("PrepareForCreateAt(%s):\ngot:\n%s\nwant:\n%s", tc.name, got, want)
			}
		})
	}
}

func TestPodQOSClass(t *testing.T) {
	tests := []struct {
		name string
		pod  string
		want corev1.PodQOSClass
	}{
		{"no resources", `{containers: [{name: a}]}`, corev1.PodQOSBestEffort},
		{"only other resources", `{containers: [{name: a, resources: {limits: {ephemeral-storage: 1Gi}}}]}`, corev1.PodQOSBestEffort},
		{"limits only, requests follow", `{containers: [{name: a, resources: {limits: {cpu: "1", memory: 1Gi}}}]}`, corev1.PodQOSGuaranteed},
		{"cpu only", `{containers: [{name: a, resources: {limits: {cpu: "1"}}}]}`, corev1.PodQOSBurstable},
		{"requests below limits", `{containers: [{name: a, resources: {requests: {cpu: 500m, memory: 1Gi}, limits: {cpu: "1", memory: 1Gi}}}]}`, corev1.PodQOSBurstable},
		{"one guaranteed, one best effort", `{containers: [{name: a, resources: {limits: {cpu: "1", memory: 1Gi}}}, {name: b}]}`, corev1.PodQOSBurstable},
		{"init container counts", `{initContainers: [{name: i}], containers: [{name: a, resources: {limits: {cpu: "1", memory: 1Gi}}}]}`, corev1.PodQOSBurstable},
		{"pod-level resources decide", `{resources: {limits: {cpu: "1", memory: 1Gi}}, containers: [{name: a}]}`, corev1.PodQOSGuaranteed},
		{"pod-level requests only", `{resources: {requests: {cpu: "1"}}, containers: [{name: a, resources: {limits: {cpu: "1", memory: 1Gi}}}]}`, corev1.PodQOSBurstable},
	}
	for _, tt := range tests {
		obj := decode(t, "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: "+tt.pod)
		PrepareForCreateAt(obj, createTime)
		if got := obj.(*corev1.Pod).Status.QOSClass; got != tt.want {
			t.Errorf("qosClass of %s (%s) = %s; want %s", tt.name, tt.pod, got, tt.want)
		}
	}
}

// TestPrepareForCreateKeepsClientQOSClass pins an upstream quirk: the strategy reads the
// QoS class before it resets the status, so a class in the request survives.
func TestPrepareForCreateKeepsClientQOSClass(t *testing.T) {
	pod := &corev1.Pod{
		Spec:   corev1.PodSpec{Containers: []corev1.Container{{Name: "a"}}},
		Status: corev1.PodStatus{QOSClass: corev1.PodQOSGuaranteed, Phase: corev1.PodRunning},
	}
	PrepareForCreateAt(pod, createTime)
	if got, want := pod.Status, (corev1.PodStatus{QOSClass: corev1.PodQOSGuaranteed, Phase: corev1.PodPending}); got.QOSClass != want.QOSClass || got.Phase != want.Phase {
		t.Errorf("status after PrepareForCreate = %+v; want %+v", got, want)
	}
}

func TestPodLevelResourceDefaults(t *testing.T) {
	obj := decode(t, `
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  resources:
    limits: {cpu: "2", memory: 2Gi, hugepages-2Mi: 100Mi}
  initContainers:
  - {name: sidecar, restartPolicy: Always, resources: {requests: {cpu: 100m}}}
  - {name: setup, resources: {requests: {cpu: "1", memory: 64Mi}}}
  containers:
  - {name: a, resources: {requests: {cpu: 200m}, limits: {hugepages-2Mi: 10Mi}}}
  - {name: b, resources: {requests: {cpu: 300m}}}
`)
	Default(obj)
	res := obj.(*corev1.Pod).Spec.Resources
	// cpu: max(200m+300m+100m sidecar, 1 setup + 100m sidecar) = 1100m; memory: only the
	// init container asks, 64Mi; huge pages cannot be overcommitted, so the pod limit.
	for name, want := range map[corev1.ResourceName]string{"cpu": "1100m", "memory": "64Mi", "hugepages-2Mi": "100Mi"} {
		if got := res.Requests[name]; got.String() != want {
			t.Errorf("pod-level requests[%s] = %s; want %s", name, got.String(), want)
		}
	}
}

func TestPrepareForCreateJobLabels(t *testing.T) {
	const uid = "0f3a"
	tests := []struct {
		name         string
		job          batchv1.Job
		wantLabels   map[string]string
		wantSelector map[string]string
	}{
		{
			name: "template without labels",
			job:  batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "j", UID: uid}},
			wantLabels: map[string]string{
				"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": "j",
				"controller-uid": uid, "job-name": "j",
			},
			wantSelector: map[string]string{"batch.kubernetes.io/controller-uid": uid},
		},
		{
			name: "job with its own labels",
			job: batchv1.Job{
				ObjectMeta: metav1.ObjectMeta{Name: "j", UID: uid, Labels: map[string]string{"team": "a"}},
				Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "j"}},
				}},
			},
			wantLabels:   map[string]string{"team": "a"},
			wantSelector: map[string]string{"batch.kubernetes.io/controller-uid": uid},
		},
		{
			name: "manual selector",
			job: batchv1.Job{
				ObjectMeta: metav1.ObjectMeta{Name: "j", UID: uid},
				Spec: batchv1.JobSpec{
					ManualSelector: ptrTo(true),
					Selector:       &metav1.LabelSelector{MatchLabels: map[string]string{"app": "j"}},
					Template: corev1.PodTemplateSpec{
						ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "j"}},
					},
				},
			},
			wantLabels:   map[string]string{"app": "j"},
			wantSelector: map[string]string{"app": "j"},
		},
	}
	for _, tt := range tests {
		job := tt.job.DeepCopy()
		PrepareForCreateAt(job, createTime)
		if got := job.Labels; !equalStrings(got, tt.wantLabels) {
			t.Errorf("%s: labels = %v; want %v", tt.name, got, tt.wantLabels)
		}
		if got := job.Spec.Selector.MatchLabels; !equalStrings(got, tt.wantSelector) {
			t.Errorf("%s: selector = %v; want %v", tt.name, got, tt.wantSelector)
		}
	}
}

func equalStrings(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestPrepareForCreateDaemonSetGeneration(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "1"},
		{"0", "1"},
		{"4", "4"},
		{"x", "x"}, // not an integer: left for validation to refuse
	}
	for _, tt := range tests {
		ds := &appsv1.DaemonSet{}
		if tt.in != "" {
			ds.Annotations = map[string]string{appsv1.DeprecatedTemplateGeneration: tt.in}
		}
		PrepareForCreateAt(ds, createTime)
		if got := ds.Annotations[appsv1.DeprecatedTemplateGeneration]; got != tt.want {
			t.Errorf("template generation annotation for %q = %q; want %q", tt.in, got, tt.want)
		}
	}
}

// TestPrepareForCreateLeavesServerMetadata checks the fields the caller owns survive.
func TestPrepareForCreateLeavesServerMetadata(t *testing.T) {
	meta := metav1.ObjectMeta{
		Name:              "x",
		UID:               "uid-1",
		ResourceVersion:   "42",
		Generation:        3,
		CreationTimestamp: metav1.NewTime(time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)),
	}
	objs := []runtime.Object{
		&corev1.Pod{ObjectMeta: meta},
		&corev1.Namespace{ObjectMeta: meta},
		&appsv1.Deployment{ObjectMeta: meta},
		&appsv1.StatefulSet{ObjectMeta: meta},
		&appsv1.DaemonSet{ObjectMeta: meta},
		&batchv1.Job{ObjectMeta: meta},
		&batchv1.CronJob{ObjectMeta: meta},
		&corev1.PersistentVolume{ObjectMeta: meta},
	}
	for _, obj := range objs {
		PrepareForCreate(obj)
		got := obj.(metav1.ObjectMetaAccessor).GetObjectMeta()
		created := got.GetCreationTimestamp()
		if got.GetUID() != meta.UID || got.GetResourceVersion() != meta.ResourceVersion ||
			got.GetGeneration() != meta.Generation || !created.Equal(&meta.CreationTimestamp) {
			t.Errorf("PrepareForCreate(%T) metadata = uid %q rv %q gen %d created %v; want uid %q rv %q gen %d created %v",
				obj, got.GetUID(), got.GetResourceVersion(), got.GetGeneration(), got.GetCreationTimestamp(),
				meta.UID, meta.ResourceVersion, meta.Generation, meta.CreationTimestamp)
		}
	}
}

func TestPrepareForCreateNamespaceFromGenerateName(t *testing.T) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "tmp-"}}
	Default(ns) // no name yet: nothing to label
	if _, ok := ns.Labels[corev1.LabelMetadataName]; ok {
		t.Errorf("Default(namespace without name) labels = %v; want no %s", ns.Labels, corev1.LabelMetadataName)
	}
	ns.Name = "tmp-x7k2p" // the caller resolves generateName before PrepareForCreate
	PrepareForCreate(ns)
	if got, want := ns.Labels[corev1.LabelMetadataName], "tmp-x7k2p"; got != want {
		t.Errorf("PrepareForCreate(namespace) label %s = %q; want %q", corev1.LabelMetadataName, got, want)
	}
}
