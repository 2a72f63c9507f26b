// Package defaults fills in what upstream Kubernetes fills in, so that the objects tend
// stores and serves read the same under `kubectl get -o yaml` as kube-apiserver's.
//
// Upstream does this in three places, and this package reproduces the visible effect of each
// on the typed objects of k8s.io/api (tend has no internal version):
//
//   - Scheme defaulting (pkg/apis/<group>/<version>/defaults.go, the declarative +default
//     tags, and zz_generated.defaults.go, which recurses into nested types). Default does this.
//     Upstream runs it on every decode, from a request body and from storage alike, so Default
//     is idempotent and never overwrites a field that is already set.
//   - Conversion through the internal version, where a few effects are visible in what a
//     client reads back: a Secret's stringData merged into data, a pod spec's deprecated
//     serviceAccount mirroring serviceAccountName, a Node's podCIDR/podCIDRs and a Pod's
//     podIP/podIPs kept in step, a StatefulSet's volumeClaimTemplates carrying apiVersion and
//     kind, an autoscaling/v1 HPA's targetCPUUtilizationPercentage of 80. Default does these too,
//     because tend's decode path is the only place they can happen.
//   - The registry strategies' PrepareForCreate (pkg/registry/<group>/<kind>/strategy.go), plus
//     the few Canonicalize hooks with a create-time effect. PrepareForCreate does this, and then
//     runs Default once more, because upstream decodes the stored object with defaulting before
//     it answers, so status defaults wiped by a status reset come back.
//
// The contract for callers: on create, call Default on the decoded object, set the
// server-owned metadata (name from generateName, uid, creationTimestamp, generation,
// resourceVersion), then call PrepareForCreate, then validate and store. On update call
// Default only. Neither function touches metadata.uid, creationTimestamp, resourceVersion or
// generation. Neither allocates: Service cluster IPs, node ports, ipFamilies, ipFamilyPolicy
// and clusterIPs belong to the apiserver's allocator. Neither does admission (ServiceAccount,
// DefaultTolerationSeconds, Priority, DefaultStorageClass, LimitRanger and the like).
//
// Feature gates are read at their default values for Kubernetes 1.36; where a default differs
// between 1.33 and 1.36 the function that applies it says so.
//
// Both functions mutate their argument in place and are not safe to call concurrently on the
// same object. Objects of kinds this package does not know are left untouched.
package defaults
