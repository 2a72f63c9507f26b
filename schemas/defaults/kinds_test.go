package defaults

// containerDefaults is a defaulted container "app" running app:v1, at the indentation of a
// pod template inside a workload spec.
const containerDefaults = `
      containers:
      - name: app
        image: app:v1
        imagePullPolicy: IfNotPresent
        resources: {}
        terminationMessagePath: /dev/termination-log
        terminationMessagePolicy: File`

var workloadCases = []manifestCase{
	{
		name: "deployment",
		in: `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: app, image: app:v1}]
`,
		want: `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  revisionHistoryLimit: 10
  progressDeadlineSeconds: 600
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 25%, maxUnavailable: 25%}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:` + containerDefaults + podSpecDefaults(6) + `
`,
	},
	{
		name: "deployment: Recreate gets no rollingUpdate",
		in: `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  strategy: {type: Recreate}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: app, image: app:v1}]
`,
		want: `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  revisionHistoryLimit: 10
  progressDeadlineSeconds: 600
  strategy: {type: Recreate}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:` + containerDefaults + podSpecDefaults(6) + `
`,
	},
	{
		name: "replica set",
		in: `
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: app, image: app:v1}]
`,
		want: `
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:` + containerDefaults + podSpecDefaults(6) + `
`,
	},
	{
		name: "stateful set: strategy, retention policy, claim templates",
		in: `
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: app, image: app:v1}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
`,
		want: `
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  replicas: 1
  revisionHistoryLimit: 10
  serviceName: db
  podManagementPolicy: OrderedReady
  updateStrategy:
    type: RollingUpdate
    rollingUpdate: {partition: 0, maxUnavailable: 1}
  persistentVolumeClaimRetentionPolicy: {whenDeleted: Retain, whenScaled: Retain}
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:` + containerDefaults + podSpecDefaults(6) + `
  volumeClaimTemplates:
  - apiVersion: v1
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
		name: "stateful set: explicit RollingUpdate type gets no rollingUpdate block",
		in: `
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  updateStrategy: {type: RollingUpdate}
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: app, image: app:v1}]
`,
		want: `
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  replicas: 1
  revisionHistoryLimit: 10
  serviceName: ""
  podManagementPolicy: OrderedReady
  updateStrategy: {type: RollingUpdate}
  persistentVolumeClaimRetentionPolicy: {whenDeleted: Retain, whenScaled: Retain}
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:` + containerDefaults + podSpecDefaults(6) + `
`,
	},
	{
		name: "daemon set",
		in: `
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers: [{name: app, image: app:v1}]
`,
		want: `
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  revisionHistoryLimit: 10
  updateStrategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 0, maxUnavailable: 1}
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:` + containerDefaults + podSpecDefaults(6) + `
`,
	},
	{
		name: "job: counts, policies, labels inherited from the template",
		in: `
apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  template:
    metadata: {labels: {app: pi}}
    spec:
      restartPolicy: Never
      containers: [{name: app, image: app:v1}]
`,
		want: `
apiVersion: batch/v1
kind: Job
metadata:
  name: pi
  labels: {app: pi}
spec:
  parallelism: 1
  completions: 1
  backoffLimit: 6
  completionMode: NonIndexed
  suspend: false
  manualSelector: false
  podReplacementPolicy: TerminatingOrFailed
  template:
    metadata: {labels: {app: pi}}
    spec:` + containerDefaults + `
      dnsPolicy: ClusterFirst
      restartPolicy: Never
      schedulerName: default-scheduler
      securityContext: {}
      terminationGracePeriodSeconds: 30
`,
	},
	{
		name: "job: parallel, pod failure policy, backoff limit per index",
		in: `
apiVersion: batch/v1
kind: Job
metadata:
  name: idx
  labels: {team: a}
spec:
  parallelism: 3
  completionMode: Indexed
  completions: 5
  backoffLimitPerIndex: 1
  podFailurePolicy:
    rules:
    - action: Ignore
      onPodConditions: [{type: DisruptionTarget}]
  template:
    metadata: {labels: {app: idx}}
    spec:
      restartPolicy: Never
      containers: [{name: app, image: app:v1}]
