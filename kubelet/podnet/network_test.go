package podnet

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

var testCfg = Config{PodCIDR: netip.MustParsePrefix("10.42.3.0/24")}

const gw = "10.42.3.1"

// unreachableRoutes returns the unreachable routes of the main table.
func unreachableRoutes(t *testing.T, h *netlink.Handle) []string {
	t.Helper()
	routes, err := h.RouteListFiltered(unix.AF_INET, &netlink.Route{Type: unix.RTN_UNREACHABLE, Table: unix.RT_TABLE_MAIN},
		netlink.RT_FILTER_TYPE|netlink.RT_FILTER_TABLE)
	if err != nil {
		t.Fatal(err)
	}
	var dsts []string
	for _, r := range routes {
		dsts = append(dsts, r.Dst.String())
	}
	return dsts
}

// chainRules returns the rules of a chain of the node's table, nil when
// the table does not exist.
func chainRules(t *testing.T, nd *node, chain string) []*nftables.Rule {
	t.Helper()
	conn, err := newNFT(nd.ns)
	if err != nil {
		t.Fatal(err)
	}
	ok, err := tableExists(conn, nd.net.cfg.Table)
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		return nil
	}
	rules, err := conn.GetRules(nd.net.table(), nd.net.chain(chain))
	if err != nil {
		t.Fatalf("rules of chain %s: %v", chain, err)
	}
	return rules
}

