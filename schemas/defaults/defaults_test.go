package defaults

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// podSpecDefaults is the tail every defaulted pod spec (Pod or template) carries, as YAML
// lines indented by n spaces, each starting on a new line.
func podSpecDefaults(n int) string {
	pad := strings.Repeat(" ", n)
	var b strings.Builder
	for _, line := range []string{
		"dnsPolicy: ClusterFirst",
		"restartPolicy: Always",
		"schedulerName: default-scheduler",
		"securityContext: {}",
		"terminationGracePeriodSeconds: 30",
	} {
		b.WriteString("\n" + pad + line)
	}
	return b.String()
}

var coreCases = []manifestCase{
	{
		name: "pod: spec, container, probe, env and volume defaults",
		in: `
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
  - name: app
    image: nginx
    ports: [{containerPort: 80}]
    resources:
      limits: {cpu: 500m, memory: 128Mi}
    livenessProbe:
      httpGet: {port: 80}
    readinessProbe:
      grpc: {port: 9000}
    lifecycle:
      preStop:
        httpGet: {port: 80, path: /quit}
    env:
    - name: NODE
      valueFrom:
        fieldRef: {fieldPath: spec.nodeName}
  volumes:
  - name: cfg
    configMap: {name: cfg}
  - name: creds
    secret: {secretName: creds}
  - name: info
    downwardAPI:
      items: [{path: labels, fieldRef: {fieldPath: metadata.labels}}]
  - name: scratch
  - name: host
    hostPath: {path: /var/log}
  - name: token
    projected:
      sources:
      - serviceAccountToken: {path: token}
      - downwardAPI:
          items: [{path: ns, fieldRef: {fieldPath: metadata.namespace}}]
  - name: data
    ephemeral:
      volumeClaimTemplate:
        spec:
          accessModes: [ReadWriteOnce]
          resources: {requests: {storage: 1Gi}}
`,
		want: `
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
  - name: app
    image: nginx
    imagePullPolicy: Always
    ports: [{containerPort: 80, protocol: TCP}]
    resources:
      limits: {cpu: 500m, memory: 128Mi}
      requests: {cpu: 500m, memory: 128Mi}
    livenessProbe:
      httpGet: {port: 80, path: /, scheme: HTTP}
      timeoutSeconds: 1
      periodSeconds: 10
      successThreshold: 1
      failureThreshold: 3
    readinessProbe:
      grpc: {port: 9000, service: ""}
      timeoutSeconds: 1
      periodSeconds: 10
      successThreshold: 1
      failureThreshold: 3
    lifecycle:
      preStop:
        httpGet: {port: 80, path: /quit, scheme: HTTP}
    env:
    - name: NODE
      valueFrom:
        fieldRef: {apiVersion: v1, fieldPath: spec.nodeName}
    terminationMessagePath: /dev/termination-log
    terminationMessagePolicy: File
  volumes:
  - name: cfg
    configMap: {name: cfg, defaultMode: 420}
  - name: creds
    secret: {secretName: creds, defaultMode: 420}
  - name: info
    downwardAPI:
      defaultMode: 420
      items: [{path: labels, fieldRef: {apiVersion: v1, fieldPath: metadata.labels}}]
  - name: scratch
    emptyDir: {}
  - name: host
    hostPath: {path: /var/log, type: ""}
  - name: token
    projected:
      defaultMode: 420
      sources:
      - serviceAccountToken: {path: token, expirationSeconds: 3600}
      - downwardAPI:
          items: [{path: ns, fieldRef: {apiVersion: v1, fieldPath: metadata.namespace}}]
  - name: data
    ephemeral:
      volumeClaimTemplate:
        spec:
          accessModes: [ReadWriteOnce]
          resources: {requests: {storage: 1Gi}}
          volumeMode: Filesystem
  enableServiceLinks: true` + podSpecDefaults(2) + `
`,
	},
	{
		name: "pod: host network ports, init containers, serviceAccount alias, quantity rounding",
		in: `
apiVersion: v1
kind: Pod
metadata: {name: net}
spec:
  hostNetwork: true
  serviceAccount: builder
  initContainers:
  - name: init
    image: busybox:1.36
    ports: [{containerPort: 53, protocol: UDP}]
    resources:
      requests: {cpu: "0.0001"}
  containers:
  - name: app
    image: registry.example.com:5000/team/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
    ports: [{containerPort: 8080}]
`,
		want: `
apiVersion: v1
kind: Pod
metadata: {name: net}
spec:
  hostNetwork: true
  serviceAccount: builder
  serviceAccountName: builder
  initContainers:
  - name: init
    image: busybox:1.36
    imagePullPolicy: IfNotPresent
    ports: [{containerPort: 53, hostPort: 53, protocol: UDP}]
    resources:
      requests: {cpu: 1m}
    terminationMessagePath: /dev/termination-log
    terminationMessagePolicy: File
  containers:
  - name: app
    image: registry.example.com:5000/team/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
    imagePullPolicy: IfNotPresent
    ports: [{containerPort: 8080, hostPort: 8080, protocol: TCP}]
    resources: {}
    terminationMessagePath: /dev/termination-log
    terminationMessagePolicy: File
  enableServiceLinks: true` + podSpecDefaults(2) + `
`,
	},
	{
		name: "pod template: no Pod-only defaults",
		in: `
apiVersion: v1
kind: PodTemplate
metadata: {name: tmpl}
template:
  spec:
    hostNetwork: true
    containers:
    - name: app
      image: app:latest
      ports: [{containerPort: 80}]
      resources:
        limits: {cpu: "1"}
`,
		want: `
apiVersion: v1
kind: PodTemplate
metadata: {name: tmpl}
template:
  spec:
    hostNetwork: true
    containers:
    - name: app
      image: app:latest
      imagePullPolicy: Always
      ports: [{containerPort: 80, protocol: TCP}]
      resources:
        limits: {cpu: "1"}
      terminationMessagePath: /dev/termination-log
      terminationMessagePolicy: File` + podSpecDefaults(4) + `
`,
	},
	{
		name: "replication controller: selector and labels from the template",
		in: `
apiVersion: v1
kind: ReplicationController
metadata: {name: rc}
spec:
  template:
    metadata:
      labels: {app: rc}
    spec:
      containers: [{name: app, image: app:v1}]
`,
		want: `
apiVersion: v1
kind: ReplicationController
metadata:
  name: rc
  labels: {app: rc}
spec:
  replicas: 1
  selector: {app: rc}
  template:
    metadata:
      labels: {app: rc}
    spec:
      containers:
      - name: app
        image: app:v1
        imagePullPolicy: IfNotPresent
        resources: {}
        terminationMessagePath: /dev/termination-log
        terminationMessagePolicy: File` + podSpecDefaults(6) + `
`,
	},
	{
		name: "service: ClusterIP",
		in: `
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports:
  - port: 80
  - name: metrics
    port: 9090
    targetPort: http-metrics
`,
		want: `
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports:
  - port: 80
    protocol: TCP
    targetPort: 80
  - name: metrics
    port: 9090
    protocol: TCP
    targetPort: http-metrics
  type: ClusterIP
  sessionAffinity: None
  internalTrafficPolicy: Cluster
`,
	},
	{
		name: "service: LoadBalancer with ClientIP affinity and an ingress IP",
		in: `
apiVersion: v1
kind: Service
metadata: {name: lb}
spec:
  type: LoadBalancer
  sessionAffinity: ClientIP
  ports: [{port: 443, protocol: UDP}]
status:
  loadBalancer:
    ingress: [{ip: 192.0.2.10}, {hostname: lb.example.com}]
`,
		want: `
apiVersion: v1
kind: Service
metadata: {name: lb}
spec:
  type: LoadBalancer
  sessionAffinity: ClientIP
  sessionAffinityConfig:
    clientIP: {timeoutSeconds: 10800}
  ports: [{port: 443, protocol: UDP, targetPort: 443}]
  externalTrafficPolicy: Cluster
  internalTrafficPolicy: Cluster
  allocateLoadBalancerNodePorts: true
status:
  loadBalancer:
    ingress: [{ip: 192.0.2.10, ipMode: VIP}, {hostname: lb.example.com}]
`,
	},
	{
		name: "service: ClusterIP with external IPs gets externalTrafficPolicy; ExternalName gets no traffic policies",
		in: `
apiVersion: v1
kind: ServiceList
items:
- metadata: {name: ext}
  spec:
    externalIPs: [198.51.100.7]
    ports: [{port: 80}]
- metadata: {name: alias}
  spec:
    type: ExternalName
    externalName: db.example.com
    sessionAffinity: None
    sessionAffinityConfig:
      clientIP: {timeoutSeconds: 5}
`,
		want: `
apiVersion: v1
kind: ServiceList
items:
- metadata: {name: ext}
  spec:
    externalIPs: [198.51.100.7]
    ports: [{port: 80, protocol: TCP, targetPort: 80}]
    type: ClusterIP
    sessionAffinity: None
    externalTrafficPolicy: Cluster
    internalTrafficPolicy: Cluster
- metadata: {name: alias}
  spec:
    type: ExternalName
    externalName: db.example.com
    sessionAffinity: None
`,
	},
	{
		name: "endpoints: port protocol",
		in: `
apiVersion: v1
kind: Endpoints
metadata: {name: web}
subsets:
- addresses: [{ip: 10.0.0.1}]
  ports: [{port: 80}, {port: 53, protocol: UDP}]
`,
		want: `
apiVersion: v1
kind: Endpoints
metadata: {name: web}
subsets:
- addresses: [{ip: 10.0.0.1}]
  ports: [{port: 80, protocol: TCP}, {port: 53, protocol: UDP}]
`,
	},
	{
		name: "namespace: name label and phase",
		in: `
apiVersion: v1
kind: Namespace
metadata: {name: team-a}
`,
		want: `
apiVersion: v1
kind: Namespace
metadata:
  name: team-a
  labels: {kubernetes.io/metadata.name: team-a}
status: {phase: Active}
`,
	},
	{
		name: "node: allocatable from capacity, podCIDRs from podCIDR",
		in: `
apiVersion: v1
kind: Node
metadata: {name: n1}
spec: {podCIDR: 10.244.1.0/24}
status:
  capacity: {cpu: "4", memory: 8Gi, pods: "110"}
`,
		want: `
apiVersion: v1
kind: Node
metadata: {name: n1}
spec:
  podCIDR: 10.244.1.0/24
  podCIDRs: [10.244.1.0/24]
status:
  capacity: {cpu: "4", memory: 8Gi, pods: "110"}
  allocatable: {cpu: "4", memory: 8Gi, pods: "110"}
`,
	},
	{
		name: "secret: type Opaque, stringData folded into data",
		in: `
apiVersion: v1
kind: Secret
metadata: {name: s}
data: {user: YWRtaW4=, pass: b2xk}
stringData: {pass: new}
`,
		want: `
apiVersion: v1
kind: Secret
metadata: {name: s}
type: Opaque
data: {user: YWRtaW4=, pass: bmV3}
`,
	},
	{
		name: "persistent volume: phase, reclaim policy, volume mode, hostPath type",
		in: `
apiVersion: v1
kind: PersistentVolume
metadata: {name: pv1}
spec:
  capacity: {storage: 10Gi}
  accessModes: [ReadWriteOnce]
  hostPath: {path: /data}
`,
		want: `
apiVersion: v1
kind: PersistentVolume
metadata: {name: pv1}
spec:
  capacity: {storage: 10Gi}
  accessModes: [ReadWriteOnce]
  hostPath: {path: /data, type: ""}
  persistentVolumeReclaimPolicy: Retain
  volumeMode: Filesystem
status: {phase: Pending}
`,
	},
	{
		name: "persistent volume claim: phase and volume mode",
		in: `
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
`,
		want: `
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
  volumeMode: Filesystem
status: {phase: Pending}
`,
	},
	{
		name: "limit range: container defaults from max, default and min",
		in: `
apiVersion: v1
kind: LimitRange
metadata: {name: lr}
spec:
  limits:
  - type: Container
    max: {cpu: "2", memory: 1Gi}
    min: {cpu: 100m, ephemeral-storage: 1Gi}
    default: {memory: 512Mi}
  - type: Pod
    max: {cpu: "4"}
`,
		want: `
apiVersion: v1
kind: LimitRange
metadata: {name: lr}
spec:
  limits:
  - type: Container
    max: {cpu: "2", memory: 1Gi}
    min: {cpu: 100m, ephemeral-storage: 1Gi}
    default: {cpu: "2", memory: 512Mi}
    defaultRequest: {cpu: "2", memory: 512Mi, ephemeral-storage: 1Gi}
  - type: Pod
    max: {cpu: "4"}
`,
	},
	{
		name: "config map: nothing visible",
		in: `
apiVersion: v1
kind: ConfigMap
metadata: {name: cm}
`,
		want: `
apiVersion: v1
kind: ConfigMap
metadata: {name: cm}
`,
	},
	{
		name: "resource quota: quantities rounded",
		in: `
apiVersion: v1
kind: ResourceQuota
metadata: {name: rq}
spec: {hard: {pods: "10", requests.cpu: "0.0001"}}
`,
		want: `
apiVersion: v1
kind: ResourceQuota
metadata: {name: rq}
spec: {hard: {pods: "10", requests.cpu: 1m}}
status: {}
`,
	},
}

