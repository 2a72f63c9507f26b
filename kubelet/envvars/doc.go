// Package envvars computes what upstream's kubelet puts in a container's
// environment and how it expands references, as pure functions over the
// API objects: $(VAR) expansion (Expand), the service variables
// (ServiceEnv), and the values of downward API selectors (FieldValue,
// ResourceValue, DefaultLimits).
//
// Everything here follows upstream (k8s.io/kubernetes v1.37:
// third_party/forked/golang/expansion, pkg/kubelet/envvars,
// pkg/fieldpath, pkg/api/v1/resource) to the byte: a container moved from
// Kubernetes to tend sees the same environment and the same files.
package envvars
