// Package nodeipam is the node IPAM controller with upstream's range
// allocator (kube-controller-manager's pkg/controller/nodeipam/ipam,
// --allocate-node-cidrs with --cidr-allocator-type=RangeAllocator): it gives
// every Node a block of the cluster's pod network, in spec.podCIDR and
// spec.podCIDRs, from which the node's pods get their addresses.
//
// Each cluster CIDR (one per IP family; two make a dual-stack cluster) is cut
// into equal blocks of the configured node mask size; a bitmap records the
// blocks in use. A node without a podCIDR gets the next free block of each
// cluster CIDR, searched round-robin from the last block handed out, written
// with one patch of spec.podCIDR and spec.podCIDRs (in the order of
// Config.ClusterCIDRs).
//
// Guarantees:
//
//   - No block is handed out before every Node's existing podCIDRs are
//     recorded as used: Run waits for the node informer, marks them, and only
//     then starts allocating. A restart therefore never hands out a block a
//     node holds.
//   - A node's podCIDRs are the truth: once set (by this controller, another
//     one, or the node's creator) they are recorded as the node's and never
//     changed (the apiserver refuses to change them anyway). A podCIDR outside
//     the cluster CIDRs is left alone and logged.
//   - A block is released when its node is deleted, and may be handed out
//     again once the round-robin search comes back to it.
//   - A block reserved for a node whose patch failed stays the node's and is
//     written on the retry, so failures leak no blocks; if the node is
//     deleted meanwhile, the block is released.
//   - When a cluster CIDR has no free block, the node gets a Normal event
//     CIDRNotAvailable ("Node <name> status is now: CIDRNotAvailable", as
//     upstream) and is retried with back-off, and at once when a block is
//     released. Nothing else is set on the node, as upstream.
//
// Upstream's service-CIDR filtering (marking the blocks that overlap the
// service network as used) is not done: the config has no service CIDR, and
// tend's default pod and service networks (10.42.0.0/16, 10.43.0.0/16) do not
// overlap. Keep ClusterCIDRs apart from the service network.
package nodeipam

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
)

// Config configures the range allocator.
type Config struct {
	// ClusterCIDRs is the pod network: at most one CIDR per IP family.
	// Default 10.42.0.0/16.
	ClusterCIDRs []*net.IPNet
	// NodeCIDRMaskSize is the prefix length of an IPv4 node's block; default
	// 24 (256 addresses per node, 256 nodes in a /16).
	NodeCIDRMaskSize int
	// NodeCIDRMaskSizeIPv6 is the prefix length of an IPv6 node's block;
	// default 64, as upstream's.
	NodeCIDRMaskSizeIPv6 int
}

// DefaultConfig returns tend's defaults: 10.42.0.0/16 cut into /24s.
func DefaultConfig() Config {
	_, cidr, _ := net.ParseCIDR("10.42.0.0/16")
	return Config{ClusterCIDRs: []*net.IPNet{cidr}, NodeCIDRMaskSize: 24, NodeCIDRMaskSizeIPv6: 64}
}

// Validate reports what is wrong with c: no cluster CIDR, two of one family,
// a CIDR that is not a network address, a node mask not longer than its
// cluster CIDR's prefix or longer than an address, or more than 2^24 blocks.
func (c Config) Validate() error {
	_, err := c.prefixes()
	return err
}

// family is one cluster CIDR and its block size.
type family struct {
	cluster   netip.Prefix
	blockBits int
}

func (c Config) prefixes() ([]family, error) {
	if len(c.ClusterCIDRs) == 0 {
		return nil, errors.New("nodeipam: at least one cluster CIDR is required")
	}
	if len(c.ClusterCIDRs) > 2 {
		return nil, fmt.Errorf("nodeipam: %d cluster CIDRs: at most two (one IPv4, one IPv6) are supported", len(c.ClusterCIDRs))
	}
	var out []family
	for i, n := range c.ClusterCIDRs {
		if n == nil {
			return nil, fmt.Errorf("nodeipam: cluster CIDR %d is nil", i)
		}
		p, err := toPrefix(n)
		if err != nil {
			return nil, fmt.Errorf("nodeipam: cluster CIDR %s: %w", n, err)
		}
		if p.Masked() != p {
			return nil, fmt.Errorf("nodeipam: cluster CIDR %s is not a network address (did you mean %s?)", n, p.Masked())
		}
		bits := c.NodeCIDRMaskSize
		if p.Addr().Is6() {
			bits = c.NodeCIDRMaskSizeIPv6
		}
		if _, err := newCIDRSet(p, bits); err != nil {
			return nil, fmt.Errorf("nodeipam: %w", err)
		}
		for _, f := range out {
			if f.cluster.Addr().Is4() == p.Addr().Is4() {
				return nil, fmt.Errorf("nodeipam: cluster CIDRs %s and %s are of one IP family: at most one per family", f.cluster, p)
			}
		}
		out = append(out, family{cluster: p, blockBits: bits})
	}
	return out, nil
}

// toPrefix converts a net.IPNet, keeping IPv4 as 4-byte addresses.
func toPrefix(n *net.IPNet) (netip.Prefix, error) {
	ones, bits := n.Mask.Size()
	if bits == 0 {
		return netip.Prefix{}, errors.New("its mask is not canonical")
	}
	addr, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, fmt.Errorf("bad IP %v", n.IP)
	}
	addr = addr.Unmap()
	if addr.BitLen() != bits {
		return netip.Prefix{}, fmt.Errorf("a %d-bit mask on a %d-bit address", bits, addr.BitLen())
	}
	return netip.PrefixFrom(addr, ones), nil
}
