package podnet

import (
	"net/netip"
	"strings"
	"testing"
)

func TestHostPortNormalize(t *testing.T) {
	a := netip.MustParseAddr
	for _, tc := range []struct {
		in      HostPort
		want    HostPort
		wantErr string
	}{
		{in: HostPort{HostPort: 80, ContainerPort: 8080}, want: HostPort{Protocol: "TCP", HostPort: 80, ContainerPort: 8080}},
		{in: HostPort{Protocol: "UDP", HostPort: 53, ContainerPort: 53, HostIP: a("0.0.0.0")},
			want: HostPort{Protocol: "UDP", HostPort: 53, ContainerPort: 53}},
		{in: HostPort{Protocol: "SCTP", HostPort: 9, ContainerPort: 9, HostIP: a("::ffff:192.0.2.1")},
			want: HostPort{Protocol: "SCTP", HostPort: 9, ContainerPort: 9, HostIP: a("192.0.2.1")}},
		{in: HostPort{Protocol: "tcp", HostPort: 80, ContainerPort: 80}, wantErr: "protocol"},
		{in: HostPort{HostPort: 0, ContainerPort: 80}, wantErr: "host port 0"},
		{in: HostPort{HostPort: 65536, ContainerPort: 80}, wantErr: "host port 65536"},
		{in: HostPort{HostPort: 80, ContainerPort: -1}, wantErr: "container port -1"},
		{in: HostPort{HostPort: 80, ContainerPort: 80, HostIP: a("2001:db8::1")}, wantErr: "only IPv4"},
	} {
		got, err := tc.in.normalize()
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%+v.normalize() = %+v, %v; want an error containing %q", tc.in, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%+v.normalize() = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestCheckHostPorts(t *testing.T) {
	a := netip.MustParseAddr
	all := map[string]podHostPorts{
		"a": {IP: a("10.42.3.2"), Ports: []HostPort{
			{Protocol: "TCP", HostPort: 80, ContainerPort: 8080},
			{Protocol: "TCP", HostPort: 443, ContainerPort: 8443, HostIP: a("192.0.2.1")},
		}},
	}
	for _, tc := range []struct {
		name  string
		pod   string
		ports []HostPort
		ok    bool
	}{
		{"same pod again", "a", all["a"].Ports, true},
		{"other port", "b", []HostPort{{Protocol: "TCP", HostPort: 81, ContainerPort: 80}}, true},
		{"same port other protocol", "b", []HostPort{{Protocol: "UDP", HostPort: 80, ContainerPort: 80}}, true},
		{"same port other host IP", "b", []HostPort{{Protocol: "TCP", HostPort: 443, ContainerPort: 80, HostIP: a("192.0.2.2")}}, true},
		{"taken", "b", []HostPort{{Protocol: "TCP", HostPort: 80, ContainerPort: 80}}, false},
		{"taken by any", "b", []HostPort{{Protocol: "TCP", HostPort: 80, ContainerPort: 80, HostIP: a("192.0.2.9")}}, false},
		{"any over specific", "b", []HostPort{{Protocol: "TCP", HostPort: 443, ContainerPort: 80}}, false},
		{"twice in one pod", "b", []HostPort{
			{Protocol: "UDP", HostPort: 53, ContainerPort: 53},
			{Protocol: "UDP", HostPort: 53, ContainerPort: 5353},
		}, false},
	} {
		err := checkHostPorts(all, tc.pod, tc.ports)
		if (err == nil) != tc.ok {
			t.Errorf("%s: checkHostPorts(%s, %+v) = %v; want ok %v", tc.name, tc.pod, tc.ports, err, tc.ok)
		}
	}
}

func TestHostPortRecordRoundTrip(t *testing.T) {
	a := netip.MustParseAddr
	long := strings.Repeat("f", 64)
	for _, r := range []hostPortRecord{
		{podID: "uid-1", ip: a("10.42.3.2"), port: HostPort{Protocol: "TCP", HostPort: 30080, ContainerPort: 8080}},
		{podID: long, ip: a("10.42.255.254"), port: HostPort{Protocol: "SCTP", HostPort: 65535, ContainerPort: 65535, HostIP: a("255.255.255.254")}},
	} {
		s := r.String()
		if len(s)+1 > 128 {
			t.Errorf("len(%q) = %d; want at most 127 (nft's comment limit with its NUL)", s, len(s))
		}
		got, err := parseHostPortRecord(s)
		if err != nil || got != r {
			t.Errorf("parseHostPortRecord(%q) = %+v, %v; want %+v", s, got, err, r)
		}
	}
	if got, want := (hostPortRecord{podID: "p", ip: a("10.42.3.5"), port: HostPort{Protocol: "UDP", HostPort: 53, ContainerPort: 5353}}).String(),
		"tend-hostport p UDP 0.0.0.0:53 10.42.3.5:5353"; got != want {
		t.Errorf("String() = %q; want %q", got, want)
	}
	for _, s := range []string{
		"",
		"some admin's comment",
		"tend-hostport p TCP 0.0.0.0:53",
		"tend-hostport p ICMP 0.0.0.0:53 10.42.3.5:53",
		"tend-hostport p TCP 0.0.0.0:0 10.42.3.5:53",
		"tend-hostport p TCP 0.0.0.0:53 [fd00::1]:53",
		"tend-hostport p TCP 0.0.0.0:53 10.42.3.5:53 extra",
		"tend-hp p TCP 0.0.0.0:53 10.42.3.5:53",
	} {
		if got, err := parseHostPortRecord(s); err == nil {
			t.Errorf("parseHostPortRecord(%q) = %+v; want an error", s, got)
		}
	}
}

func TestHostPortRecordsOrder(t *testing.T) {
	a := netip.MustParseAddr
	all := map[string]podHostPorts{
		"b": {IP: a("10.42.3.3"), Ports: []HostPort{{Protocol: "TCP", HostPort: 2, ContainerPort: 2}}},
		"a": {IP: a("10.42.3.2"), Ports: []HostPort{
			{Protocol: "TCP", HostPort: 9, ContainerPort: 9}, {Protocol: "UDP", HostPort: 1, ContainerPort: 1}}},
	}
	var got []string
	for _, r := range hostPortRecords(all) {
		got = append(got, r.String())
	}
	want := []string{
		"tend-hostport a TCP 0.0.0.0:9 10.42.3.2:9",
		"tend-hostport a UDP 0.0.0.0:1 10.42.3.2:1",
		"tend-hostport b TCP 0.0.0.0:2 10.42.3.3:2",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("hostPortRecords = %q; want %q", got, want)
	}
}
