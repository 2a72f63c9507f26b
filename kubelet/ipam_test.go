package kubelet

import (
	"fmt"
	"testing"

	"k8s.io/apimachinery/pkg/types"
)

func TestIPAllocator(t *testing.T) {
	a, err := newIPAllocator("10.42.3.0/29") // .2 to .6 usable
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := 0; i < 5; i++ {
		ip, err := a.allocate(types.UID(fmt.Sprint("p", i)), "")
		if err != nil {
			t.Fatalf("allocate %d: %v", i, err)
		}
		got = append(got, ip.String())
	}
	if want := "[10.42.3.2 10.42.3.3 10.42.3.4 10.42.3.5 10.42.3.6]"; fmt.Sprint(got) != want {
		t.Errorf("addresses = %v; want %s (no network, gateway or broadcast address)", got, want)
	}
	if _, err := a.allocate("p5", ""); err == nil {
		t.Errorf("allocate in a full range succeeded; want an error")
	}
	if ip, _ := a.allocate("p1", ""); ip.String() != "10.42.3.3" {
		t.Errorf("allocate for a pod that has an address = %s; want its 10.42.3.3", ip)
	}
	a.release("p1")
	a.release("p3")
	if ip, _ := a.allocate("p6", ""); ip.String() != "10.42.3.3" {
		t.Errorf("after releases, next = %s; want 10.42.3.3 (the next free after the last given)", ip)
	}
	if ip, _ := a.allocate("p7", "10.42.3.9"); ip.String() != "10.42.3.5" {
		t.Errorf("allocate preferring an address out of range = %s; want the next free, 10.42.3.5", ip)
	}
	a.release("p0")
	if ip, _ := a.allocate("p8", "10.42.3.2"); ip.String() != "10.42.3.2" {
		t.Errorf("allocate preferring a free address = %s; want it, 10.42.3.2", ip)
	}
}

func TestIPAllocatorReserve(t *testing.T) {
	a, err := newIPAllocator("10.42.0.0/24")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		uid  types.UID
		ip   string
		want bool
	}{
		{"a", "10.42.0.7", true},
		{"a", "10.42.0.7", true},  // again: it is a's
		{"b", "10.42.0.7", false}, // taken
		{"b", "10.42.1.7", false}, // out of range
		{"b", "10.42.0.1", false}, // the gateway
		{"b", "not-an-ip", false},
	} {
		if got := a.reserve(tc.uid, tc.ip); got != tc.want {
			t.Errorf("reserve(%s, %s) = %t; want %t", tc.uid, tc.ip, got, tc.want)
		}
	}
	if ip, _ := a.allocate("c", ""); ip.String() != "10.42.0.2" {
		t.Errorf("first free = %s; want 10.42.0.2", ip)
	}
}

func TestIPAllocatorRanges(t *testing.T) {
	for _, tc := range []struct {
		cidr, first, last string
	}{
		{"10.42.0.0/24", "10.42.0.2", "10.42.0.254"},
		{"10.42.0.17/28", "10.42.0.18", "10.42.0.30"},
		{"fd00:42::/120", "fd00:42::2", "fd00:42::ff"},
	} {
		a, err := newIPAllocator(tc.cidr)
		if err != nil {
			t.Errorf("newIPAllocator(%s): %v", tc.cidr, err)
			continue
		}
		if a.first.String() != tc.first || a.last.String() != tc.last {
			t.Errorf("range of %s = %s-%s; want %s-%s", tc.cidr, a.first, a.last, tc.first, tc.last)
		}
	}
	for _, bad := range []string{"10.42.0.0/31", "10.42.0.0/32", "nonsense"} {
		if _, err := newIPAllocator(bad); err == nil {
			t.Errorf("newIPAllocator(%s) succeeded; want an error", bad)
		}
	}
}