func readSysctl(t *testing.T, ns netns.NsHandle, path string) string {
	t.Helper()
	var b []byte
	if err := inNS(ns, func() (err error) {
		b, err = os.ReadFile(path)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func TestSetup(t *testing.T) {
	host := guardHost(t)
	nd := newNode(t, host, testCfg)
	nd.setup()
	nd.setup() // idempotent
	h := nlHandle(t, nd.ns)

	br, err := h.LinkByName("tend0")
	if err != nil {
		t.Fatalf("bridge tend0: %v", err)
	}
	if br.Type() != "bridge" || br.Attrs().Flags&net.FlagUp == 0 || br.Attrs().MTU != 1500 {
		t.Errorf("tend0 = %s, flags %v, MTU %d; want an up bridge with MTU 1500", br.Type(), br.Attrs().Flags, br.Attrs().MTU)
	}
	addrs, err := h.AddrList(br, unix.AF_INET)
	if err != nil {
		t.Fatal(err)
	}
	if len(addrs) != 1 || addrs[0].IPNet.String() != gw+"/24" {
		t.Errorf("addresses of tend0 = %v; want [%s/24]", addrs, gw)
	}

	if got, want := strings.Join(unreachableRoutes(t, h), " "), "10.42.0.0/16 10.43.0.0/16"; got != want {
		t.Errorf("unreachable routes = %s; want %s", got, want)
	}
	for _, dst := range []string{"10.42.99.9", "10.43.0.10", "10.42.4.1"} {
		if rs, err := h.RouteGet(net.ParseIP(dst)); !errors.Is(err, unix.EHOSTUNREACH) {
			t.Errorf("route get %s = %v, %v; want %v", dst, rs, err, unix.EHOSTUNREACH)
		}
	}
	if rs, err := h.RouteGet(net.ParseIP("10.42.3.77")); err != nil || len(rs) != 1 || rs[0].LinkIndex != br.Attrs().Index {
		t.Errorf("route get 10.42.3.77 = %v, %v; want via tend0 (index %d)", rs, err, br.Attrs().Index)
	}
	if got := readSysctl(t, nd.ns, "/proc/sys/net/ipv4/ip_forward"); got != "1" {
		t.Errorf("ip_forward in the node = %s; want 1", got)
	}

	masq := 0
	for _, r := range chainRules(t, nd, postroutingChain) {
		for _, e := range r.Exprs {
			if _, ok := e.(*expr.Masq); ok {
				masq++
			}
		}
	}
	if masq != 2 {
		t.Errorf("masquerade rules in chain postrouting = %d; want 2 (hairpin, outbound)", masq)
	}
	for _, c := range []string{preroutingChain, outputChain, forwardChain} {
		if rules := chainRules(t, nd, c); len(rules) == 0 {
			t.Errorf("chain %s has no rules", c)
		}
	}

	// Setup repairs: a lost address and a deleted route come back, a
	// stale address goes.
	stale := &netlink.Addr{IPNet: &net.IPNet{IP: net.ParseIP("10.42.9.1"), Mask: net.CIDRMask(24, 32)}}
	if err := h.AddrAdd(br, stale); err != nil {
		t.Fatal(err)
	}
	if err := h.RouteDel(unreachableRoute(netip.MustParsePrefix("10.43.0.0/16"))); err != nil {
		t.Fatal(err)
	}
	nd.setup()
	if addrs, _ := h.AddrList(br, unix.AF_INET); len(addrs) != 1 || addrs[0].IPNet.String() != gw+"/24" {
		t.Errorf("addresses of tend0 after Setup = %v; want [%s/24]", addrs, gw)
	}
	if got, want := strings.Join(unreachableRoutes(t, h), " "), "10.42.0.0/16 10.43.0.0/16"; got != want {
		t.Errorf("unreachable routes after Setup = %s; want %s", got, want)
	}

	for range 2 { // idempotent
		if err := nd.do(func(ctx context.Context, n *Network) error { return n.Teardown(ctx) }); err != nil {
			t.Fatalf("Teardown() = %v", err)
		}
	}
	assertTornDown(t, nd)
}

func assertTornDown(t *testing.T, nd *node) {
	t.Helper()
	h := nlHandle(t, nd.ns)
	links, err := h.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range links {
		if l.Attrs().Name != "lo" {
			t.Errorf("link %s (%s) left after Teardown", l.Attrs().Name, l.Type())
		}
	}
	if got := unreachableRoutes(t, h); len(got) != 0 {
		t.Errorf("unreachable routes after Teardown = %v; want none", got)
	}
	conn, err := newNFT(nd.ns)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := tableExists(conn, "tend"); ok || err != nil {
		t.Errorf("table inet tend exists after Teardown = %v, %v; want false", ok, err)
	}
}

func TestPods(t *testing.T) {
	host := guardHost(t)
	nd := newNode(t, host, Config{PodCIDR: netip.MustParsePrefix("10.42.3.0/24"), MTU: 1400})
	nd.setup()
	a := newPod(t, host, "pod-a", "10.42.3.2")
	b := newPod(t, host, "pod-b", "10.42.3.3")
	nd.attach(a)
	nd.attach(b)
	node := nlHandle(t, nd.ns)

	ph := nlHandle(t, a.ns)
	eth, err := ph.LinkByName("eth0")
	if err != nil {
		t.Fatalf("eth0 in pod a: %v", err)
	}
	if eth.Attrs().MTU != 1400 || eth.Attrs().Flags&net.FlagUp == 0 {
		t.Errorf("eth0 in pod a: MTU %d, flags %v; want MTU 1400, up", eth.Attrs().MTU, eth.Attrs().Flags)
	}
	if got, want := eth.Attrs().HardwareAddr.String(), "0a:58:0a:2a:03:02"; got != want {
		t.Errorf("MAC address of eth0 in pod a = %s; want %s", got, want)
	}
	if addrs, err := ph.AddrList(eth, unix.AF_INET); err != nil || len(addrs) != 1 || addrs[0].IPNet.String() != "10.42.3.2/24" {
		t.Errorf("addresses of eth0 in pod a = %v, %v; want [10.42.3.2/24]", addrs, err)
	}
	if rs, err := ph.RouteGet(net.ParseIP("192.0.2.1")); err != nil || len(rs) != 1 || rs[0].Gw.String() != gw {
		t.Errorf("route get 192.0.2.1 in pod a = %v, %v; want via %s", rs, err, gw)
	}
	hostVeth, err := node.LinkByName(VethName("pod-a"))
	if err != nil {
		t.Fatalf("host veth of pod a: %v", err)
	}
	br, err := node.LinkByName("tend0")
	if err != nil {
		t.Fatal(err)
	}
	if hostVeth.Attrs().MasterIndex != br.Attrs().Index || hostVeth.Attrs().Flags&net.FlagUp == 0 || hostVeth.Attrs().MTU != 1400 {
		t.Errorf("%s: master %d, flags %v, MTU %d; want on tend0 (%d), up, MTU 1400", hostVeth.Attrs().Name,
			hostVeth.Attrs().MasterIndex, hostVeth.Attrs().Flags, hostVeth.Attrs().MTU, br.Attrs().Index)
	}

	serveTCP(t, b.ns, "10.42.3.3:8080", "b")
	serveTCP(t, nd.ns, gw+":9000", "node")
	if got, err := dialTCP(a.ns, "10.42.3.3:8080"); err != nil || got != "b" {
		t.Errorf("pod a -> pod b = %q, %v; want b", got, err)
	}
	if got, err := dialTCP(a.ns, gw+":9000"); err != nil || got != "node" {
		t.Errorf("pod a -> gateway = %q, %v; want node", got, err)
	}
	// Network safety: an address of the pod or service CIDR that does
	// not exist is dropped on the node, and the pod told so.
	for _, dst := range []string{"10.42.99.9:80", "10.43.0.10:53"} {
		if _, err := dialTCP(a.ns, dst); !errors.Is(err, syscall.EHOSTUNREACH) {
			t.Errorf("pod a -> %s = %v; want %v", dst, err, syscall.EHOSTUNREACH)
		}
	}

	// Attach again: nothing changes.
	nd.attach(a)
	if again, err := node.LinkByName(VethName("pod-a")); err != nil || again.Attrs().Index != hostVeth.Attrs().Index {
		t.Errorf("host veth after a second Attach = %v, %v; want the same link (index %d)", again, err, hostVeth.Attrs().Index)
	}
	// Setup again keeps pods connected.
	nd.setup()
	if got, err := dialTCP(a.ns, "10.42.3.3:8080"); err != nil || got != "b" {
		t.Errorf("pod a -> pod b after a second Setup = %q, %v; want b", got, err)
	}

	// Detach, then Attach again.
	for range 2 {
		if err := nd.do(func(ctx context.Context, n *Network) error { return n.Detach(ctx, "pod-b") }); err != nil {
			t.Fatalf("Detach(pod-b) = %v", err)
		}
	}
	if _, err := node.LinkByName(VethName("pod-b")); !isNotFound(err) {
		t.Errorf("host veth of pod b after Detach: %v; want not found", err)
	}
	if _, err := nlHandle(t, b.ns).LinkByName("eth0"); !isNotFound(err) {
		t.Errorf("eth0 in pod b after Detach: %v; want not found", err)
	}
	nd.attach(b)
	if got, err := dialTCP(a.ns, "10.42.3.3:8080"); err != nil || got != "b" {
		t.Errorf("pod a -> pod b after Detach and Attach = %q, %v; want b", got, err)
	}

	// A new address rewires the pod.
	b.ip = netip.MustParseAddr("10.42.3.30")
	nd.attach(b)
	serveTCP(t, b.ns, "10.42.3.30:8080", "b2")
	if got, err := dialTCP(a.ns, "10.42.3.30:8080"); err != nil || got != "b2" {
		t.Errorf("pod a -> pod b at its new address = %q, %v; want b2", got, err)
	}
	if eth, err := nlHandle(t, b.ns).LinkByName("eth0"); err != nil {
		t.Errorf("eth0 in pod b: %v", err)
	} else if addrs, err := nlHandle(t, b.ns).AddrList(eth, unix.AF_INET); err != nil || len(addrs) != 1 || addrs[0].IPNet.String() != "10.42.3.30/24" {
		t.Errorf("addresses of eth0 in pod b = %v, %v; want [10.42.3.30/24]", addrs, err)
	}

	// A new sandbox of pod a (a new namespace, the same address) takes
	// the attachment over from the old one.
	a2 := newPod(t, host, "pod-a", "10.42.3.2")
	nd.attach(a2)
	if _, err := ph.LinkByName("eth0"); !isNotFound(err) {
		t.Errorf("eth0 in pod a's old namespace after Attach of its new one: %v; want not found", err)
	}
	if got, err := dialTCP(a2.ns, "10.42.3.30:8080"); err != nil || got != "b2" {
		t.Errorf("pod a's new sandbox -> pod b = %q, %v; want b2", got, err)
	}

	if err := nd.do(func(ctx context.Context, n *Network) error { return n.Teardown(ctx) }); err != nil {
		t.Fatalf("Teardown() = %v", err)
	}
	assertTornDown(t, nd)
	if _, err := nlHandle(t, a2.ns).LinkByName("eth0"); !isNotFound(err) {
		t.Errorf("eth0 in pod a after Teardown: %v; want not found", err)
	}
}

func TestAttachErrors(t *testing.T) {
	host := guardHost(t)
	nd := newNode(t, host, testCfg)
	p := newPod(t, host, "pod-c", "10.42.3.4")
	attach := func(a Attachment) error {
		return nd.do(func(ctx context.Context, n *Network) error { return n.Attach(ctx, a) })
	}
	if err := attach(p.attachment()); err == nil || !strings.Contains(err.Error(), "Setup") {
		t.Errorf("Attach before Setup = %v; want an error naming Setup", err)
	}
	nd.setup()
	node := nlHandle(t, nd.ns)
	for _, a := range []Attachment{
		{PodID: "pod-c", NetNS: "/proc/self/ns/no-such-namespace", IP: p.ip},
		{PodID: "pod-c", NetNS: p.path(), IP: netip.MustParseAddr("10.42.4.4")},
		{PodID: "pod-c", NetNS: p.path(), IP: netip.MustParseAddr(gw)},
		{PodID: "pod c", NetNS: p.path(), IP: p.ip},
		{PodID: "pod-c", IP: p.ip},
	} {
		if err := attach(a); err == nil {
			t.Errorf("Attach(%+v) = nil; want an error", a)
		}
	}
	// A pod whose namespace already has an eth0: the host end is undone.
	if err := node.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "squat0", TxQLen: -1},
		PeerName: "eth0", PeerNamespace: netlink.NsFd(p.ns)}); err != nil {
		t.Fatal(err)
	}
	if err := attach(p.attachment()); err == nil {
		t.Errorf("Attach into a namespace with a foreign eth0 = nil; want an error")
	}
	if _, err := node.LinkByName(VethName("pod-c")); !isNotFound(err) {
		t.Errorf("host veth of pod c after failed Attach: %v; want not found", err)
	}
	if err := node.LinkDel(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "squat0"}}); err != nil {
		t.Fatal(err)
	}

	// A link by the pod's veth name that is not the pod's is neither
	// used nor deleted.
	if err := node.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: VethName("pod-c"), TxQLen: -1}, PeerName: "squat1"}); err != nil {
		t.Fatal(err)
	}
	if err := attach(p.attachment()); err == nil || !strings.Contains(err.Error(), "not this pod's") {
		t.Errorf("Attach over a foreign link = %v; want an error saying it is not this pod's", err)
	}
	if err := nd.do(func(ctx context.Context, n *Network) error { return n.Detach(ctx, "pod-c") }); err != nil {
		t.Errorf("Detach(pod-c) = %v", err)
	}
	if _, err := node.LinkByName(VethName("pod-c")); err != nil {
		t.Errorf("foreign link after Detach: %v; want it left alone", err)
	}
}