func TestDefault(t *testing.T) {
	var cases []manifestCase
	cases = append(cases, coreCases...)
	cases = append(cases, workloadCases...)
	cases = append(cases, otherCases...)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obj := decode(t, tc.in)
			Default(obj)
			if got, want := encode(t, obj), canonical(t, tc.want); got != want {
				t.Errorf("Default(%s):\ngot:\n%s\nwant:\n%s", tc.name, got, want)
			}
			// Upstream defaults on every decode, so defaulting twice must change nothing.
			Default(obj)
			if got, want := encode(t, obj), canonical(t, tc.want); got != want {
				t.Errorf("Default twice (%s):\ngot:\n%s\nwant:\n%s", tc.name, got, want)
			}
		})
	}
}

// TestDefaultKeepsSetFields feeds Default objects whose every defaulted field is already set,
// mostly to a non-default value, and expects them back unchanged.
func TestDefaultKeepsSetFields(t *testing.T) {
	for _, tc := range keepCases {
		t.Run(tc.name, func(t *testing.T) {
			obj := decode(t, tc.in)
			before := encode(t, obj)
			Default(obj)
			if got := encode(t, obj); got != before {
				t.Errorf("Default(%s) changed a set field:\ngot:\n%s\nwant:\n%s", tc.name, got, before)
			}
		})
	}
}

