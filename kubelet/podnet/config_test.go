package podnet

import (
	"net/netip"
	"strings"
	"testing"
)

func TestNewValidates(t *testing.T) {
	p := netip.MustParsePrefix
	for _, tc := range []struct {
		name string
		cfg  Config
		want string // substring of the error; "" means valid
	}{
		{"defaults", Config{PodCIDR: p("10.42.3.0/24")}, ""},
		{"host bits masked", Config{PodCIDR: p("10.42.3.7/24")}, ""},
		{"slash 30", Config{PodCIDR: p("10.42.3.4/30")}, ""},
		{"all set", Config{Bridge: "br-pods", PodCIDR: p("192.168.8.0/22"), ClusterCIDR: p("192.168.0.0/16"),
			ServiceCIDR: p("172.20.0.0/16"), MTU: 9000, Table: "tend_2"}, ""},
		{"no pod CIDR", Config{}, "pod CIDR: required"},
		{"pod CIDR too small", Config{PodCIDR: p("10.42.3.0/31")}, "too small"},
		{"pod CIDR IPv6", Config{PodCIDR: p("fd00::/64")}, "only IPv4"},
		{"pod CIDR outside cluster", Config{PodCIDR: p("10.44.3.0/24")}, "not inside cluster CIDR"},
		{"pod CIDR wider than cluster", Config{PodCIDR: p("10.0.0.0/8")}, "not inside cluster CIDR"},
		{"cluster CIDR IPv6", Config{PodCIDR: p("10.42.3.0/24"), ClusterCIDR: p("fd00::/48")}, "only IPv4"},
		{"service CIDR IPv6", Config{PodCIDR: p("10.42.3.0/24"), ServiceCIDR: p("fd01::/108")}, "only IPv4"},
		{"service overlaps cluster", Config{PodCIDR: p("10.42.3.0/24"), ServiceCIDR: p("10.42.128.0/20")}, "overlaps"},
		{"service contains cluster", Config{PodCIDR: p("10.42.3.0/24"), ServiceCIDR: p("10.0.0.0/8")}, "overlaps"},
		{"bridge name too long", Config{PodCIDR: p("10.42.3.0/24"), Bridge: "a-very-long-bridge"}, "longer than 15"},
		{"bridge name with slash", Config{PodCIDR: p("10.42.3.0/24"), Bridge: "br/0"}, "not a valid interface name"},
		{"MTU too small", Config{PodCIDR: p("10.42.3.0/24"), MTU: 60}, "MTU 60"},
		{"MTU negative", Config{PodCIDR: p("10.42.3.0/24"), MTU: -1}, "MTU -1"},
		{"table name", Config{PodCIDR: p("10.42.3.0/24"), Table: "tend table"}, "table"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := New(tc.cfg)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("New(%+v) = %v; want no error", tc.cfg, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New(%+v) = %v, %v; want an error containing %q", tc.cfg, n, err, tc.want)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	n, err := New(Config{PodCIDR: netip.MustParsePrefix("10.42.3.9/24")})
	if err != nil {
		t.Fatal(err)
	}
	got := n.cfg
	want := Config{Bridge: "tend0", PodCIDR: netip.MustParsePrefix("10.42.3.0/24"),
		ClusterCIDR: netip.MustParsePrefix("10.42.0.0/16"), ServiceCIDR: netip.MustParsePrefix("10.43.0.0/16"),
		MTU: 1500, Table: "tend"}
	if got != want {
		t.Errorf("New(%s).cfg = %+v; want %+v", "10.42.3.9/24", got, want)
	}
	if g, w := n.Gateway(), netip.MustParseAddr("10.42.3.1"); g != w {
		t.Errorf("Gateway() = %s; want %s", g, w)
	}
}

func TestCheckPodIP(t *testing.T) {
	n, err := New(Config{PodCIDR: netip.MustParsePrefix("10.42.3.0/24")})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ip string
		ok bool
	}{
		{"10.42.3.2", true},
		{"10.42.3.254", true},
		{"::ffff:10.42.3.9", true},
		{"10.42.3.0", false},
		{"10.42.3.1", false},
		{"10.42.3.255", false},
		{"10.42.4.2", false},
		{"fd00::2", false},
	} {
		err := n.checkPodIP(netip.MustParseAddr(tc.ip))
		if (err == nil) != tc.ok {
			t.Errorf("checkPodIP(%s) = %v; want ok %v", tc.ip, err, tc.ok)
		}
	}
	if err := n.checkPodIP(netip.Addr{}); err == nil {
		t.Errorf("checkPodIP(zero) = nil; want an error")
	}
}

func TestVethName(t *testing.T) {
	a, b := VethName("0b7d7e3c-5a43-4f5e-9d1c-2f3a4b5c6d7e"), VethName("another-pod")
	if len(a) != 12 || !strings.HasPrefix(a, "veth") {
		t.Errorf("VethName(uid) = %q; want veth and 8 hex digits", a)
	}
	if a == b {
		t.Errorf("VethName of two pods = %q, %q; want them different", a, b)
	}
	if again := VethName("another-pod"); again != b {
		t.Errorf("VethName(another-pod) = %q then %q; want it stable", b, again)
	}
}

func TestCheckPodID(t *testing.T) {
	for _, tc := range []struct {
		id string
		ok bool
	}{
		{"0b7d7e3c-5a43-4f5e-9d1c-2f3a4b5c6d7e", true},
		{strings.Repeat("f", 64), true},
		{strings.Repeat("f", 65), false},
		{"", false},
		{"with space", false},
		{"tab\there", false},
		{"é", false},
	} {
		if err := checkPodID(tc.id); (err == nil) != tc.ok {
			t.Errorf("checkPodID(%q) = %v; want ok %v", tc.id, err, tc.ok)
		}
	}
}