// TestHostPorts runs with br_netfilter on (bridged IPv4 goes through the
// nftables hooks, the default where the module is loaded) and off: the
// network must not depend on it.
func TestHostPorts(t *testing.T) {
	for _, brnf := range []string{"1", "0"} {
		t.Run("bridge-nf-call-iptables="+brnf, func(t *testing.T) { testHostPorts(t, brnf) })
	}
}

func testHostPorts(t *testing.T, brnf string) {
	host := guardHost(t)
	nd := newNode(t, host, testCfg)
	const brnfPath = "/proc/sys/net/bridge/bridge-nf-call-iptables"
	if err := inNS(nd.ns, func() error { return os.WriteFile(brnfPath, []byte(brnf), 0o644) }); err != nil {
		if errors.Is(err, os.ErrNotExist) && brnf == "1" {
			t.Skipf("no br_netfilter: %v", err)
		}
		if !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("set %s: %v", brnfPath, err)
		}
	}
	nd.setup()
	a := newPod(t, host, "pod-a", "10.42.3.2")
	b := newPod(t, host, "pod-b", "10.42.3.3")
	nd.attach(a)
	nd.attach(b)
	serveTCP(t, a.ns, "0.0.0.0:8080", "a")
	serveUDP(t, a.ns, "0.0.0.0:5353", "a/udp")

	if err := nd.setHostPorts(a,
		HostPort{HostPort: 30080, ContainerPort: 8080},
		HostPort{Protocol: "TCP", HostPort: 30081, ContainerPort: 8080, HostIP: netip.MustParseAddr(gw)},
		HostPort{Protocol: "UDP", HostPort: 30053, ContainerPort: 5353},
	); err != nil {
		t.Fatalf("SetHostPorts(pod-a) = %v", err)
	}
	reach := func(when string) {
		t.Helper()
		for _, c := range []struct {
			from netns.NsHandle
			name string
			addr string
		}{
			{nd.ns, "node", gw + ":30080"},
			{nd.ns, "node", gw + ":30081"},
			{b.ns, "pod b", gw + ":30080"},
			{a.ns, "pod a (hairpin)", gw + ":30080"},
		} {
			if got, err := dialTCP(c.from, c.addr); err != nil || got != "a" {
				t.Errorf("%s: %s -> %s = %q, %v; want a", when, c.name, c.addr, got, err)
			}
		}
		if got, err := askUDP(nd.ns, gw+":30053"); err != nil || got != "a/udp" {
			t.Errorf("%s: node -> udp %s:30053 = %q, %v; want a/udp", when, gw, got, err)
		}
	}
	reach("after SetHostPorts")

	nd.setup()
	reach("after a second Setup")

	// A new Network (a restarted kubelet) keeps the host ports.
	restarted, err := New(testCfg)
	if err != nil {
		t.Fatal(err)
	}
	nd.net = restarted
	nd.setup()
	reach("after Setup by a new Network")
	if err := nd.setHostPorts(b, HostPort{HostPort: 30080, ContainerPort: 80}); err == nil || !strings.Contains(err.Error(), "pod-a") {
		t.Errorf("SetHostPorts(pod-b, 30080) = %v; want an error naming pod-a, which holds it", err)
	}

	if err := nd.setHostPorts(a); err != nil {
		t.Fatalf("SetHostPorts(pod-a, none) = %v", err)
	}
	if _, err := dialTCP(nd.ns, gw+":30080"); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("node -> %s:30080 after removing the host ports = %v; want %v", gw, err, syscall.ECONNREFUSED)
	}
	if rules := chainRules(t, nd, hostPortsChain); len(rules) != 0 {
		t.Errorf("chain hostports has %d rules; want none", len(rules))
	}

	// Detach removes a pod's host ports too.
	if err := nd.setHostPorts(a, HostPort{HostPort: 30080, ContainerPort: 8080}); err != nil {
		t.Fatalf("SetHostPorts(pod-a) = %v", err)
	}
	if rules := chainRules(t, nd, hostPortsChain); len(rules) != 1 {
		t.Errorf("chain hostports has %d rules; want 1", len(rules))
	}
	if err := nd.do(func(ctx context.Context, n *Network) error { return n.Detach(ctx, "pod-a") }); err != nil {
		t.Fatalf("Detach(pod-a) = %v", err)
	}
	if rules := chainRules(t, nd, hostPortsChain); len(rules) != 0 {
		t.Errorf("chain hostports after Detach has %d rules; want none", len(rules))
	}
	if err := nd.setHostPorts(b, HostPort{HostPort: 30080, ContainerPort: 80}); err != nil {
		t.Errorf("SetHostPorts(pod-b, 30080) after pod-a's Detach = %v", err)
	}

	if err := nd.do(func(ctx context.Context, n *Network) error { return n.Teardown(ctx) }); err != nil {
		t.Fatalf("Teardown() = %v", err)
	}
	assertTornDown(t, nd)
	if err := nd.setHostPorts(b, HostPort{HostPort: 30080, ContainerPort: 80}); err == nil || !strings.Contains(err.Error(), "Setup") {
		t.Errorf("SetHostPorts after Teardown = %v; want an error naming Setup", err)
	}
}

