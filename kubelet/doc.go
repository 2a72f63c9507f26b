// Package kubelet is tend's node agent: it registers a Node, keeps its status
// and its Lease fresh, and runs the pods bound to it through a Runtime.
//
// The kubelet is written against Runtime, a small CRI-shaped interface, so
// that what runs the containers (the simulated runtime of hollow nodes, the
// libcontainer runtime of real ones) changes nothing here. Its behaviour
// follows upstream's kubelet (v1.32), in less code:
//
//   - Registration creates the Node with the kubernetes.io/hostname, os and
//     arch labels (and the beta.kubernetes.io/ ones), the configured labels
//     and taints, capacity and allocatable (capacity less the reserved) and a
//     first status; a Node that exists gets its default labels back. The
//     kubelet adds no taint of its own.
//   - Node status is computed every NodeStatusUpdateFrequency and written when
//     it changed or NodeStatusReportFrequency passed. The node is Ready
//     (KubeletReady) only when the runtime and its network are; the network
//     is not ready until the node has a spec.podCIDR (the node IPAM
//     controller's), which the kubelet watches for and hands the runtime.
//   - The Lease kube-node-lease/<node>, owned by the Node, is renewed every
//     RenewInterval.
//   - Pods: one informer of the pods with spec.nodeName=<node>; each pod has a
//     worker goroutine whose syncs never overlap and always see the pod's
//     latest state. A new pod is admitted (resources, node affinity, host
//     ports, NoExecute taints) or failed with upstream's reason and message;
//     then it gets a sandbox (an address from the pod CIDR, or the node's for
//     host-network pods), its init containers in order, then its containers.
//     Restart policies, the crash-loop back-off, probes (run by the runtime:
//     the kubelet never opens a connection to a pod), activeDeadlineSeconds and
//     graceful deletion work as upstream's. Status is written only when it
//     changed: as an update of pods/status on the version of the pod the
//     kubelet knows, or, when someone else wrote the pod since, as upstream's
//     strategic merge patch with the pod's UID as a precondition.
//   - A kubelet started again adopts what the runtime still runs and never
//     starts a pod twice. What the runtime lost (an in-memory runtime, a
//     rebooted machine) runs again, each lost container counting a restart,
//     except that, as upstream's, a restartPolicy Never pod that was running
//     fails instead (ContainerStatusUnknown): a run-once pod never runs twice.
//
// Many kubelets can share a process (hollow nodes): they share the client,
// its transport and rate limit, and one Metrics.
package kubelet
