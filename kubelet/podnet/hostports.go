package podnet

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// HostPort forwards a port of the node to a port of a pod
// (corev1.ContainerPort's hostPort).
type HostPort struct {
	// Protocol is "TCP" (also when empty), "UDP" or "SCTP".
	Protocol string
	// HostPort and ContainerPort are 1 to 65535.
	HostPort, ContainerPort int32
	// HostIP is the node address to forward; zero (or 0.0.0.0) is every
	// local IPv4 address but loopback.
	HostIP netip.Addr
}

// podHostPorts is one pod's host ports, normalized.
type podHostPorts struct {
	IP    netip.Addr
	Ports []HostPort
}

var protocols = map[string]byte{"TCP": unix.IPPROTO_TCP, "UDP": unix.IPPROTO_UDP, "SCTP": unix.IPPROTO_SCTP}

// normalize checks p and returns it with Protocol set and HostIP zero for
// "any".
func (p HostPort) normalize() (HostPort, error) {
	if p.Protocol == "" {
		p.Protocol = "TCP"
	}
	if _, ok := protocols[p.Protocol]; !ok {
		return p, fmt.Errorf("protocol %q: want TCP, UDP or SCTP", p.Protocol)
	}
	if p.HostPort < 1 || p.HostPort > 65535 {
		return p, fmt.Errorf("host port %d: want 1 to 65535", p.HostPort)
	}
	if p.ContainerPort < 1 || p.ContainerPort > 65535 {
		return p, fmt.Errorf("container port %d: want 1 to 65535", p.ContainerPort)
	}
	p.HostIP = p.HostIP.Unmap()
	switch {
	case !p.HostIP.IsValid() || p.HostIP.IsUnspecified() && p.HostIP.Is4():
		p.HostIP = netip.Addr{}
	case !p.HostIP.Is4():
		return p, fmt.Errorf("host IP %s: only IPv4 is supported", p.HostIP)
	}
	return p, nil
}

func (p HostPort) String() string {
	ip := "0.0.0.0"
	if p.HostIP.IsValid() {
		ip = p.HostIP.String()
	}
	return fmt.Sprintf("%s %s:%d", p.Protocol, ip, p.HostPort)
}

// overlaps reports whether p and q claim the same packets.
func (p HostPort) overlaps(q HostPort) bool {
	return p.Protocol == q.Protocol && p.HostPort == q.HostPort &&
		(!p.HostIP.IsValid() || !q.HostIP.IsValid() || p.HostIP == q.HostIP)
}

// SetHostPorts makes ports the pod's host ports, forwarded to ip (the
// pod's address), replacing its previous ones; no ports removes them. It
// refuses a host port another pod holds, and needs Setup first.
func (n *Network) SetHostPorts(ctx context.Context, podID string, ip netip.Addr, ports []HostPort) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkPodID(podID); err != nil {
		return fmt.Errorf("podnet: set host ports: %w", err)
	}
	want := podHostPorts{IP: ip.Unmap()}
	if len(ports) > 0 {
		if err := n.checkPodIP(want.IP); err != nil {
			return fmt.Errorf("podnet: set host ports of pod %s: %w", podID, err)
		}
		for _, p := range ports {
			np, err := p.normalize()
			if err != nil {
				return fmt.Errorf("podnet: set host ports of pod %s: %w", podID, err)
			}
			want.Ports = append(want.Ports, np)
		}
	}
	ns, err := netns.Get()
	if err != nil {
		return fmt.Errorf("podnet: set host ports of pod %s: open the current network namespace: %w", podID, err)
	}
	defer ns.Close()
	if err := n.setHostPorts(ns, podID, want); err != nil {
		return fmt.Errorf("podnet: set host ports of pod %s: %w", podID, err)
	}
	return nil
}

// setHostPorts makes want (no Ports: none) the pod's host ports in the
// table of namespace ns.
func (n *Network) setHostPorts(ns netns.NsHandle, podID string, want podHostPorts) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	conn, err := newNFT(ns)
	if err != nil {
		return err
	}
	exists, err := n.loadHostPortsLocked(conn)
	if err != nil {
		return err
	}
	old, had := n.hostPorts[podID]
	if len(want.Ports) == 0 && !had {
		return nil
	}
	if had && old.IP == want.IP && slices.Equal(old.Ports, want.Ports) && exists {
		return nil
	}
	if err := checkHostPorts(n.hostPorts, podID, want.Ports); err != nil {
		return err
	}
	if !exists {
		if len(want.Ports) > 0 {
			return fmt.Errorf("nftables table inet %s does not exist: call Setup first", n.cfg.Table)
		}
		delete(n.hostPorts, podID) // no table, no rules to remove
		return nil
	}
	if len(want.Ports) == 0 {
		delete(n.hostPorts, podID)
	} else {
		n.hostPorts[podID] = want
	}
	if err := n.writeHostPortsLocked(conn); err != nil {
		if had {
			n.hostPorts[podID] = old
		} else {
			delete(n.hostPorts, podID)
		}
		return fmt.Errorf("nftables table inet %s, chain %s: %w", n.cfg.Table, hostPortsChain, err)
	}
	return nil
}

