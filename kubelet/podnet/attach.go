package podnet

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Attachment is a pod sandbox to wire to the bridge.
type Attachment struct {
	// PodID names the pod for Detach and SetHostPorts: printable ASCII
	// without spaces, at most 64 bytes (a pod UID fits).
	PodID string
	// NetNS is the path of the sandbox's network namespace, e.g.
	// /proc/PID/ns/net or a bind mount of it.
	NetNS string
	// IP is the pod's address, in PodCIDR; the kubelet chooses it.
	IP netip.Addr
}

// podIfName is the pod end's name inside its namespace.
const podIfName = "eth0"

// VethName returns the name of the host end of podID's veth pair:
// "veth" and 8 hex digits of the SHA-256 of the pod ID.
func VethName(podID string) string {
	sum := sha256.Sum256([]byte(podID))
	return "veth" + hex.EncodeToString(sum[:4])
}

// podMAC is the pod's eth0 address: locally administered, 0a:58 and the
// IPv4 address, as CNI's bridge plugin used to make it.
func podMAC(ip netip.Addr) net.HardwareAddr {
	b := ip.As4()
	return net.HardwareAddr{0x0a, 0x58, b[0], b[1], b[2], b[3]}
}

// vethAlias is the alias of a pod's host veth: it says whose it is, so a
// name collision of two pods' hashes is detected, never acted on.
func (n *Network) vethAlias(podID string) string {
	return "tend/" + n.cfg.Bridge + "/" + podID
}

func (n *Network) isOurVeth(a *netlink.LinkAttrs) bool {
	return strings.HasPrefix(a.Name, "veth") && strings.HasPrefix(a.Alias, "tend/"+n.cfg.Bridge+"/")
}