// TestOutside puts a machine outside the node: a namespace linked to the
// node by a veth pair on 198.51.100.0/24. Pods reach it masqueraded to the
// node's address; it reaches a pod through a host port on that address.
func TestOutside(t *testing.T) {
	host := guardHost(t)
	nd := newNode(t, host, testCfg)
	nd.setup()
	ext := newNS(t, host)
	node := nlHandle(t, nd.ns)
	if err := node.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "uplink", TxQLen: -1},
		PeerName: "eth0", PeerNamespace: netlink.NsFd(ext)}); err != nil {
		t.Fatal(err)
	}
	for _, side := range []struct {
		h    *netlink.Handle
		name string
		addr string
	}{{node, "uplink", "198.51.100.1/24"}, {nlHandle(t, ext), "eth0", "198.51.100.2/24"}, {nlHandle(t, ext), "lo", ""}} {
		l, err := side.h.LinkByName(side.name)
		if err != nil {
			t.Fatal(err)
		}
		if side.addr != "" {
			addr, err := netlink.ParseAddr(side.addr)
			if err != nil {
				t.Fatal(err)
			}
			if err := side.h.AddrAdd(l, addr); err != nil {
				t.Fatal(err)
			}
		}
		if err := side.h.LinkSetUp(l); err != nil {
			t.Fatal(err)
		}
	}
	a := newPod(t, host, "pod-a", "10.42.3.2")
	nd.attach(a)
	serveTCP(t, a.ns, "0.0.0.0:8080", "")
	serveTCP(t, ext, "198.51.100.2:9000", "")

	if got, err := dialTCP(a.ns, "198.51.100.2:9000"); err != nil || got != "198.51.100.1" {
		t.Errorf("pod a -> outside: the outside sees %q, %v; want 198.51.100.1 (masqueraded)", got, err)
	}
	if err := nd.setHostPorts(a,
		HostPort{HostPort: 30080, ContainerPort: 8080},
		HostPort{HostPort: 30081, ContainerPort: 8080, HostIP: netip.MustParseAddr("198.51.100.1")},
	); err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{"198.51.100.1:30080", "198.51.100.1:30081"} {
		if got, err := dialTCP(ext, addr); err != nil || got != "198.51.100.2" {
			t.Errorf("outside -> %s: pod a sees %q, %v; want 198.51.100.2 (the client's own address)", addr, got, err)
		}
	}
	if got, err := dialTCP(nd.ns, "198.51.100.1:30080"); err != nil || got != "198.51.100.1" {
		t.Errorf("node -> 198.51.100.1:30080: pod a sees %q, %v; want 198.51.100.1", got, err)
	}
	// A host port bound to one address does not answer on another.
	if _, err := dialTCP(nd.ns, gw+":30081"); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("node -> %s:30081 (host port of 198.51.100.1 only) = %v; want %v", gw, err, syscall.ECONNREFUSED)
	}
	// Nor on loopback (that would need route_localnet).
	if _, err := dialTCP(nd.ns, "127.0.0.1:30080"); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("node -> 127.0.0.1:30080 = %v; want %v", err, syscall.ECONNREFUSED)
	}
}