// checkHostPorts refuses ports that overlap one another or another pod's.
func checkHostPorts(all map[string]podHostPorts, podID string, ports []HostPort) error {
	for i, p := range ports {
		for _, q := range ports[:i] {
			if p.overlaps(q) {
				return fmt.Errorf("host port %s overlaps %s of the same pod", p, q)
			}
		}
		for other, hp := range all {
			if other == podID {
				continue
			}
			for _, q := range hp.Ports {
				if p.overlaps(q) {
					return fmt.Errorf("host port %s is held by pod %s (%s)", p, other, q)
				}
			}
		}
	}
	return nil
}

// loadHostPortsLocked reads the host ports back from the table's rule
// comments the first time it is called, so that a new Network (a
// restarted kubelet) keeps the ports an earlier one set. It reports
// whether the table exists.
func (n *Network) loadHostPortsLocked(conn *nftables.Conn) (bool, error) {
	exists, err := tableExists(conn, n.cfg.Table)
	if err != nil {
		return false, err
	}
	if !exists || n.loaded {
		n.loaded = true // nothing to read back, or read already
		return exists, nil
	}
	chains, err := conn.ListChainsOfTableFamily(nftables.TableFamilyINet)
	if err != nil {
		return true, fmt.Errorf("list chains: %w", err)
	}
	found := slices.ContainsFunc(chains, func(c *nftables.Chain) bool {
		return c.Table != nil && c.Table.Name == n.cfg.Table && c.Name == hostPortsChain
	})
	if found {
		rules, err := conn.GetRules(n.table(), n.chain(hostPortsChain))
		if err != nil {
			return true, fmt.Errorf("read chain %s: %w", hostPortsChain, err)
		}
		for _, r := range rules {
			comment, _ := userdata.GetString(r.UserData, userdata.TypeComment)
			rec, err := parseHostPortRecord(comment)
			if err != nil {
				continue // not ours: Setup's rewrite drops it
			}
			hp := n.hostPorts[rec.podID]
			hp.IP = rec.ip
			hp.Ports = append(hp.Ports, rec.port)
			n.hostPorts[rec.podID] = hp
		}
	}
	n.loaded = true
	return true, nil
}

// hostPortRecord is one DNAT rule: what it does, and its comment, which
// says the same in a form parseHostPortRecord reads back.
type hostPortRecord struct {
	podID string
	ip    netip.Addr
	port  HostPort
}

const recordPrefix = "tend-hostport"

// hostPortRecords returns the rules of all, ordered by pod ID.
func hostPortRecords(all map[string]podHostPorts) []hostPortRecord {
	var recs []hostPortRecord
	for _, id := range slices.Sorted(maps.Keys(all)) {
		for _, p := range all[id].Ports {
			recs = append(recs, hostPortRecord{podID: id, ip: all[id].IP, port: p})
		}
	}
	return recs
}

// String is the rule's comment, e.g.
// "tend-hostport <pod ID> TCP 0.0.0.0:30080 10.42.3.5:8080": at most 125
// bytes, so that with its NUL it fits nft's 128 for a comment.
func (r hostPortRecord) String() string {
	return fmt.Sprintf("%s %s %s %s", recordPrefix, r.podID, r.port,
		netip.AddrPortFrom(r.ip, uint16(r.port.ContainerPort)))
}

func (r hostPortRecord) userData() []byte {
	return userdata.AppendString(nil, userdata.TypeComment, r.String())
}

// exprs is "[ip daddr <host IP>] meta l4proto <p> th dport <host port>
// dnat ip to <pod IP>:<container port>".
func (r hostPortRecord) exprs() []expr.Any {
	e := isIPv4()
	if r.port.HostIP.IsValid() {
		e = append(e, ipAddr(offDaddr, r.port.HostIP)...)
	}
	e = append(e, l4Dport(protocols[r.port.Protocol], uint16(r.port.HostPort))...)
	return append(e, dnat(r.ip, uint16(r.port.ContainerPort))...)
}

func parseHostPortRecord(s string) (hostPortRecord, error) {
	var r hostPortRecord
	f := strings.Fields(s)
	if len(f) != 5 || f[0] != recordPrefix {
		return r, fmt.Errorf("%q is not a host-port comment", s)
	}
	r.podID = f[1]
	host, err1 := netip.ParseAddrPort(f[3])
	pod, err2 := netip.ParseAddrPort(f[4])
	if err := errors.Join(checkPodID(r.podID), err1, err2); err != nil {
		return r, fmt.Errorf("%q: %w", s, err)
	}
	p, err := HostPort{Protocol: f[2], HostIP: host.Addr(), HostPort: int32(host.Port()), ContainerPort: int32(pod.Port())}.normalize()
	if err != nil {
		return r, fmt.Errorf("%q: %w", s, err)
	}
	if !pod.Addr().Is4() {
		return r, fmt.Errorf("%q: pod address %s is not IPv4", s, pod.Addr())
	}
	r.ip, r.port = pod.Addr(), p
	return r, nil
}
