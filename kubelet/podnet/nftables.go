package podnet

import (
	"fmt"
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// The table's chains. hostPortsChain is a regular chain the nat base
// chains jump to for packets to a local address; it holds one DNAT rule
// per host port.
const (
	hostPortsChain   = "hostports"
	preroutingChain  = "prerouting"
	outputChain      = "output"
	postroutingChain = "postrouting"
	forwardChain     = "forward"
)

// ipsDstNAT is IPS_DST_NAT of the conntrack status bits (ct status dnat).
const ipsDstNAT = 1 << 5

var loopback = netip.MustParsePrefix("127.0.0.0/8")

// newNFT returns an nftables connection to namespace ns.
func newNFT(ns netns.NsHandle) (*nftables.Conn, error) {
	c, err := nftables.New(nftables.WithNetNSFd(int(ns)))
	if err != nil {
		return nil, fmt.Errorf("open nftables: %w", err)
	}
	return c, nil
}

func (n *Network) table() *nftables.Table {
	return &nftables.Table{Name: n.cfg.Table, Family: nftables.TableFamilyINet}
}

func (n *Network) chain(name string) *nftables.Chain {
	return &nftables.Chain{Name: name, Table: n.table()}
}

// tableExists reports whether the inet table name exists.
func tableExists(conn *nftables.Conn, name string) (bool, error) {
	tables, err := conn.ListTablesOfFamily(nftables.TableFamilyINet)
	if err != nil {
		return false, fmt.Errorf("list tables: %w", err)
	}
	for _, t := range tables {
		if t.Name == name {
			return true, nil
		}
	}
	return false, nil
}

// deleteTable deletes the inet table name if it exists.
func deleteTable(conn *nftables.Conn, name string) error {
	t := &nftables.Table{Name: name, Family: nftables.TableFamilyINet}
	// Adding first makes the delete succeed whether the table existed or
	// not, in one batch.
	conn.AddTable(t)
	conn.DelTable(t)
	return conn.Flush()
}

// writeTableLocked replaces the table with a fresh one holding the base
// rules and n.hostPorts, in one batch: the kernel applies it whole or not
// at all.
func (n *Network) writeTableLocked(conn *nftables.Conn) error {
	t := n.table()
	conn.AddTable(t)
	conn.DelTable(t)
	conn.AddTable(t)

	hostPorts := conn.AddChain(n.chain(hostPortsChain))
	prerouting := conn.AddChain(&nftables.Chain{
		Name: preroutingChain, Table: t, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityNATDest,
	})
	output := conn.AddChain(&nftables.Chain{
		Name: outputChain, Table: t, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookOutput, Priority: nftables.ChainPriorityNATDest,
	})
	postrouting := conn.AddChain(&nftables.Chain{
		Name: postroutingChain, Table: t, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource,
	})
	accept := nftables.ChainPolicyAccept
	forward := conn.AddChain(&nftables.Chain{
		Name: forwardChain, Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter, Policy: &accept,
	})

	rule := func(c *nftables.Chain, exprs ...[]expr.Any) {
		var all []expr.Any
		for _, e := range exprs {
			all = append(all, e...)
		}
		conn.AddRule(&nftables.Rule{Table: t, Chain: c, Exprs: all})
	}
	jumpHostPorts := []expr.Any{&expr.Verdict{Kind: expr.VerdictJump, Chain: hostPortsChain}}
	masq := []expr.Any{&expr.Masq{}}
	acceptV := []expr.Any{&expr.Verdict{Kind: expr.VerdictAccept}}

	// meta nfproto ipv4 fib daddr type local jump hostports
	rule(prerouting, isIPv4(), fibDaddrLocal(), jumpHostPorts)
	// meta nfproto ipv4 ip daddr != 127.0.0.0/8 fib daddr type local jump hostports
	// (DNAT of a loopback destination would need route_localnet.)
	rule(output, isIPv4(), ipPrefix(offDaddr, loopback, expr.CmpOpNeq), fibDaddrLocal(), jumpHostPorts)
	// oifname <bridge> ip saddr <pod CIDR> ct status dnat masquerade:
	// a pod reaching a pod of this bridge through a DNAT (host port,
	// service) must get the reply through the node, which un-NATs it.
	rule(postrouting, isIPv4(), ifname(expr.MetaKeyOIFNAME, expr.CmpOpEq, n.cfg.Bridge),
		ipPrefix(offSaddr, n.cfg.PodCIDR, expr.CmpOpEq), ctStatusDNAT(), masq)
	// ip saddr <pod CIDR> ip daddr != <cluster CIDR> oifname != <bridge> masquerade
	rule(postrouting, isIPv4(), ipPrefix(offSaddr, n.cfg.PodCIDR, expr.CmpOpEq),
		ipPrefix(offDaddr, n.cfg.ClusterCIDR, expr.CmpOpNeq),
		ifname(expr.MetaKeyOIFNAME, expr.CmpOpNeq, n.cfg.Bridge), masq)
	// iifname <bridge> accept; oifname <bridge> accept
	rule(forward, ifname(expr.MetaKeyIIFNAME, expr.CmpOpEq, n.cfg.Bridge), acceptV)
	rule(forward, ifname(expr.MetaKeyOIFNAME, expr.CmpOpEq, n.cfg.Bridge), acceptV)

	n.addHostPortRulesLocked(conn, hostPorts)
	return conn.Flush()
}

// writeHostPortsLocked replaces the host-port chain's rules with
// n.hostPorts, in one batch.
func (n *Network) writeHostPortsLocked(conn *nftables.Conn) error {
	c := n.chain(hostPortsChain)
	conn.FlushChain(c)
	n.addHostPortRulesLocked(conn, c)
	return conn.Flush()
}

func (n *Network) addHostPortRulesLocked(conn *nftables.Conn, c *nftables.Chain) {
	for _, r := range hostPortRecords(n.hostPorts) {
		conn.AddRule(&nftables.Rule{Table: n.table(), Chain: c, Exprs: r.exprs(), UserData: r.userData()})
	}
}

// Offsets of the IPv4 header's addresses.
const (
	offSaddr = 12
	offDaddr = 16
)

// isIPv4 is "meta nfproto ipv4": an inet table sees IPv6 too, whose
// header the IPv4 payload matches would misread.
func isIPv4() []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.NFPROTO_IPV4}},
	}
}

