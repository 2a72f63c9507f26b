package podnet

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// nodeHandles are the node namespace and a netlink handle in it, for one
// call.
type nodeHandles struct {
	ns netns.NsHandle
	nl *netlink.Handle
}

// openNode opens the network namespace of the calling thread, the node's,
// and a netlink handle bound to it.
func openNode() (*nodeHandles, error) {
	ns, err := netns.Get()
	if err != nil {
		return nil, fmt.Errorf("open the current network namespace: %w", err)
	}
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		ns.Close()
		return nil, fmt.Errorf("open netlink in the current network namespace: %w", err)
	}
	return &nodeHandles{ns: ns, nl: h}, nil
}

func (h *nodeHandles) close() {
	h.nl.Close()
	h.ns.Close()
}

// Setup makes the node namespace ready for pods: bridge, ip_forward,
// unreachable routes and the nftables table (see the package doc). It is
// idempotent and keeps attached pods and host ports working.
func (n *Network) Setup(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	node, err := openNode()
	if err != nil {
		return fmt.Errorf("podnet: setup: %w", err)
	}
	defer node.close()

	// A node's own connections to its addresses (the gateway's host
	// ports) go through lo, down in a namespace just made.
	if lo, err := node.nl.LinkByName("lo"); err != nil {
		return fmt.Errorf("podnet: setup: find lo: %w", err)
	} else if err := node.nl.LinkSetUp(lo); err != nil {
		return fmt.Errorf("podnet: setup: set lo up: %w", err)
	}
	if err := n.ensureBridge(node.nl); err != nil {
		return fmt.Errorf("podnet: setup bridge %s: %w", n.cfg.Bridge, err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// The unreachable routes first: once forwarding is on, a packet for
	// a pod or service address must never follow the default route out.
	for _, dst := range n.unreachable() {
		if err := node.nl.RouteReplace(unreachableRoute(dst)); err != nil {
			return fmt.Errorf("podnet: setup: add route unreachable %s: %w", dst, err)
		}
	}
	if err := writeSysctlIn(node.ns, "/proc/sys/net/ipv4/ip_forward", "1"); err != nil {
		return fmt.Errorf("podnet: setup: enable net.ipv4.ip_forward: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	conn, err := newNFT(node.ns)
	if err != nil {
		return fmt.Errorf("podnet: setup: %w", err)
	}
	if _, err := n.loadHostPortsLocked(conn); err != nil {
		return fmt.Errorf("podnet: setup: %w", err)
	}
	if err := n.writeTableLocked(conn); err != nil {
		return fmt.Errorf("podnet: setup: nftables table inet %s: %w", n.cfg.Table, err)
	}
	return nil
}

// Teardown removes from the node namespace all that Setup and Attach made:
// the nftables table, the host veths of the pods (so their pods lose
// their network), the bridge and the unreachable routes. It is idempotent.
func (n *Network) Teardown(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	node, err := openNode()
	if err != nil {
		return fmt.Errorf("podnet: teardown: %w", err)
	}
	defer node.close()

	n.mu.Lock()
	conn, err := newNFT(node.ns)
	if err == nil {
		err = deleteTable(conn, n.cfg.Table)
	}
	if err == nil {
		n.hostPorts = map[string]podHostPorts{}
		n.loaded = true
	}
	n.mu.Unlock()
	if err != nil {
		return fmt.Errorf("podnet: teardown: nftables table inet %s: %w", n.cfg.Table, err)
	}

	links, err := node.nl.LinkList()
	if err != nil {
		return fmt.Errorf("podnet: teardown: list links: %w", err)
	}
	for _, l := range links {
		if l.Type() == "veth" && n.isOurVeth(l.Attrs()) {
			if err := node.nl.LinkDel(l); err != nil && !isNotFound(err) {
				return fmt.Errorf("podnet: teardown: delete %s: %w", l.Attrs().Name, err)
			}
		}
	}
	if br, err := node.nl.LinkByName(n.cfg.Bridge); err == nil {
		if br.Type() != "bridge" {
			return fmt.Errorf("podnet: teardown: %s is a %s, not a bridge; left alone", n.cfg.Bridge, br.Type())
		}
		if err := node.nl.LinkDel(br); err != nil && !isNotFound(err) {
			return fmt.Errorf("podnet: teardown: delete bridge %s: %w", n.cfg.Bridge, err)
		}
	} else if !isNotFound(err) {
		return fmt.Errorf("podnet: teardown: find bridge %s: %w", n.cfg.Bridge, err)
	}
	for _, dst := range n.unreachable() {
		// RouteDel matches the route's type too: a real route to the
		// same destination is never removed.
		if err := node.nl.RouteDel(unreachableRoute(dst)); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("podnet: teardown: delete route unreachable %s: %w", dst, err)
		}
	}
	return ctx.Err()
}

func (n *Network) unreachable() []netip.Prefix {
	return []netip.Prefix{n.cfg.ClusterCIDR, n.cfg.ServiceCIDR}
}

func unreachableRoute(dst netip.Prefix) *netlink.Route {
	return &netlink.Route{
		Dst:      prefixNet(dst),
		Type:     unix.RTN_UNREACHABLE,
		Table:    unix.RT_TABLE_MAIN,
		Protocol: unix.RTPROT_STATIC,
	}
}

// ensureBridge makes the bridge exist, up, with the MTU and the gateway
// as its only IPv4 address.
func (n *Network) ensureBridge(h *netlink.Handle) error {
	link, err := h.LinkByName(n.cfg.Bridge)
	switch {
	case isNotFound(err):
		attrs := netlink.NewLinkAttrs()
		attrs.Name = n.cfg.Bridge
		attrs.MTU = n.cfg.MTU
		// A bridge whose address was never set takes the lowest of its
		// ports', so it would change as pods come and go and the pods'
		// ARP caches would point at an old one for a while.
		attrs.HardwareAddr = n.bridgeMAC()
		if err := h.LinkAdd(&netlink.Bridge{LinkAttrs: attrs}); err != nil {
			return fmt.Errorf("create: %w", err)
		}
		if link, err = h.LinkByName(n.cfg.Bridge); err != nil {
			return fmt.Errorf("find after create: %w", err)
		}
	case err != nil:
		return fmt.Errorf("find: %w", err)
	case link.Type() != "bridge":
		return fmt.Errorf("a %s link by that name exists; delete it or choose another bridge name", link.Type())
	}
	if link.Attrs().MTU != n.cfg.MTU {
		if err := h.LinkSetMTU(link, n.cfg.MTU); err != nil {
			return fmt.Errorf("set MTU %d: %w", n.cfg.MTU, err)
		}
	}
	want := netip.PrefixFrom(n.gateway, n.cfg.PodCIDR.Bits())
	addrs, err := h.AddrList(link, unix.AF_INET)
	if err != nil {
		return fmt.Errorf("list addresses: %w", err)
	}
	for _, a := range addrs {
		if p, ok := netPrefix(a.IPNet); ok && p == want {
			continue
		}
		if err := h.AddrDel(link, &a); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
			return fmt.Errorf("delete stale address %s: %w", a.IPNet, err)
		}
	}
	if err := h.AddrReplace(link, &netlink.Addr{IPNet: prefixNet(want)}); err != nil {
		return fmt.Errorf("add address %s: %w", want, err)
	}
	if err := h.LinkSetUp(link); err != nil {
		return fmt.Errorf("set up: %w", err)
	}
	return nil
}

// bridgeMAC is a locally administered unicast address derived from the
// bridge's name and gateway: stable across restarts, distinct per node.
func (n *Network) bridgeMAC() net.HardwareAddr {
	sum := sha256.Sum256([]byte("tend bridge " + n.cfg.Bridge + " " + n.gateway.String()))
	mac := net.HardwareAddr(sum[:6])
	mac[0] = mac[0]&^1 | 2
	return mac
}

// writeSysctlIn writes value to the sysctl file path of namespace ns.
// /proc/sys/net shows the namespace of the thread that opens it, so the
// write runs on a thread of its own moved into ns; that thread goes back
// to its namespace after, or, if it cannot, is never unlocked and so dies
// with its goroutine.
func writeSysctlIn(ns netns.NsHandle, path, value string) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("open the thread's network namespace: %w", err)
			return
		}
		defer orig.Close()
		if err := netns.Set(ns); err != nil {
			errc <- fmt.Errorf("enter the node's network namespace: %w", err)
			return // the thread stays locked and ends with the goroutine
		}
		err = os.WriteFile(path, []byte(value), 0o644)
		if rerr := netns.Set(orig); rerr != nil {
			errc <- errors.Join(err, fmt.Errorf("leave the node's network namespace: %w", rerr))
			return // the thread stays locked and ends with the goroutine
		}
		runtime.UnlockOSThread()
		errc <- err
	}()
	return <-errc
}

func isNotFound(err error) bool {
	var nf netlink.LinkNotFoundError
	return errors.As(err, &nf) || errors.Is(err, unix.ENODEV)
}

func prefixNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

func netPrefix(n *net.IPNet) (netip.Prefix, bool) {
	if n == nil {
		return netip.Prefix{}, false
	}
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(a.Unmap(), ones), true
}
