package nodeipam

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
)

func mustSet(t testing.TB, cluster string, bits int) *cidrSet {
	t.Helper()
	s, err := newCIDRSet(netip.MustParsePrefix(cluster), bits)
	if err != nil {
		t.Fatalf("newCIDRSet(%s, %d): %v", cluster, bits, err)
	}
	return s
}

func TestNewCIDRSet(t *testing.T) {
	for _, tc := range []struct {
		cluster string
		bits    int
		max     int // 0: an error is wanted
	}{
		{"10.42.0.0/16", 24, 256},
		{"10.0.0.0/10", 24, 16384},
		{"10.42.0.0/24", 26, 4},
		{"10.42.0.0/16", 32, 65536},
		{"10.0.0.0/8", 32, 1 << 24}, // the most blocks allowed
		{"10.0.0.0/7", 32, 0},       // 2^25
		{"10.42.0.0/16", 16, 0},     // not longer than the cluster prefix
		{"10.42.0.0/16", 8, 0},
		{"10.42.0.0/16", 33, 0},
		{"10.42.1.0/16", 24, 0}, // not a network address
		{"2001:db8::/48", 64, 65536},
		{"fd00::/56", 72, 65536},
		{"2001:db8::/32", 64, 0}, // 2^32 blocks
	} {
		s, err := newCIDRSet(netip.MustParsePrefix(tc.cluster), tc.bits)
		switch {
		case tc.max == 0 && err == nil:
			t.Errorf("newCIDRSet(%s, %d) = %d blocks; want an error", tc.cluster, tc.bits, s.max)
		case tc.max != 0 && err != nil:
			t.Errorf("newCIDRSet(%s, %d): %v; want %d blocks", tc.cluster, tc.bits, err, tc.max)
		case tc.max != 0 && s.max != tc.max:
			t.Errorf("newCIDRSet(%s, %d) = %d blocks; want %d", tc.cluster, tc.bits, s.max, tc.max)
		}
	}
}

func TestBlocks(t *testing.T) {
	for _, tc := range []struct {
		cluster string
		bits    int
		index   int
		want    string
	}{
		{"10.42.0.0/16", 24, 0, "10.42.0.0/24"},
		{"10.42.0.0/16", 24, 255, "10.42.255.0/24"},
		{"10.42.0.0/24", 26, 3, "10.42.0.192/26"},
		{"10.0.0.0/10", 24, 16383, "10.63.255.0/24"},
		{"10.42.0.0/16", 32, 258, "10.42.1.2/32"},
		{"2001:db8::/48", 64, 1, "2001:db8:0:1::/64"},
		{"2001:db8::/48", 64, 65535, "2001:db8:0:ffff::/64"},
		// Blocks that straddle the two halves of a 128-bit address.
		{"fd00::/56", 72, 1, "fd00::100:0:0:0/72"},
		{"fd00::/56", 72, 0x100, "fd00:0:0:1::/72"},
		{"fd00::/56", 72, 0xffff, "fd00:0:0:ff:ff00::/72"},
		{"fd00::/120", 128, 7, "fd00::7/128"},
	} {
		s := mustSet(t, tc.cluster, tc.bits)
		got := s.block(tc.index)
		if got.String() != tc.want {
			t.Errorf("block %d of %s/%d = %s; want %s", tc.index, tc.cluster, tc.bits, got, tc.want)
		}
		if i := s.index(got.Addr()); i != tc.index {
			t.Errorf("index(%s) in %s = %d; want %d", got.Addr(), tc.cluster, i, tc.index)
		}
	}
}

// allocate allocates n blocks and returns them as strings.
func allocate(t *testing.T, s *cidrSet, n int) []string {
	t.Helper()
	var out []string
	for range n {
		p, _, err := s.allocateNext()
		if err != nil {
			t.Fatalf("allocateNext after %v: %v", out, err)
		}
		out = append(out, p.String())
	}
	return out
}

func TestAllocateExhaustReleaseReuse(t *testing.T) {
	s := mustSet(t, "10.42.0.0/24", 26)
	got := allocate(t, s, 4)
	want := []string{"10.42.0.0/26", "10.42.0.64/26", "10.42.0.128/26", "10.42.0.192/26"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("allocations = %v; want %v", got, want)
	}
	if p, _, err := s.allocateNext(); !errors.Is(err, errRangeFull) {
		t.Fatalf("allocateNext on a full set = %v, %v; want errRangeFull", p, err)
	}
	if n, err := s.release(netip.MustParsePrefix("10.42.0.64/26")); n != 1 || err != nil {
		t.Fatalf("release(10.42.0.64/26) = %d, %v; want 1, nil", n, err)
	}
	if n, _ := s.release(netip.MustParsePrefix("10.42.0.64/26")); n != 0 {
		t.Errorf("releasing a free block again freed %d; want 0", n)
	}
	if got := allocate(t, s, 1)[0]; got != "10.42.0.64/26" {
		t.Errorf("allocation after a release = %s; want the released 10.42.0.64/26", got)
	}
	if s.allocated != 4 || s.usage() != 1 {
		t.Errorf("allocated = %d, usage %v; want 4, 1", s.allocated, s.usage())
	}
}