`,
		want: `
apiVersion: batch/v1
kind: Job
metadata:
  name: idx
  labels: {team: a}
spec:
  parallelism: 3
  completions: 5
  completionMode: Indexed
  backoffLimit: 2147483647
  backoffLimitPerIndex: 1
  suspend: false
  manualSelector: false
  podReplacementPolicy: Failed
  podFailurePolicy:
    rules:
    - action: Ignore
      onPodConditions: [{type: DisruptionTarget, status: "True"}]
  template:
    metadata: {labels: {app: idx}}
    spec:` + containerDefaults + `
      dnsPolicy: ClusterFirst
      restartPolicy: Never
      schedulerName: default-scheduler
      securityContext: {}
      terminationGracePeriodSeconds: 30
`,
	},
	{
		name: "cron job: only nested defaults inside the job template",
		in: `
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{name: app, image: app:v1}]
`,
		want: `
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  schedule: "0 3 * * *"
  concurrencyPolicy: Allow
  suspend: false
  successfulJobsHistoryLimit: 3
  failedJobsHistoryLimit: 1
  jobTemplate:
    spec:
      template:
        spec:
          containers:
          - name: app
            image: app:v1
            imagePullPolicy: IfNotPresent
            resources: {}
            terminationMessagePath: /dev/termination-log
            terminationMessagePolicy: File
          dnsPolicy: ClusterFirst
          restartPolicy: OnFailure
          schedulerName: default-scheduler
          securityContext: {}
          terminationGracePeriodSeconds: 30
`,
	},
	{
		name: "hpa v2: min replicas and the CPU metric",
		in: `
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  maxReplicas: 5
`,
		want: `
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 1
  maxReplicas: 5
  metrics:
  - type: Resource
    resource:
      name: cpu
      target: {type: Utilization, averageUtilization: 80}
`,
	},
	{
		name: "hpa v2: a partial behavior is completed",
		in: `
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 2
  maxReplicas: 5
  metrics:
  - type: Resource
    resource:
      name: memory
      target: {type: AverageValue, averageValue: 100Mi}
  behavior:
    scaleDown:
      stabilizationWindowSeconds: 60
`,
		want: `
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 2
  maxReplicas: 5
  metrics:
  - type: Resource
    resource:
      name: memory
      target: {type: AverageValue, averageValue: 100Mi}
  behavior:
    scaleUp:
      stabilizationWindowSeconds: 0
      selectPolicy: Max
      policies:
      - {type: Pods, value: 4, periodSeconds: 15}
      - {type: Percent, value: 100, periodSeconds: 15}
    scaleDown:
      stabilizationWindowSeconds: 60
      selectPolicy: Max
      policies:
      - {type: Percent, value: 100, periodSeconds: 15}
`,
	},
	{
		name: "hpa v1: min replicas and the 80% CPU target conversion supplies",
		in: `
apiVersion: autoscaling/v1
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  maxReplicas: 5
`,
		want: `
apiVersion: autoscaling/v1
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 1
  maxReplicas: 5
  targetCPUUtilizationPercentage: 80
`,
	},
}

var otherCases = []manifestCase{
	{
		name: "endpoint slice: port name and protocol",
		in: `
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-abc}
addressType: IPv4
endpoints: [{addresses: [10.0.0.1]}]
ports: [{port: 80}]
`,
		want: `
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-abc}
addressType: IPv4
endpoints: [{addresses: [10.0.0.1]}]
ports: [{name: "", port: 80, protocol: TCP}]
`,
	},
	{
		name: "network policy: ingress only",
		in: `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: np}
spec:
  podSelector: {}
  ingress:
  - ports: [{port: 80}]
`,
		want: `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: np}
spec:
  podSelector: {}
  ingress:
  - ports: [{port: 80, protocol: TCP}]
  policyTypes: [Ingress]