// Attach wires the pod's network namespace to the bridge (see the package
// doc). It is idempotent for the same PodID, NetNS and IP; on error it
// removes the links it made.
func (n *Network) Attach(ctx context.Context, a Attachment) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkPodID(a.PodID); err != nil {
		return fmt.Errorf("podnet: attach: %w", err)
	}
	if a.NetNS == "" {
		return fmt.Errorf("podnet: attach pod %s: network namespace path: required", a.PodID)
	}
	if err := n.checkPodIP(a.IP); err != nil {
		return fmt.Errorf("podnet: attach pod %s: %w", a.PodID, err)
	}
	a.IP = a.IP.Unmap()
	hostName := VethName(a.PodID)
	defer func() {
		if err != nil {
			err = fmt.Errorf("podnet: attach pod %s (veth %s, netns %s, IP %s): %w", a.PodID, hostName, a.NetNS, a.IP, err)
		}
	}()

	node, err := openNode()
	if err != nil {
		return err
	}
	defer node.close()
	podNS, err := netns.GetFromPath(a.NetNS)
	if err != nil {
		return fmt.Errorf("open network namespace: %w", err)
	}
	defer podNS.Close()
	pod, err := netlink.NewHandleAt(podNS, unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("open netlink in the pod's network namespace: %w", err)
	}
	defer pod.Close()

	br, err := node.nl.LinkByName(n.cfg.Bridge)
	if err != nil {
		return fmt.Errorf("find bridge %s (was Setup called?): %w", n.cfg.Bridge, err)
	}

	host, err := node.nl.LinkByName(hostName)
	switch {
	case isNotFound(err):
	case err != nil:
		return fmt.Errorf("find host veth: %w", err)
	case host.Attrs().Alias != n.vethAlias(a.PodID):
		return fmt.Errorf("link %s exists and is not this pod's (alias %q)", hostName, host.Attrs().Alias)
	default:
		ok, err := n.attachedAs(node.nl, pod, podNS, host, a.IP)
		if err != nil {
			return err
		}
		if ok {
			// Already wired: only make sure what may have been
			// undone by hand is back.
			return n.configure(node.nl, pod, host, br, a.IP)
		}
		// Wired to another namespace or address: wire it again.
		if err := node.nl.LinkDel(host); err != nil && !isNotFound(err) {
			return fmt.Errorf("delete the previous veth pair: %w", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	attrs := netlink.NewLinkAttrs()
	attrs.Name = hostName
	attrs.MTU = n.cfg.MTU
	veth := &netlink.Veth{
		LinkAttrs:     attrs,
		PeerName:      podIfName,
		PeerNamespace: netlink.NsFd(podNS),
		PeerMTU:       uint32(n.cfg.MTU),
		PeerTxQLen:    -1,
		// A pod attached again with its address (a sandbox made
		// again) keeps its MAC address, so its neighbours' ARP caches
		// stay right; a random one would cut them off for up to a
		// minute.
		PeerHardwareAddr: podMAC(a.IP),
	}
	// One RTM_NEWLINK makes both ends or neither.
	if err := node.nl.LinkAdd(veth); err != nil {
		return fmt.Errorf("create veth pair with %s in the pod: %w", podIfName, err)
	}
	host, err = node.nl.LinkByName(hostName)
	if err == nil {
		// The kernel ignores an alias given at creation.
		if err = node.nl.LinkSetAlias(host, n.vethAlias(a.PodID)); err != nil {
			err = fmt.Errorf("set alias of %s: %w", hostName, err)
		}
	}
	if err == nil {
		err = n.configure(node.nl, pod, host, br, a.IP)
	}
	if err != nil {
		if derr := node.nl.LinkDel(veth); derr != nil && !isNotFound(derr) {
			return errors.Join(err, fmt.Errorf("undo: delete %s: %w", hostName, derr))
		}
		return err
	}
	return nil
}

// attachedAs reports whether host's peer is eth0 of namespace podNS and
// has ip with PodCIDR's prefix length.
func (n *Network) attachedAs(node, pod *netlink.Handle, podNS netns.NsHandle, host netlink.Link, ip netip.Addr) (bool, error) {
	// The node names the peer's namespace by an ID of its own.
	nsid, err := node.GetNetNsIdByFd(int(podNS))
	if err != nil {
		return false, fmt.Errorf("find the pod namespace's ID: %w", err)
	}
	if nsid < 0 || host.Attrs().NetNsID != nsid {
		return false, nil
	}
	eth, err := pod.LinkByName(podIfName)
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("find %s in the pod: %w", podIfName, err)
	}
	// Each end of a veth pair names the other's index (IFLA_LINK).
	if eth.Type() != "veth" || eth.Attrs().ParentIndex != host.Attrs().Index || host.Attrs().ParentIndex != eth.Attrs().Index {
		return false, nil
	}
	addrs, err := pod.AddrList(eth, unix.AF_INET)
	if err != nil {
		return false, fmt.Errorf("list addresses of %s in the pod: %w", podIfName, err)
	}
	want := netip.PrefixFrom(ip, n.cfg.PodCIDR.Bits())
	for _, a := range addrs {
		if p, ok := netPrefix(a.IPNet); ok && p == want {
			return true, nil
		}
	}
	return false, nil
}

// configure finishes a veth pair, idempotently: host end on the bridge and
// up; in the pod, eth0 with the address and up, lo up, the default route.
func (n *Network) configure(node, pod *netlink.Handle, host, br netlink.Link, ip netip.Addr) error {
	if host.Attrs().MasterIndex != br.Attrs().Index {
		if err := node.LinkSetMasterByIndex(host, br.Attrs().Index); err != nil {
			return fmt.Errorf("enslave %s to %s: %w", host.Attrs().Name, n.cfg.Bridge, err)
		}
	}
	// With br_netfilter on, a pod reaching itself through a host port is
	// DNATed in the bridge and must go back out of the port it came in.
	if err := node.LinkSetHairpin(host, true); err != nil {
		return fmt.Errorf("set hairpin mode on %s: %w", host.Attrs().Name, err)
	}
	if err := node.LinkSetUp(host); err != nil {
		return fmt.Errorf("set %s up: %w", host.Attrs().Name, err)
	}
	eth, err := pod.LinkByName(podIfName)
	if err != nil {
		return fmt.Errorf("find %s in the pod: %w", podIfName, err)
	}
	addr := &netlink.Addr{IPNet: prefixNet(netip.PrefixFrom(ip, n.cfg.PodCIDR.Bits()))}
	if err := pod.AddrReplace(eth, addr); err != nil {
		return fmt.Errorf("add address %s to %s in the pod: %w", addr.IPNet, podIfName, err)
	}
	if err := pod.LinkSetUp(eth); err != nil {
		return fmt.Errorf("set %s up in the pod: %w", podIfName, err)
	}
	lo, err := pod.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("find lo in the pod: %w", err)
	}
	if err := pod.LinkSetUp(lo); err != nil {
		return fmt.Errorf("set lo up in the pod: %w", err)
	}
	def := &netlink.Route{
		LinkIndex: eth.Attrs().Index,
		Dst:       &net.IPNet{IP: net.IPv4zero.To4(), Mask: net.CIDRMask(0, 32)},
		Gw:        n.gateway.AsSlice(),
		Table:     unix.RT_TABLE_MAIN,
	}
	if err := pod.RouteReplace(def); err != nil {
		return fmt.Errorf("add default route via %s in the pod: %w", n.gateway, err)
	}
	return nil
}

// Detach removes the pod's veth pair and its host ports. It is idempotent,
// and a pod whose namespace is gone (which takes the pair with it) is
// fine.
func (n *Network) Detach(ctx context.Context, podID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkPodID(podID); err != nil {
		return fmt.Errorf("podnet: detach: %w", err)
	}
	node, err := openNode()
	if err != nil {
		return fmt.Errorf("podnet: detach pod %s: %w", podID, err)
	}
	defer node.close()

	hostName := VethName(podID)
	host, err := node.nl.LinkByName(hostName)
	switch {
	case isNotFound(err):
	case err != nil:
		return fmt.Errorf("podnet: detach pod %s: find %s: %w", podID, hostName, err)
	case host.Attrs().Alias == n.vethAlias(podID):
		if err := node.nl.LinkDel(host); err != nil && !isNotFound(err) {
			return fmt.Errorf("podnet: detach pod %s: delete %s: %w", podID, hostName, err)
		}
	}
	if err := n.setHostPorts(node.ns, podID, podHostPorts{}); err != nil {
		return fmt.Errorf("podnet: detach pod %s: %w", podID, err)
	}
	return nil
}