func TestRoundRobin(t *testing.T) {
	// A released block is not handed out again before the search comes round
	// to it: the next allocation goes on from the last one.
	s := mustSet(t, "10.42.0.0/16", 24)
	allocate(t, s, 3) // .0, .1, .2
	if _, err := s.release(netip.MustParsePrefix("10.42.0.0/24")); err != nil {
		t.Fatal(err)
	}
	if got := allocate(t, s, 1)[0]; got != "10.42.3.0/24" {
		t.Errorf("allocation after releasing 10.42.0.0/24 = %s; want 10.42.3.0/24", got)
	}
	// Fill the rest; the search wraps round to .0 last.
	rest := allocate(t, s, 253)
	if last := rest[len(rest)-1]; last != "10.42.0.0/24" {
		t.Errorf("last allocation = %s; want the wrapped-round 10.42.0.0/24", last)
	}
	if _, _, err := s.allocateNext(); !errors.Is(err, errRangeFull) {
		t.Errorf("allocateNext on a full /16 = %v; want errRangeFull", err)
	}
}

func TestExhaustSixteen(t *testing.T) {
	s := mustSet(t, "10.42.0.0/16", 24)
	seen := map[string]bool{}
	for _, p := range allocate(t, s, 256) {
		if seen[p] {
			t.Fatalf("block %s handed out twice", p)
		}
		seen[p] = true
	}
	if _, _, err := s.allocateNext(); !errors.Is(err, errRangeFull) {
		t.Errorf("allocateNext after 256 blocks of a /16 = %v; want errRangeFull", err)
	}
}

func TestOccupy(t *testing.T) {
	for _, tc := range []struct {
		name     string
		occupy   string
		freed    int    // blocks newly marked
		wantNext string // the next allocation; "" for errRangeFull
		wantErr  bool
	}{
		{"a block", "10.42.0.0/24", 1, "10.42.1.0/24", false},
		{"inside a block", "10.42.0.128/25", 1, "10.42.1.0/24", false},
		{"two blocks", "10.42.0.0/23", 2, "10.42.2.0/24", false},
		{"the whole range", "10.42.0.0/16", 256, "", false},
		{"a supernet", "10.0.0.0/8", 256, "", false},
		{"outside", "192.168.0.0/24", 0, "10.42.0.0/24", true},
		{"another family", "2001:db8::/64", 0, "10.42.0.0/24", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustSet(t, "10.42.0.0/16", 24)
			n, err := s.occupy(netip.MustParsePrefix(tc.occupy))
			if (err != nil) != tc.wantErr || n != tc.freed {
				t.Fatalf("occupy(%s) = %d, %v; want %d, error %v", tc.occupy, n, err, tc.freed, tc.wantErr)
			}
			if n, _ := s.occupy(netip.MustParsePrefix(tc.occupy)); n != 0 {
				t.Errorf("occupying %s again marked %d; want 0", tc.occupy, n)
			}
			p, _, err := s.allocateNext()
			switch {
			case tc.wantNext == "" && !errors.Is(err, errRangeFull):
				t.Errorf("allocateNext = %v, %v; want errRangeFull", p, err)
			case tc.wantNext != "" && p.String() != tc.wantNext:
				t.Errorf("allocateNext = %v, %v; want %s", p, err, tc.wantNext)
			}
		})
	}
}

func TestTries(t *testing.T) {
	s := mustSet(t, "10.0.0.0/10", 24)
	// Occupy blocks 0..199 but 150; the first allocation finds 150 after
	// 150 blocks in use, the next finds 200 right away.
	for i := range 200 {
		if i != 150 {
			s.set(i, true)
		}
	}
	p, tries, _ := s.allocateNext()
	if p != s.block(150) || tries != 150 {
		t.Errorf("allocateNext = %s after %d tries; want %s after 150", p, tries, s.block(150))
	}
	p, tries, _ = s.allocateNext()
	if p != s.block(200) || tries != 49 {
		t.Errorf("allocateNext = %s after %d tries; want %s after 49", p, tries, s.block(200))
	}
}

// BenchmarkAllocate5000 gives 5,000 nodes a /24 of a /10 (16,384 blocks).
func BenchmarkAllocate5000(b *testing.B) {
	cluster := netip.MustParsePrefix("10.0.0.0/10")
	for b.Loop() {
		s, _ := newCIDRSet(cluster, 24)
		for range 5000 {
			if _, _, err := s.allocateNext(); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkChurnNearlyFull releases a random block of a full /10 and
// allocates again: the longest searches the bitmap has.
func BenchmarkChurnNearlyFull(b *testing.B) {
	s, _ := newCIDRSet(netip.MustParsePrefix("10.0.0.0/10"), 24)
	for range s.max {
		s.allocateNext()
	}
	r := rand.New(rand.NewPCG(1, 2))
	for b.Loop() {
		if _, err := s.release(s.block(r.IntN(s.max))); err != nil {
			b.Fatal(err)
		}
		if _, _, err := s.allocateNext(); err != nil {
			b.Fatal(err)
		}
	}
}
