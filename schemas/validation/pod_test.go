package validation

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestPodCreate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*corev1.Pod)
		wants  []want
	}{
		{"valid", func(*corev1.Pod) {}, nil},
		{"no containers", func(p *corev1.Pod) { p.Spec.Containers = nil }, []want{required("spec.containers")}},
		{"container name required", func(p *corev1.Pod) { p.Spec.Containers[0].Name = "" }, []want{required("spec.containers[0].name")}},
		{"container name not a label", func(p *corev1.Pod) { p.Spec.Containers[0].Name = "App_1" },
			[]want{invalid("spec.containers[0].name").with("RFC 1123 label")}},
		{"duplicate container names", func(p *corev1.Pod) {
			p.Spec.Containers = append(p.Spec.Containers, container("app"))
		}, []want{duplicate("spec.containers[1].name")}},
		{"init container name clashes with container", func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{container("app")}
		}, []want{duplicate("spec.initContainers[0].name")}},
		{"image required", func(p *corev1.Pod) { p.Spec.Containers[0].Image = "" }, []want{required("spec.containers[0].image")}},
		{"image whitespace", func(p *corev1.Pod) { p.Spec.Containers[0].Image = " nginx" },
			[]want{invalid("spec.containers[0].image").with("must not have leading or trailing whitespace")}},
		{"imagePullPolicy", func(p *corev1.Pod) { p.Spec.Containers[0].ImagePullPolicy = "Sometimes" },
			[]want{notSupported("spec.containers[0].imagePullPolicy")}},
		{"terminationMessagePolicy required", func(p *corev1.Pod) { p.Spec.Containers[0].TerminationMessagePolicy = "" },
			[]want{required("spec.containers[0].terminationMessagePolicy")}},
		{"containerPort out of range", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = 70000 },
			[]want{invalid("spec.containers[0].ports[0].containerPort").with("between 1 and 65535")}},
		{"containerPort required", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = 0 },
			[]want{required("spec.containers[0].ports[0].containerPort")}},
		{"hostPort out of range", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].HostPort = -1 },
			[]want{invalid("spec.containers[0].ports[0].hostPort")}},
		{"protocol", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].Protocol = "ICMP" },
			[]want{notSupported("spec.containers[0].ports[0].protocol")}},
		{"duplicate port names", func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports, corev1.ContainerPort{Name: "http", ContainerPort: 9090, Protocol: corev1.ProtocolTCP})
		}, []want{duplicate("spec.containers[0].ports[1].name")}},
		{"port name too long", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].Name = "a-very-long-port-name" },
			[]want{invalid("spec.containers[0].ports[0].name")}},
		{"hostPort conflict across containers", func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports[0].HostPort = 80
			c := container("sidecar")
			c.Ports = []corev1.ContainerPort{{ContainerPort: 81, HostPort: 80, Protocol: corev1.ProtocolTCP}}
			p.Spec.Containers = append(p.Spec.Containers, c)
		}, []want{duplicate("spec.containers[1].ports[0].hostPort")}},
		{"hostNetwork hostPort must match", func(p *corev1.Pod) {
			p.Spec.HostNetwork = true
		}, []want{invalid("spec.containers[0].ports[0].hostPort").with("must match `containerPort`")}},
		{"env name required", func(p *corev1.Pod) { p.Spec.Containers[0].Env = []corev1.EnvVar{{Value: "x"}} },
			[]want{required("spec.containers[0].env[0].name")}},
		{"env name with '='", func(p *corev1.Pod) { p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "A=B"}} },
			[]want{invalid("spec.containers[0].env[0].name")}},
		{"env name relaxed", func(p *corev1.Pod) { p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "1 weird:name"}} }, nil},
		{"valueFrom with no source", func(p *corev1.Pod) {
			p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "A", ValueFrom: &corev1.EnvVarSource{}}}
		}, []want{invalid("spec.containers[0].env[0].valueFrom").with("must specify one of")}},
		{"valueFrom with two sources", func(p *corev1.Pod) {
			p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "A", ValueFrom: &corev1.EnvVarSource{
				FieldRef:        &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"},
				ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Key: "k"},
			}}}
		}, []want{invalid("spec.containers[0].env[0].valueFrom").with("may not have more than one field")}},
		{"valueFrom and value", func(p *corev1.Pod) {
			p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "A", Value: "x", ValueFrom: &corev1.EnvVarSource{
				SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "k"},
			}}}
		}, []want{invalid("spec.containers[0].env[0].valueFrom").with("may not be specified when `value` is not empty")}},
		{"fieldRef unsupported", func(p *corev1.Pod) {
			p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "A", ValueFrom: &corev1.EnvVarSource{
				FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "status.phase"},
			}}}
		}, []want{notSupported("spec.containers[0].env[0].valueFrom.fieldRef.fieldPath")}},
		{"fieldRef subscript", func(p *corev1.Pod) {
			p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "A", ValueFrom: &corev1.EnvVarSource{
				FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.labels['app']"},
			}}}
		}, nil},
		{"secretKeyRef key required", func(p *corev1.Pod) {
			p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "A", ValueFrom: &corev1.EnvVarSource{
				SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}},
			}}}
		}, []want{required("spec.containers[0].env[0].valueFrom.secretKeyRef.key")}},
		{"resourceFieldRef", func(p *corev1.Pod) {
			p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "A", ValueFrom: &corev1.EnvVarSource{
				ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.gpu"},
			}}}
		}, []want{notSupported("spec.containers[0].env[0].valueFrom.resourceFieldRef.resource")}},
		{"envFrom needs a source", func(p *corev1.Pod) { p.Spec.Containers[0].EnvFrom = []corev1.EnvFromSource{{Prefix: "P_"}} },
			[]want{invalid("spec.containers[0].envFrom").with("must specify one of: `configMapRef` or `secretRef`")}},
		{"volumeMount of undeclared volume", func(p *corev1.Pod) {
			p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
		}, []want{notFound("spec.containers[0].volumeMounts[0].name")}},
		{"volumeMount ok", func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
			p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data", SubPath: "x"}}
		}, nil},
		{"volumeMount path and subPath", func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
			p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{
				{Name: "data", MountPath: "/data", SubPath: "../etc"},
				{Name: "data", MountPath: "/data"},
				{Name: "data"},
			}
		}, []want{
			invalid("spec.containers[0].volumeMounts[0].subPath").with("must not contain '..'"),
			invalid("spec.containers[0].volumeMounts[1].mountPath").with("must be unique"),
			required("spec.containers[0].volumeMounts[2].mountPath"),
		}},
		{"bidirectional propagation needs privileged", func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
			p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data", MountPropagation: ptr(corev1.MountPropagationBidirectional)}}
		}, []want{forbidden("spec.containers[0].volumeMounts[0].mountPropagation")}},
		{"volume name required and unique", func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{
				{Name: "", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				{Name: "a", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				{Name: "a", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			}
		}, []want{required("spec.volumes[0].name"), duplicate("spec.volumes[2].name")}},
		{"volume without source", func(p *corev1.Pod) { p.Spec.Volumes = []corev1.Volume{{Name: "a"}} },
			[]want{required("spec.volumes[0]").with("must specify a volume type")}},
		{"volume with two sources", func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "a", VolumeSource: corev1.VolumeSource{
				EmptyDir: &corev1.EmptyDirVolumeSource{}, HostPath: &corev1.HostPathVolumeSource{Path: "/tmp"},
			}}}
		}, []want{forbidden("spec.volumes[0].hostPath").with("may not specify more than 1 volume type")}},
		{"volume sources checked", func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{
				{Name: "a", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{DefaultMode: ptr[int32](01000)}}},
				{Name: "b", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
					LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"},
					Items:                []corev1.KeyToPath{{Key: "k", Path: "/abs"}},
				}}},
				{Name: "c", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{}}},
				{Name: "d", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/x", Type: ptr(corev1.HostPathType("Weird"))}}},
				{Name: "e", VolumeSource: corev1.VolumeSource{NFS: &corev1.NFSVolumeSource{Server: "nfs", Path: "rel"}}},
			}
		}, []want{
			required("spec.volumes[0].secret.secretName"),
			invalid("spec.volumes[0].secret.defaultMode"),
			invalid("spec.volumes[1].configMap.items[0].path").with("must be a relative path"),
			required("spec.volumes[2].persistentVolumeClaim.claimName"),
			notSupported("spec.volumes[3].hostPath.type"),
			invalid("spec.volumes[4].nfs.path").with("must be an absolute path"),
		}},
		{"projected token needs serviceAccountName", func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "tok", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
				Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptr[int64](3600)}}},
			}}}}
		}, []want{forbidden("spec.volumes[0].projected.sources[0].serviceAccountToken")}},
		{"resources requests above limits", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources = corev1.ResourceRequirements{
				Limits:   corev1.ResourceList{corev1.ResourceCPU: qty("500m")},
				Requests: corev1.ResourceList{corev1.ResourceCPU: qty("1")},
			}
		}, []want{invalid("spec.containers[0].resources.requests").with("must be less than or equal to cpu limit of 500m")}},
		{"resources negative and unknown", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources = corev1.ResourceRequirements{
				Limits: corev1.ResourceList{corev1.ResourceMemory: qty("-1"), "gpu": qty("1")},
			}
		}, []want{
			invalid("spec.containers[0].resources.limits[memory]").with("must be greater than or equal to 0"),
			invalid("spec.containers[0].resources.limits[gpu]").with("must be a standard resource type or fully qualified"),
			invalid("spec.containers[0].resources.limits[gpu]").with("must be a standard resource for containers"),
		}},
		{"extended resource must be integer and equal", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources = corev1.ResourceRequirements{
				Limits:   corev1.ResourceList{"example.com/gpu": qty("1500m")},
				Requests: corev1.ResourceList{"example.com/gpu": qty("1")},
			}
		}, []want{
			invalid("spec.containers[0].resources.limits[example.com/gpu]").with("must be an integer"),
			invalid("spec.containers[0].resources.requests").with("must be equal to example.com/gpu limit"),
		}},
		{"liveness probe without handler", func(p *corev1.Pod) {
			p.Spec.Containers[0].LivenessProbe = &corev1.Probe{SuccessThreshold: 1, PeriodSeconds: 10, TimeoutSeconds: 1, FailureThreshold: 3}
		}, []want{required("spec.containers[0].livenessProbe").with("must specify a handler type")}},
		{"probe with two handlers", func(p *corev1.Pod) {
			p.Spec.Containers[0].ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{
				Exec:      &corev1.ExecAction{Command: []string{"true"}},
				TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(8080)},
			}, SuccessThreshold: 1}
		}, []want{forbidden("spec.containers[0].readinessProbe.tcpSocket")}},
		{"probe fields", func(p *corev1.Pod) {
			p.Spec.Containers[0].LivenessProbe = &corev1.Probe{
				ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
					Path: "/healthz", Port: intstr.FromString("no_such"), Scheme: corev1.URISchemeHTTP,
				}},
				InitialDelaySeconds: -1, SuccessThreshold: 2, FailureThreshold: 3, PeriodSeconds: 10, TimeoutSeconds: 1,
			}
		}, []want{
			invalid("spec.containers[0].livenessProbe.httpGet.port"),
			invalid("spec.containers[0].livenessProbe.initialDelaySeconds"),
			invalid("spec.containers[0].livenessProbe.successThreshold").with("must be 1"),
		}},
		{"init container probes forbidden", func(p *corev1.Pod) {
			c := container("init")
			c.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}, SuccessThreshold: 1}
			p.Spec.InitContainers = []corev1.Container{c}
		}, []want{forbidden("spec.initContainers[0].readinessProbe")}},
		{"sidecar init container may have probes", func(p *corev1.Pod) {
			c := container("sidecar")
			c.RestartPolicy = ptr(corev1.ContainerRestartPolicyAlways)
			c.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}, SuccessThreshold: 1}
			p.Spec.InitContainers = []corev1.Container{c}
		}, nil},
		{"container restartPolicy on regular container", func(p *corev1.Pod) {
			p.Spec.Containers[0].RestartPolicy = ptr(corev1.ContainerRestartPolicyAlways)
		}, []want{forbidden("spec.containers[0].restartPolicy")}},
		{"preStop sleep longer than grace period", func(p *corev1.Pod) {
			p.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 60}}}
		}, []want{invalid("spec.containers[0].lifecycle.preStop.sleep").with("terminationGracePeriodSeconds (30)")}},
		{"restartPolicy", func(p *corev1.Pod) { p.Spec.RestartPolicy = "Sometimes" }, []want{notSupported("spec.restartPolicy")}},
		{"dnsPolicy", func(p *corev1.Pod) { p.Spec.DNSPolicy = "" }, []want{required("spec.dnsPolicy")}},
		{"dnsPolicy None needs dnsConfig", func(p *corev1.Pod) { p.Spec.DNSPolicy = corev1.DNSNone }, []want{required("spec.dnsConfig")}},
		{"dnsConfig", func(p *corev1.Pod) {
			p.Spec.DNSConfig = &corev1.PodDNSConfig{Nameservers: []string{"1.1.1.1", "8.8.8.8", "9.9.9.9", "bad"}, Searches: []string{"Bad Domain"}}
		}, []want{
			invalid("spec.dnsConfig.nameservers").with("must not have more than 3 nameservers"),
			invalid("spec.dnsConfig.nameservers[3]"),
			invalid("spec.dnsConfig.searches[0]"),
		}},
		{"terminationGracePeriodSeconds required", func(p *corev1.Pod) { p.Spec.TerminationGracePeriodSeconds = nil },
			[]want{required("spec.terminationGracePeriodSeconds")}},
		{"terminationGracePeriodSeconds negative", func(p *corev1.Pod) { p.Spec.TerminationGracePeriodSeconds = ptr[int64](-1) },
			[]want{invalid("spec.terminationGracePeriodSeconds")}},
		{"activeDeadlineSeconds", func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr[int64](0) },
			[]want{invalid("spec.activeDeadlineSeconds")}},
		{"nodeSelector", func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"disk type": "ssd"} },
			[]want{invalid("spec.nodeSelector")}},
		{"names of other objects", func(p *corev1.Pod) {
			p.Spec.ServiceAccountName = "Bad"
			p.Spec.NodeName = "node_1"
			p.Spec.Hostname = "host.name"
			p.Spec.PriorityClassName = "UPPER"
		}, []want{
			invalid("spec.serviceAccountName"), invalid("spec.nodeName"),
			invalid("spec.hostname"), invalid("spec.priorityClassName"),
		}},
		{"tolerations", func(p *corev1.Pod) {
			p.Spec.Tolerations = []corev1.Toleration{
				{Operator: corev1.TolerationOpEqual, Value: "x"},
				{Key: "k", Operator: corev1.TolerationOpExists, Value: "v"},
				{Key: "k", Operator: "Like"},
				{Key: "k", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule, TolerationSeconds: ptr[int64](5)},
				{Key: "k", Operator: corev1.TolerationOpExists, Effect: "Sometimes"},
			}
		}, []want{
			invalid("spec.tolerations[0].operator").with("operator must be Exists when `key` is empty"),
			invalid("spec.tolerations[1].operator").with("value must be empty"),
			notSupported("spec.tolerations[2].operator"),
			invalid("spec.tolerations[3].effect").with("effect must be 'NoExecute'"),
			notSupported("spec.tolerations[4].effect"),
		}},
		{"node affinity", func(p *corev1.Pod) {
			p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
				RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
					MatchExpressions: []corev1.NodeSelectorRequirement{
						{Key: "zone", Operator: corev1.NodeSelectorOpIn},
						{Key: "zone", Operator: "Near", Values: []string{"a"}},
					},
				}}},
				PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{{Weight: 0}},
			}}
		}, []want{
			required("spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values"),
			invalid("spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[1].operator"),
			invalid("spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight"),
		}},
		{"pod anti-affinity", func(p *corev1.Pod) {
			p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
				RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
					LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
				}},
			}}
		}, []want{
			// Upstream also reports the empty key as an invalid label name.
			required("spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey"),
			invalid("spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey"),
			invalid("spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey"),
		}},
		{"topology spread", func(p *corev1.Pod) {
			p.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{
				{MaxSkew: 0, TopologyKey: "zone", WhenUnsatisfiable: corev1.DoNotSchedule},
				{MaxSkew: 1, TopologyKey: "zone", WhenUnsatisfiable: corev1.DoNotSchedule},
				{MaxSkew: 1, WhenUnsatisfiable: "Maybe"},
			}
		}, []want{
			invalid("spec.topologySpreadConstraints[0].maxSkew"),
			duplicate("spec.topologySpreadConstraints[0].{topologyKey, whenUnsatisfiable}"),
			required("spec.topologySpreadConstraints[2].topologyKey"),
			notSupported("spec.topologySpreadConstraints[2].whenUnsatisfiable"),
		}},
		{"security context ranges", func(p *corev1.Pod) {
			p.Spec.SecurityContext.RunAsUser = ptr[int64](-1)
			p.Spec.SecurityContext.FSGroup = ptr[int64](1 << 40)
			p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{
				RunAsGroup: ptr[int64](-5),
				ProcMount:  ptr(corev1.UnmaskedProcMount),
			}
		}, []want{
			invalid("spec.securityContext.runAsUser"),
			invalid("spec.securityContext.fsGroup"),
			invalid("spec.containers[0].securityContext.runAsGroup"),
			invalid("spec.containers[0].securityContext.procMount").with("`hostUsers` must be false"),
		}},
		{"privilege escalation", func(p *corev1.Pod) {
			p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: ptr(true), AllowPrivilegeEscalation: ptr(false)}
		}, []want{invalid("spec.containers[0].securityContext")}},
		{"seccomp localhost without profile", func(p *corev1.Pod) {
			p.Spec.SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost}
		}, []want{required("spec.securityContext.seccompProfile.localhostProfile")}},
		{"sysctls", func(p *corev1.Pod) {
			p.Spec.HostNetwork = true
			p.Spec.Containers[0].Ports = nil
			p.Spec.SecurityContext.Sysctls = []corev1.Sysctl{{Name: "net.core.somaxconn", Value: "1"}, {Name: "Bad!"}}
		}, []want{
			invalid("spec.securityContext.sysctls[0].name").with("may not be specified when 'hostNetwork' is true"),
			invalid("spec.securityContext.sysctls[1].name"),
		}},
		{"shareProcessNamespace with hostPID", func(p *corev1.Pod) {
			p.Spec.HostPID = true
			p.Spec.ShareProcessNamespace = ptr(true)
		}, []want{invalid("spec.securityContext.shareProcessNamespace")}},
		{"hostUsers false with host namespaces", func(p *corev1.Pod) {
			p.Spec.HostUsers = ptr(false)
			p.Spec.HostIPC = true
		}, []want{forbidden("spec.hostIPC")}},
		{"os", func(p *corev1.Pod) { p.Spec.OS = &corev1.PodOS{Name: "plan9"} }, []want{notSupported("spec.os")}},
		{"windows forbids linux fields", func(p *corev1.Pod) {
			p.Spec.OS = &corev1.PodOS{Name: corev1.Windows}
			p.Spec.SecurityContext.RunAsUser = ptr[int64](1000)
		}, []want{forbidden("spec.securityContext.runAsUser")}},
		{"ephemeral containers on create", func(p *corev1.Pod) {
			p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon(container("debug"))}}
		}, []want{forbidden("spec.ephemeralContainers").with("cannot be set on create")}},
		{"nodeName with scheduling gates", func(p *corev1.Pod) {
			p.Spec.NodeName = "node-1"
			p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "example.com/wait"}}
		}, []want{forbidden("spec.nodeName")}},
		{"mirror pod needs nodeName", func(p *corev1.Pod) {
			p.Annotations = map[string]string{mirrorPodAnnotation: "x"}
		}, []want{invalid("metadata.annotations[kubernetes.io/config.mirror]")}},
		{"pod deletion cost", func(p *corev1.Pod) {
			p.Annotations = map[string]string{podDeletionCost: "lots"}
		}, []want{invalid("metadata.annotations[controller.kubernetes.io/pod-deletion-cost]").with("must be a 32bit integer")}},
		{"resource claims", func(p *corev1.Pod) {
			p.Spec.ResourceClaims = []corev1.PodResourceClaim{{Name: "gpu"}}
			p.Spec.Containers[0].Resources.Claims = []corev1.ResourceClaim{{Name: "gpu"}, {Name: "tpu"}}
		}, []want{
			invalid("spec.resourceClaims[0]").with("must specify one of"),
			notFound("spec.containers[0].resources.claims[1]"),
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := validPod()
			tc.mutate(p)
			create(t, p, tc.wants...)
		})
	}
}

