package nodeipam

import (
	"errors"
	"fmt"
	"math/bits"
	"net/netip"
)

// maxBlockBits bounds the blocks of one cluster CIDR to 2^24 (a bitmap of
// 2 MiB): upstream's bitmap is bounded likewise (16 bits for IPv6).
const maxBlockBits = 24

// errRangeFull is returned when every block of a cluster CIDR is in use.
var errRangeFull = errors.New("CIDR allocation failed; there are no remaining CIDRs left to allocate in the accepted range")

// cidrSet hands out the equal blocks (of prefix length blockBits) of one
// cluster CIDR. A bitmap records the blocks in use; allocateNext searches it
// round-robin from just after the block it last handed out, as upstream's
// cidrset does, so that a block released is not handed out again at once
// (a node deleted and another created does not inherit its routes' block).
//
// A cidrSet is not safe for concurrent use; the controller holds its lock.
type cidrSet struct {
	cluster   netip.Prefix
	blockBits int // prefix length of a block
	addrBits  int // 32 or 128
	max       int // number of blocks
	used      []uint64
	allocated int
	next      int // the first block the next search looks at
}

// newCIDRSet returns the blocks of cluster with prefix length blockBits.
func newCIDRSet(cluster netip.Prefix, blockBits int) (*cidrSet, error) {
	if !cluster.IsValid() || cluster.Masked() != cluster {
		return nil, fmt.Errorf("cluster CIDR %s is not a network address", cluster)
	}
	addrBits := cluster.Addr().BitLen()
	diff := blockBits - cluster.Bits()
	switch {
	case blockBits > addrBits:
		return nil, fmt.Errorf("node CIDR mask size %d is longer than an %d-bit address", blockBits, addrBits)
	case diff <= 0:
		return nil, fmt.Errorf("node CIDR mask size %d must be longer than cluster CIDR %s's", blockBits, cluster)
	case diff > maxBlockBits:
		return nil, fmt.Errorf("cluster CIDR %s has 2^%d blocks of /%d: more than the 2^%d supported; use a longer cluster prefix or a shorter node mask",
			cluster, diff, blockBits, maxBlockBits)
	}
	n := 1 << diff
	return &cidrSet{cluster: cluster, blockBits: blockBits, addrBits: addrBits, max: n, used: make([]uint64, (n+63)/64)}, nil
}

// usage is the fraction of blocks in use.
func (s *cidrSet) usage() float64 { return float64(s.allocated) / float64(s.max) }

func (s *cidrSet) isUsed(i int) bool { return s.used[i/64]&(1<<(i%64)) != 0 }

// set marks block i used or free and reports whether that changed it.
func (s *cidrSet) set(i int, used bool) bool {
	if s.isUsed(i) == used {
		return false
	}
	s.used[i/64] ^= 1 << (i % 64)
	if used {
		s.allocated++
	} else {
		s.allocated--
	}
	return true
}

// allocateNext marks the next free block used and returns it, with the
// number of blocks found in use before it (upstream's "tries").
func (s *cidrSet) allocateNext() (netip.Prefix, int, error) {
	if s.allocated == s.max {
		return netip.Prefix{}, 0, errRangeFull
	}
	i := s.firstFree(s.next, s.max)
	if i < 0 {
		i = s.firstFree(0, s.next)
	}
	// Every block from next to i was in use.
	tries := (i - s.next + s.max) % s.max
	s.set(i, true)
	s.next = (i + 1) % s.max
	return s.block(i), tries, nil
}

// firstFree returns the first free block in [from, to), or -1.
func (s *cidrSet) firstFree(from, to int) int {
	for i := from; i < to; i = (i/64 + 1) * 64 {
		// The free blocks of i's word, from i on. Bits past max are free, so
		// the answer is checked against to.
		if free := ^s.used[i/64] >> (i % 64); free != 0 {
			if j := i + bits.TrailingZeros64(free); j < to {
				return j
			}
			return -1
		}
	}
	return -1
}

// block returns block i.
func (s *cidrSet) block(i int) netip.Prefix {
	hi, lo := addrToUint128(s.cluster.Addr())
	shift := uint(s.addrBits - s.blockBits)
	v := uint64(i)
	switch {
	case shift >= 64:
		hi |= v << (shift - 64)
	case shift == 0:
		lo |= v
	default:
		lo |= v << shift
		hi |= v >> (64 - shift)
	}
	return netip.PrefixFrom(uint128ToAddr(hi, lo, s.addrBits), s.blockBits)
}

// index returns the block holding addr, which must be in the cluster CIDR.
func (s *cidrSet) index(addr netip.Addr) int {
	hi, lo := addrToUint128(addr)
	shift := uint(s.addrBits - s.blockBits)
	var v uint64
	switch {
	case shift >= 64:
		v = hi >> (shift - 64)
	case shift == 0:
		v = lo
	default:
		v = lo>>shift | hi<<(64-shift)
	}
	return int(v & (uint64(s.max) - 1))
}

// span returns the blocks p covers (or, when p is smaller than a block, the
// block holding it).
func (s *cidrSet) span(p netip.Prefix) (first, last int, err error) {
	if !p.IsValid() || p.Addr().BitLen() != s.addrBits || !s.cluster.Overlaps(p) {
		return 0, 0, fmt.Errorf("CIDR %s is outside the cluster CIDR %s", p, s.cluster)
	}
	p = p.Masked()
	if p.Bits() <= s.cluster.Bits() {
		// p holds the whole cluster CIDR.
		return 0, s.max - 1, nil
	}
	first = s.index(p.Addr())
	if p.Bits() >= s.blockBits {
		return first, first, nil
	}
	return first, first + 1<<(s.blockBits-p.Bits()) - 1, nil
}

// occupy marks the blocks p covers used, whether or not they were. It
// returns how many were free.
func (s *cidrSet) occupy(p netip.Prefix) (int, error) {
	first, last, err := s.span(p)
	if err != nil {
		return 0, err
	}
	n := 0
	for i := first; i <= last; i++ {
		if s.set(i, true) {
			n++
		}
	}
	return n, nil
}

// release marks the blocks p covers free. It returns how many were used.
func (s *cidrSet) release(p netip.Prefix) (int, error) {
	first, last, err := s.span(p)
	if err != nil {
		return 0, err
	}
	n := 0
	for i := first; i <= last; i++ {
		if s.set(i, false) {
			n++
		}
	}
	return n, nil
}

func addrToUint128(a netip.Addr) (hi, lo uint64) {
	if a.Is4() {
		b := a.As4()
		return 0, uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])
	}
	b := a.As16()
	for i := range 8 {
		hi = hi<<8 | uint64(b[i])
		lo = lo<<8 | uint64(b[8+i])
	}
	return hi, lo
}

func uint128ToAddr(hi, lo uint64, addrBits int) netip.Addr {
	if addrBits == 32 {
		return netip.AddrFrom4([4]byte{byte(lo >> 24), byte(lo >> 16), byte(lo >> 8), byte(lo)})
	}
	var b [16]byte
	for i := range 8 {
		b[7-i] = byte(hi >> (8 * i))
		b[15-i] = byte(lo >> (8 * i))
	}
	return netip.AddrFrom16(b)
}