`,
	},
	{
		name: "network policy: egress rules add Egress",
		in: `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: np}
spec:
  podSelector: {}
  egress:
  - ports: [{port: 53, protocol: UDP}]
`,
		want: `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: np}
spec:
  podSelector: {}
  egress:
  - ports: [{port: 53, protocol: UDP}]
  policyTypes: [Ingress, Egress]
`,
	},
	{
		name: "ingress class: parameters scope",
		in: `
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: nginx}
spec:
  controller: k8s.io/ingress-nginx
  parameters: {apiGroup: k8s.example.com, kind: Params, name: p}
`,
		want: `
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: nginx}
spec:
  controller: k8s.io/ingress-nginx
  parameters: {apiGroup: k8s.example.com, kind: Params, name: p, scope: Cluster}
`,
	},
	{
		name: "role binding: role ref and subject API groups",
		in: `
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: rb}
roleRef: {kind: Role, name: reader}
subjects:
- {kind: User, name: alice}
- {kind: Group, name: devs}
- {kind: ServiceAccount, name: bot, namespace: ci}
`,
		want: `
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: rb}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: alice}
- {apiGroup: rbac.authorization.k8s.io, kind: Group, name: devs}
- {kind: ServiceAccount, name: bot, namespace: ci}
`,
	},
	{
		name: "cluster role binding",
		in: `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: crb}
roleRef: {kind: ClusterRole, name: admin}
subjects: [{kind: User, name: alice}]
`,
		want: `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: crb}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: admin}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: alice}]
`,
	},
	{
		name: "storage class",
		in: `
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: fast}
provisioner: example.com/csi
`,
		want: `
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: fast}
provisioner: example.com/csi
reclaimPolicy: Delete
volumeBindingMode: Immediate
`,
	},
	{
		name: "CSI driver",
		in: `
apiVersion: storage.k8s.io/v1
kind: CSIDriver
metadata: {name: example.com}
spec: {}
`,
		want: `
apiVersion: storage.k8s.io/v1
kind: CSIDriver
metadata: {name: example.com}
spec:
  attachRequired: true
  podInfoOnMount: false
  storageCapacity: false
  fsGroupPolicy: ReadWriteOnceWithFSType
  volumeLifecycleModes: [Persistent]
  requiresRepublish: false
  seLinuxMount: false
`,
	},
	{
		name: "volume attachment: inline volume spec",
		in: `
apiVersion: storage.k8s.io/v1
kind: VolumeAttachment
metadata: {name: va}
spec:
  attacher: example.com
  nodeName: n1
  source:
    inlineVolumeSpec:
      capacity: {storage: 1Gi}
      iscsi: {targetPortal: "10.0.0.1:3260", iqn: iqn.2001-04.com.example:storage, lun: 0}
`,
		want: `
apiVersion: storage.k8s.io/v1
kind: VolumeAttachment
metadata: {name: va}
spec:
  attacher: example.com
  nodeName: n1
  source:
    inlineVolumeSpec:
      capacity: {storage: 1Gi}
      iscsi: {targetPortal: "10.0.0.1:3260", iqn: iqn.2001-04.com.example:storage, lun: 0, iscsiInterface: default}
`,
	},
	{
		name: "priority class",
		in: `
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: high}
value: 1000
`,
		want: `
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: high}
value: 1000
preemptionPolicy: PreemptLowerPriority
`,
	},
	{
		name: "pod list: every item",
		in: `
apiVersion: v1
kind: PodList
items:
- metadata: {name: a}
  spec:
    containers: [{name: app, image: app:v1}]
`,
		want: `
apiVersion: v1
kind: PodList
items:
- metadata: {name: a}
  spec:
    containers:
    - name: app
      image: app:v1
      imagePullPolicy: IfNotPresent
      resources: {}
      terminationMessagePath: /dev/termination-log
      terminationMessagePolicy: File
    enableServiceLinks: true` + podSpecDefaults(4) + `
  status: {}
`,
	},
}
