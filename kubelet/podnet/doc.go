// Package podnet wires a node's pod network without CNI binaries, iptables
// or a container runtime daemon: a Linux bridge, one veth pair per pod,
// routes and one nftables table, all made through netlink.
//
// A Network is built from a Config by New, which only validates. Every
// method works on the network namespace of the calling goroutine's thread
// (the "node" namespace; in production the host's, in tests one the test
// made): it opens a handle to that namespace once at the start of the call
// and does all its work through handles, so a goroutine that migrates
// threads mid-call changes nothing, and no thread of the caller is left in
// another namespace. Callers that run on a thread moved into another
// namespace must lock it (runtime.LockOSThread) for the whole call.
//
// Guarantees:
//
//   - Setup makes the node ready for pods and is idempotent: lo is up; the
//     bridge (Config.Bridge) exists, is up, has the MTU, a fixed MAC address
//     derived from its name and gateway, and exactly one IPv4 address, the
//     gateway (PodCIDR's first address) with PodCIDR's prefix length;
//     net.ipv4.ip_forward is 1 in the node namespace; the whole
//     ClusterCIDR and ServiceCIDR have "unreachable" routes, so a packet for
//     a pod or service address that does not exist is dropped on the node,
//     never sent out of it (the kernel's connected route for PodCIDR on the
//     bridge is more specific and wins for real pods); the nftables table
//     (family inet, Config.Table) holds exactly tend's rules. Setup replaces
//     the table in one atomic batch (add, delete, add), so stale rules
//     vanish and no packet ever sees a half-built table. Links, addresses
//     and routes of attached pods are left alone, and host ports survive,
//     even across a restart of the process: the host-port rules carry
//     their own description (a rule comment), which a new Network reads
//     back before its first change of the table.
//   - Attach gives a pod a veth pair: the host end, "veth" followed by
//     8 hex digits of a hash of the pod ID (VethName), is enslaved to the
//     bridge in hairpin mode and up; the pod end is created directly in the
//     pod's namespace as eth0 with the MTU, the MAC address 0a:58 followed
//     by the pod's IPv4 address (so a pod attached again keeps its
//     neighbours' ARP caches right) and the pod's address (prefix length of
//     PodCIDR), and lo and eth0 are up with a default route via the
//     gateway. Attach is idempotent: an attachment that already matches is
//     only re-checked (links up, route present); one that does not (another
//     namespace or address) is replaced. A failed Attach removes the links
//     it made.
//   - Detach removes the pod's veth pair and its host ports, and is
//     idempotent; it never removes a link of another pod (each host veth
//     carries the pod ID in its alias, checked before any change).
//   - SetHostPorts makes HostIP:HostPort (HostIP zero: every local IPv4
//     address except 127.0.0.0/8) forward to the pod's IP:ContainerPort for
//     traffic from outside, from pods and from the node itself, replacing
//     the pod's previous host ports; an empty list removes them. A host
//     port another pod holds is refused. The whole host-port chain is
//     rewritten in one atomic batch. Protocols: TCP, UDP and SCTP.
//     Established flows keep their translation until conntrack forgets
//     them (for UDP, upstream's kubelet also deletes conntrack entries;
//     tend does not yet).
//   - Pods reach each other across the bridge, the node, and (masqueraded
//     to the node's address) destinations outside ClusterCIDR. Traffic that
//     was destination-NATed (host ports, and services DNATed by the proxy)
//     and leaves through the bridge from a pod address is masqueraded to
//     the gateway, so that the reply comes back through the node even when
//     client and server share the bridge (hairpin) and br_netfilter is off.
//   - Teardown removes everything Setup and Attach made in the node
//     namespace (the table, the pods' host veths, the bridge, the two
//     unreachable routes) and is idempotent. It leaves ip_forward and lo
//     as they are: the node namespace may need them for others too.
//
// The forward chain accepts traffic to and from the bridge, but an accept
// in one nftables table does not overrule a drop in another: a node whose
// own firewall drops forwarded packets must allow the bridge itself.
//
// Methods may be called concurrently; changes to the nftables table are
// serialized inside the Network. Attach and Detach of one pod must not run
// concurrently with each other (the kubelet's one worker per pod ensures
// that).
//
// Only IPv4 is supported: IPv6 CIDRs and addresses are refused by New and
// by the methods.
package podnet
