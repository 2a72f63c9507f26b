// Package runc is the kubelet's runtime for real containers, run with runc's
// libcontainer inside the tend binary (which re-executes itself as each
// container's init): no Docker, no containerd, no runc binary.
//
// Runtime implements kubelet.Runtime: sandboxes (a pause process, the pod's
// /etc/hosts, /etc/resolv.conf and /etc/hostname, its network through
// kubelet/podnet, host ports), containers from the node's image store
// (created, started under a shim, stopped with SIGTERM then SIGKILL),
// statuses from the shims' records, exec, HTTP, TCP and gRPC probes, and
// stats from cgroups. Its state is on disk: a Runtime opened again on the
// same root adopts what runs. The kubelet does not use it yet: image pulls
// by the kubelet, environment from valueFrom/envFrom, volumes, and the
// `tend init|pause|shim` commands of the binary come first. Its parts:
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
//   - A pod's sandbox is a pause process (`tend pause`) in new network, IPC,
//     UTS and PID namespaces, in its own session so it outlives the kubelet;
//     containers join its namespaces.
//   - Each container runs under a shim (package shim), in its own session
//     too: it creates and starts the container with libcontainer, writes its
//     output to a file in the CRI log format (lines over 16 KiB split into
//     partial entries), and records how it ended (exit code, signal,
//     OOMKilled from the memory cgroup's events) in the container's
//     exit.json, so that a kubelet started again finds running containers
//     running and ended ones' ends.
//
// The shim and the containers' init run from Config.Shim: the slim
// tend-shim binary tend carries (package shim/embedded), or else the
// process's own binary. A process that runs its own binary so must dispatch
// "PROG init" to libcontainer.Init and "PROG shim" to shim.Run (see the
// package's TestMain), and import
// github.com/opencontainers/runc/libcontainer/nsenter and
// github.com/opencontainers/cgroups/devices.
package runc