func TestPodUpdate(t *testing.T) {
	old := validPod()
	old.Spec.NodeName = "node-1"
	old.Spec.Tolerations = []corev1.Toleration{{Key: "k", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr[int64](10)}}
	for _, tc := range []struct {
		name   string
		mutate func(*corev1.Pod)
		wants  []want
	}{
		{"no change", func(*corev1.Pod) {}, nil},
		{"image may change", func(p *corev1.Pod) { p.Spec.Containers[0].Image = "registry.example/app:2.0" }, nil},
		{"tolerations may be added", func(p *corev1.Pod) {
			p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{Key: "other", Operator: corev1.TolerationOpExists})
			p.Spec.Tolerations[0].TolerationSeconds = ptr[int64](20)
		}, nil},
		{"tolerations may not be removed", func(p *corev1.Pod) { p.Spec.Tolerations = nil },
			[]want{forbidden("spec.tolerations").with("existing toleration can not be modified")}},
		{"other fields", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = 9090 },
			[]want{forbidden("spec").with("(changed: containers)")}},
		{"containers added", func(p *corev1.Pod) { p.Spec.Containers = append(p.Spec.Containers, container("b")) },
			[]want{forbidden("spec.containers").with("may not add or remove containers")}},
		{"activeDeadlineSeconds may shrink only", func(p *corev1.Pod) {
			p.Spec.ActiveDeadlineSeconds = ptr[int64](10)
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := old.DeepCopy()
			tc.mutate(p)
			update(t, p, old, tc.wants...)
		})
	}

	withDeadline := old.DeepCopy()
	withDeadline.Spec.ActiveDeadlineSeconds = ptr[int64](10)
	longer := withDeadline.DeepCopy()
	longer.Spec.ActiveDeadlineSeconds = ptr[int64](20)
	update(t, longer, withDeadline, invalid("spec.activeDeadlineSeconds").with("must be less than or equal to previous value"))
}