// TestConcurrentAttach attaches and detaches pods from many goroutines at
// once, and checks that a round of every method leaks no file descriptor.
func TestConcurrentAttach(t *testing.T) {
	host := guardHost(t)
	nd := newNode(t, host, testCfg)
	nd.setup()
	serveTCP(t, nd.ns, gw+":9000", "node")
	var pods []*pod
	for i := range 6 {
		pods = append(pods, newPod(t, host, "pod-"+strconv.Itoa(i), "10.42.3."+strconv.Itoa(10+i)))
	}
	round := func() {
		t.Helper()
		errs := make(chan error, len(pods))
		for _, p := range pods {
			go func() {
				errs <- nd.do(func(ctx context.Context, n *Network) error {
					if err := n.Attach(ctx, p.attachment()); err != nil {
						return err
					}
					return n.SetHostPorts(ctx, p.id, p.ip, []HostPort{{HostPort: 30000 + int32(p.ip.As4()[3]), ContainerPort: 80}})
				})
			}()
		}
		for range pods {
			if err := <-errs; err != nil {
				t.Fatalf("Attach = %v", err)
			}
		}
		for _, p := range pods {
			if got, err := dialTCP(p.ns, gw+":9000"); err != nil || got != "node" {
				t.Errorf("%s -> gateway = %q, %v; want node", p.id, got, err)
			}
		}
		if rules := chainRules(t, nd, hostPortsChain); len(rules) != len(pods) {
			t.Errorf("chain hostports has %d rules; want %d", len(rules), len(pods))
		}
		for _, p := range pods {
			go func() { errs <- nd.do(func(ctx context.Context, n *Network) error { return n.Detach(ctx, p.id) }) }()
		}
		for range pods {
			if err := <-errs; err != nil {
				t.Fatalf("Detach = %v", err)
			}
		}
		if rules := chainRules(t, nd, hostPortsChain); len(rules) != 0 {
			t.Errorf("chain hostports after Detach has %d rules; want none", len(rules))
		}
	}
	round() // warm up: the runtime's own descriptors
	before := openFDs(t)
	round()
	nd.setup()
	// The echo servers close their side just after answering, so wait a
	// little; fewer is fine: finalizers may close what earlier tests
	// dropped.
	deadline := time.Now().Add(timeout)
	after := openFDs(t)
	for after > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		after = openFDs(t)
	}
	if after > before {
		t.Errorf("open file descriptors after a round = %d; want at most %d as before", after, before)
	}
}

func openFDs(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(fds)
}