// ipPrefix is "ip saddr|daddr [!=] p".
func ipPrefix(offset uint32, p netip.Prefix, op expr.CmpOp) []expr.Any {
	mask := prefixNet(p).Mask
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: 4},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: mask, Xor: make([]byte, 4)},
		&expr.Cmp{Op: op, Register: 1, Data: p.Masked().Addr().AsSlice()},
	}
}

// ipAddr is "ip saddr|daddr a".
func ipAddr(offset uint32, a netip.Addr) []expr.Any {
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: 4},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: a.AsSlice()},
	}
}

// ifname is "iifname|oifname [!=] name".
func ifname(key expr.MetaKey, op expr.CmpOp, name string) []expr.Any {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, name)
	return []expr.Any{
		&expr.Meta{Key: key, Register: 1},
		&expr.Cmp{Op: op, Register: 1, Data: b},
	}
}

// fibDaddrLocal is "fib daddr type local".
func fibDaddrLocal() []expr.Any {
	return []expr.Any{
		&expr.Fib{Register: 1, FlagDADDR: true, ResultADDRTYPE: true},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(unix.RTN_LOCAL)},
	}
}

// ctStatusDNAT is "ct status dnat".
func ctStatusDNAT() []expr.Any {
	return []expr.Any{
		&expr.Ct{Register: 1, Key: expr.CtKeySTATUS},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(ipsDstNAT), Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)},
	}
}

// l4Dport is "meta l4proto <proto> th dport <port>".
func l4Dport(proto byte, port uint16) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(port)},
	}
}

// dnat is "dnat ip to ip:port".
func dnat(ip netip.Addr, port uint16) []expr.Any {
	return []expr.Any{
		&expr.Immediate{Register: 1, Data: ip.AsSlice()},
		&expr.Immediate{Register: 2, Data: binaryutil.BigEndian.PutUint16(port)},
		&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, RegProtoMin: 2},
	}
}