func TestPodStatusUpdate(t *testing.T) {
	old := validPod()
	old.Spec.RestartPolicy = corev1.RestartPolicyNever
	old.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0}}}}
	for _, tc := range []struct {
		name   string
		mutate func(*corev1.Pod)
		wants  []want
	}{
		{"no change", func(*corev1.Pod) {}, nil},
		{"pod IPs", func(p *corev1.Pod) {
			p.Status.PodIPs = []corev1.PodIP{{IP: "10.0.0.1"}, {IP: "10.0.0.2"}}
		}, []want{invalid("status.podIPs").with("no more than one IP for each IP family")}},
		{"bad pod IP", func(p *corev1.Pod) { p.Status.PodIPs = []corev1.PodIP{{IP: "10.0.0.300"}} }, []want{invalid("status.podIPs[0]")}},
		{"dual stack", func(p *corev1.Pod) { p.Status.PodIPs = []corev1.PodIP{{IP: "10.0.0.1"}, {IP: "fd00::1"}} }, nil},
		{"terminated container restarted", func(p *corev1.Pod) {
			p.Status.ContainerStatuses[0].State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
		}, []want{forbidden("status.containerStatuses[0].state")}},
		{"nodeName", func(p *corev1.Pod) { p.Spec.NodeName = "node-2" }, []want{forbidden("status.nodeName")}},
		{"custom condition", func(p *corev1.Pod) {
			p.Status.Conditions = []corev1.PodCondition{{Type: "bad condition", Status: corev1.ConditionTrue}}
		}, []want{invalid("status.conditions[0].type")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := old.DeepCopy()
			tc.mutate(p)
			statusUpdate(t, p, old, tc.wants...)
		})
	}
}
