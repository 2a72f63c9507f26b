// Package runc is the kubelet's runtime for real containers, run with runc's
// libcontainer inside the tend binary (which re-executes itself as each
// container's init): no Docker, no containerd, no runc binary.
//
// What it holds so far (the Runtime implementation, with pod sandboxes, is
// being built on it):
//
//   - Spec makes a container's OCI runtime spec as containerd's CRI plugin
//     would for the same pod: Kubernetes' command/args rules over the image's
//     entrypoint and cmd, the image's environment overridden by the
//     container's, the working directory, the user (runAsUser/runAsGroup or
//     the image's USER looked up in its /etc/passwd and /etc/group, with
//     supplementalGroups and fsGroup), runAsNonRoot with the kubelet's
//     messages, capabilities (containerd's defaults, add/drop, ALL,
//     privileged), read-only root, no-new-privileges, masked and read-only
//     /proc paths, CPU shares, quota and a memory limit by the kubelet's
//     formulas, and the sandbox's namespaces to join.
//   - A container's root is its image's layer directories (kubelet/images)
//     under overlayfs with an upper directory of its own, so that what it
//     writes never reaches the shared layers.
//
// A process that uses this package must call libcontainer.Init when started
// as "PROG init" (see the package's TestMain) and import
// github.com/opencontainers/runc/libcontainer/nsenter and
// github.com/opencontainers/cgroups/devices.
package runc
