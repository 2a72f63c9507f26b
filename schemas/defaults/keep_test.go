package defaults

// keepCases are objects in which every field Default would fill is already set, mostly to
// something other than its default. Default must hand each back unchanged.
var keepCases = []manifestCase{
	{
		name: "pod",
		in: `
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  dnsPolicy: Default
  restartPolicy: OnFailure
  schedulerName: custom
  securityContext: {runAsUser: 1000}
  terminationGracePeriodSeconds: 5
  enableServiceLinks: false
  serviceAccount: builder
  serviceAccountName: builder
  hostNetwork: true
  containers:
  - name: app
    image: app:latest
    imagePullPolicy: Never
    terminationMessagePath: /tmp/done
    terminationMessagePolicy: FallbackToLogsOnError
    ports: [{containerPort: 80, hostPort: 8080, protocol: SCTP}]
    resources:
      limits: {cpu: "1"}
      requests: {cpu: 500m}
    livenessProbe:
      httpGet: {port: 80, path: /healthz, scheme: HTTPS}
      timeoutSeconds: 5
      periodSeconds: 20
      successThreshold: 1
      failureThreshold: 7
    startupProbe:
      grpc: {port: 9000, service: health}
      timeoutSeconds: 2
      periodSeconds: 3
      successThreshold: 1
      failureThreshold: 30
    env:
    - name: V
      valueFrom:
        fieldRef: {apiVersion: v2, fieldPath: metadata.name}
  volumes:
  - name: cfg
    configMap: {name: cfg, defaultMode: 256}
  - name: creds
    secret: {secretName: creds, defaultMode: 384}
  - name: info
    downwardAPI: {defaultMode: 292}
  - name: host
    hostPath: {path: /dev, type: Directory}
  - name: token
    projected:
      defaultMode: 256
      sources: [{serviceAccountToken: {path: t, expirationSeconds: 600}}]
  - name: mem
    emptyDir: {medium: Memory}
`,
	},
	{
		name: "service",
		in: `
apiVersion: v1
kind: Service
metadata: {name: np}
spec:
  type: NodePort
  sessionAffinity: ClientIP
  sessionAffinityConfig: {clientIP: {timeoutSeconds: 60}}
  externalTrafficPolicy: Local
  internalTrafficPolicy: Local
  ports: [{port: 80, protocol: UDP, targetPort: 8080}]
`,
	},
	{
		name: "load balancer service",
		in: `
apiVersion: v1
kind: Service
metadata: {name: lb}
spec:
  type: LoadBalancer
  sessionAffinity: None
  externalTrafficPolicy: Local
  internalTrafficPolicy: Cluster
  allocateLoadBalancerNodePorts: false
  ports: [{port: 80, protocol: TCP, targetPort: web}]
status:
  loadBalancer:
    ingress: [{ip: 192.0.2.1, ipMode: Proxy}]
`,
	},
	{
		name: "secret",
		in: `
apiVersion: v1
kind: Secret
metadata: {name: tls}
type: kubernetes.io/tls
data: {tls.crt: Y3J0, tls.key: a2V5}
`,
	},
	{
		name: "persistent volume",
		in: `
apiVersion: v1
kind: PersistentVolume
metadata: {name: pv}
spec:
  capacity: {storage: 1Gi}
  persistentVolumeReclaimPolicy: Delete
  volumeMode: Block
  local: {path: /mnt/disk}
status: {phase: Bound}
`,
	},
	{
		name: "persistent volume claim",
		in: `
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: c}
spec:
  volumeMode: Block
  resources: {requests: {storage: 1Gi}}
status: {phase: Bound}
`,
	},
	{
		name: "namespace",
		in: `
apiVersion: v1
kind: Namespace
metadata:
  name: ns
  labels: {kubernetes.io/metadata.name: ns, team: a}
status: {phase: Terminating}
`,
	},
	{
		name: "replication controller",
		in: `
apiVersion: v1
kind: ReplicationController
metadata:
  name: rc
  labels: {owner: me}
spec:
  replicas: 0
  selector: {app: rc, tier: web}
  template:
    metadata: {labels: {app: rc, tier: web}}
    spec:
      containers:
      - name: app
        image: app:v1
        imagePullPolicy: Always
        terminationMessagePath: /dev/termination-log
        terminationMessagePolicy: File
        resources: {}
      dnsPolicy: ClusterFirstWithHostNet
      restartPolicy: Always
      schedulerName: default-scheduler
      securityContext: {}
      terminationGracePeriodSeconds: 0
`,
	},
	{
		name: "deployment",
		in: `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 0
  revisionHistoryLimit: 0
  progressDeadlineSeconds: 60
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: app
        image: app:v1
        imagePullPolicy: Always
        terminationMessagePath: /dev/termination-log
        terminationMessagePolicy: File
        resources: {}
      dnsPolicy: ClusterFirst
      restartPolicy: Always
      schedulerName: default-scheduler
      securityContext: {}
      terminationGracePeriodSeconds: 30
`,
	},
	{
		name: "stateful set",
		in: `
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  replicas: 3
  revisionHistoryLimit: 2
  serviceName: db
  podManagementPolicy: Parallel
  updateStrategy:
    type: RollingUpdate
    rollingUpdate: {partition: 2, maxUnavailable: 2}
  persistentVolumeClaimRetentionPolicy: {whenDeleted: Delete, whenScaled: Delete}
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers:
      - name: app
        image: app:v1
        imagePullPolicy: IfNotPresent
        terminationMessagePath: /dev/termination-log
        terminationMessagePolicy: File
        resources: {}
      dnsPolicy: ClusterFirst
      restartPolicy: Always
      schedulerName: default-scheduler
      securityContext: {}
      terminationGracePeriodSeconds: 30
`,
	},
	{
		name: "daemon set",
		in: `
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  revisionHistoryLimit: 1
  updateStrategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 10%, maxUnavailable: 0}
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers:
      - name: app
        image: app:v1
        imagePullPolicy: IfNotPresent
        terminationMessagePath: /dev/termination-log
        terminationMessagePolicy: File
        resources: {}
      dnsPolicy: ClusterFirst
      restartPolicy: Always
      schedulerName: default-scheduler
      securityContext: {}
      terminationGracePeriodSeconds: 30
`,
	},
	{
		name: "job",
		in: `
apiVersion: batch/v1
kind: Job
metadata:
  name: j
  labels: {mine: "yes"}
spec:
  parallelism: 2
  completions: 4
  backoffLimit: 0
  completionMode: Indexed
  suspend: true
  manualSelector: true
  podReplacementPolicy: Failed
  selector: {matchLabels: {app: j}}
  template:
    metadata: {labels: {app: j}}
    spec:
      containers:
      - name: app
        image: app:v1
        imagePullPolicy: IfNotPresent
        terminationMessagePath: /dev/termination-log
        terminationMessagePolicy: File
        resources: {}
      dnsPolicy: ClusterFirst
      restartPolicy: Never
      schedulerName: default-scheduler
      securityContext: {}
      terminationGracePeriodSeconds: 30
`,
	},
	{
		name: "cron job",
		in: `
apiVersion: batch/v1
kind: CronJob
metadata: {name: cj}
spec:
  schedule: "@hourly"
  concurrencyPolicy: Forbid
  suspend: true
  successfulJobsHistoryLimit: 0
  failedJobsHistoryLimit: 0
  jobTemplate:
    spec:
      template:
        spec:
          containers:
          - name: app
            image: app:v1
            imagePullPolicy: IfNotPresent
            terminationMessagePath: /dev/termination-log
            terminationMessagePolicy: File
            resources: {}
          dnsPolicy: ClusterFirst
          restartPolicy: OnFailure
          schedulerName: default-scheduler
          securityContext: {}
          terminationGracePeriodSeconds: 30
`,
	},
	{
		name: "hpa v2",
		in: `
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 3
  maxReplicas: 9
  metrics:
  - type: Pods
    pods:
      metric: {name: qps}
      target: {type: AverageValue, averageValue: "10"}
  behavior:
    scaleUp:
      stabilizationWindowSeconds: 30
      selectPolicy: Min
      policies: [{type: Pods, value: 1, periodSeconds: 60}]
    scaleDown:
      stabilizationWindowSeconds: 600
      selectPolicy: Disabled
      policies: [{type: Pods, value: 1, periodSeconds: 60}]
`,
	},
	{
		name: "hpa v1",
		in: `
apiVersion: autoscaling/v1
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 2
  maxReplicas: 9
  targetCPUUtilizationPercentage: 50
`,
	},
	{
		name: "network policy",
		in: `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: np}
spec:
  podSelector: {}
  egress: [{ports: [{port: 53, protocol: UDP}]}]
  policyTypes: [Egress]
`,
	},
	{
		name: "storage class",
		in: `
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: slow}
provisioner: example.com/csi
reclaimPolicy: Retain
volumeBindingMode: WaitForFirstConsumer
`,
	},
	{
		name: "CSI driver",
		in: `
apiVersion: storage.k8s.io/v1
kind: CSIDriver
metadata: {name: example.com}
spec:
  attachRequired: false
  podInfoOnMount: true
  storageCapacity: true
  fsGroupPolicy: File
  volumeLifecycleModes: [Ephemeral]
  requiresRepublish: true
  seLinuxMount: true
`,
	},
	{
		name: "priority class",
		in: `
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: low}
value: -5
preemptionPolicy: Never
`,
	},
	{
		name: "role binding to a custom subject group",
		in: `
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: rb}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: r}
subjects: [{apiGroup: example.com, kind: User, name: alice}]
`,
	},
	{
		name: "endpoint slice",
		in: `
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: es}
addressType: IPv6
endpoints: null
ports: [{name: http, port: 80, protocol: UDP}]
`,
	},
}
