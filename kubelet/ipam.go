package kubelet

import (
	"fmt"
	"net/netip"

	"k8s.io/apimachinery/pkg/types"
)

// ipAllocator hands out pod addresses from the node's pod CIDR, as a CNI
// host-local IPAM does: the network address and the first address (the
// bridge's gateway) are never given, nor the IPv4 broadcast address; each new
// address is the next free one after the last given, so an address just
// released is not reused at once. It is not safe for concurrent use.
type ipAllocator struct {
	prefix      netip.Prefix
	first, last netip.Addr
	used        map[netip.Addr]types.UID
	byPod       map[types.UID]netip.Addr
	cursor      netip.Addr // the last address given
}

// maxScan bounds the search for a free address in huge (IPv6) ranges.
const maxScan = 1 << 16

func newIPAllocator(cidr string) (*ipAllocator, error) {
	prefix, err := netip.ParsePrefix(cidr)
	if err != nil {
		return nil, fmt.Errorf("pod CIDR %q: %w", cidr, err)
	}
	prefix = prefix.Masked()
	bits := prefix.Addr().BitLen() - prefix.Bits()
	if bits < 2 {
		return nil, fmt.Errorf("pod CIDR %q has no room for pods", cidr)
	}
	first := prefix.Addr().Next().Next()
	last := lastAddr(prefix)
	if prefix.Addr().Is4() {
		last = last.Prev() // the broadcast address
	}
	if last.Less(first) {
		return nil, fmt.Errorf("pod CIDR %q has no room for pods", cidr)
	}
	return &ipAllocator{prefix: prefix, first: first, last: last, cursor: first.Prev(),
		used: map[netip.Addr]types.UID{}, byPod: map[types.UID]netip.Addr{}}, nil
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	hostBits := len(b)*8 - p.Bits()
	for i := len(b) - 1; i >= 0 && hostBits > 0; i-- {
		n := min(hostBits, 8)
		b[i] |= byte(1<<n - 1)
		hostBits -= n
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// allocate returns the pod's address: the one it holds, else preferred when
// that is free and in range, else the next free one.
func (a *ipAllocator) allocate(uid types.UID, preferred string) (netip.Addr, error) {
	if ip, ok := a.byPod[uid]; ok {
		return ip, nil
	}
	if p, err := netip.ParseAddr(preferred); err == nil && a.inRange(p) {
		if _, taken := a.used[p]; !taken {
			a.take(uid, p)
			return p, nil
		}
	}
	ip := a.cursor
	for i := 0; i < maxScan; i++ {
		ip = ip.Next()
		if !ip.IsValid() || a.last.Less(ip) {
			ip = a.first
		}
		if _, taken := a.used[ip]; !taken {
			a.take(uid, ip)
			a.cursor = ip
			return ip, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("no free address left in pod CIDR %s (%d in use)", a.prefix, len(a.used))
}

// reserve records that the pod holds ip (a sandbox the runtime kept), if ip is
// in range and free. It reports whether it did.
func (a *ipAllocator) reserve(uid types.UID, ip string) bool {
	p, err := netip.ParseAddr(ip)
	if err != nil || !a.inRange(p) {
		return false
	}
	if owner, taken := a.used[p]; taken {
		return owner == uid
	}
	if _, has := a.byPod[uid]; has {
		return false
	}
	a.take(uid, p)
	return true
}

// release frees the pod's address, if it holds one.
func (a *ipAllocator) release(uid types.UID) {
	if ip, ok := a.byPod[uid]; ok {
		delete(a.byPod, uid)
		delete(a.used, ip)
	}
}

func (a *ipAllocator) take(uid types.UID, ip netip.Addr) {
	a.used[ip] = uid
	a.byPod[uid] = ip
}

func (a *ipAllocator) inRange(ip netip.Addr) bool {
	return a.prefix.Contains(ip) && !ip.Less(a.first) && !a.last.Less(ip)
}