func TestDefaultUnknownKindUntouched(t *testing.T) {
	obj := &metav1.Status{Message: "keep"}
	Default(obj)
	PrepareForCreate(obj)
	if got, want := obj.Message, "keep"; got != want {
		t.Errorf("Default(*metav1.Status).Message = %q; want %q", got, want)
	}
	Default(nil) // must not panic
}

func TestDefaultRoundsQuantities(t *testing.T) {
	pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{
		Name: "c",
		Resources: corev1.ResourceRequirements{
			Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1.0005")},
		},
	}}}}
	Default(pod)
	r := pod.Spec.Containers[0].Resources
	for _, list := range []corev1.ResourceList{r.Limits, r.Requests} {
		if got, want := list.Cpu().String(), "1001m"; got != want {
			t.Errorf("defaulted cpu 1.0005 = %s; want %s", got, want)
		}
	}
}

func TestImagePullPolicy(t *testing.T) {
	digest := "sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct {
		image string
		want  corev1.PullPolicy
	}{
		{"nginx", corev1.PullAlways},
		{"nginx:latest", corev1.PullAlways},
		{"nginx:1.27", corev1.PullIfNotPresent},
		{"docker.io/library/nginx", corev1.PullAlways},
		{"localhost:5000/app", corev1.PullAlways},
		{"localhost:5000/app:v2", corev1.PullIfNotPresent},
		{"registry.example.com/team/app:latest", corev1.PullAlways},
		{"nginx@" + digest, corev1.PullIfNotPresent},
		{"nginx:latest@" + digest, corev1.PullAlways},
		{"nginx:1.27@" + digest, corev1.PullIfNotPresent},
		{"[::1]:5000/app", corev1.PullAlways},
		// References that do not parse read as having no tag.
		{"", corev1.PullIfNotPresent},
		{"Nginx", corev1.PullIfNotPresent},
		{"nginx@sha256:abc", corev1.PullIfNotPresent},
		{"nginx@md5:0123456789abcdef0123456789abcdef", corev1.PullIfNotPresent},
		{"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", corev1.PullIfNotPresent},
		{"nginx:-bad", corev1.PullIfNotPresent},
	}
	for _, tt := range tests {
		if got := pullPolicyFor(tt.image); got != tt.want {
			t.Errorf("pullPolicyFor(%q) = %s; want %s", tt.image, got, tt.want)
		}
	}
}
