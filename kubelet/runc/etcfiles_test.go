package runc

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestHostsFile(t *testing.T) {
	boiler := "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n"
	for _, tt := range []struct {
		name string
		spec corev1.PodSpec
		want string
	}{
		{"plain", corev1.PodSpec{}, boiler + "10.42.0.5\tweb-0\n"},
		{"subdomain", corev1.PodSpec{Subdomain: "web"}, boiler + "10.42.0.5\tweb-0.web.prod.svc.cluster.local\tweb-0\n"},
		{"aliases", corev1.PodSpec{HostAliases: []corev1.HostAlias{{IP: "127.0.0.1", Hostnames: []string{"foo.local", "bar.local"}}}},
			boiler + "10.42.0.5\tweb-0\n\n# Entries added by HostAliases.\n127.0.0.1\tfoo.local\tbar.local\n"},
		{"host network", corev1.PodSpec{HostNetwork: true}, "# Kubernetes-managed hosts file (host network).\n127.0.0.1 node\n"},
	} {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-0", Namespace: "prod"}, Spec: tt.spec}
		if got := string(hostsFile(pod, []string{"10.42.0.5"}, "web-0", "cluster.local", []byte("127.0.0.1 node"))); got != tt.want {
			t.Errorf("%s: hosts =\n%s\nwant\n%s", tt.name, got, tt.want)
		}
	}
}

func TestResolvConf(t *testing.T) {
	node := []byte("# node\nnameserver 192.168.1.1\nnameserver 192.168.1.2 ; second\nsearch corp.example lab.example\noptions edns0\n")
	five := "5"
	for _, tt := range []struct {
		name       string
		spec       corev1.PodSpec
		clusterDNS []string
		want       string
	}{
		{"cluster first", corev1.PodSpec{}, []string{"10.43.0.10"},
			"search prod.svc.cluster.local svc.cluster.local cluster.local corp.example lab.example\nnameserver 10.43.0.10\noptions ndots:5\n"},
		{"no cluster DNS falls back to the node's", corev1.PodSpec{}, nil,
			"search corp.example lab.example\nnameserver 192.168.1.1\nnameserver 192.168.1.2\noptions edns0\n"},
		{"host network with ClusterFirst gets the node's", corev1.PodSpec{HostNetwork: true}, []string{"10.43.0.10"},
			"search corp.example lab.example\nnameserver 192.168.1.1\nnameserver 192.168.1.2\noptions edns0\n"},
		{"host network with ClusterFirstWithHostNet", corev1.PodSpec{HostNetwork: true, DNSPolicy: corev1.DNSClusterFirstWithHostNet}, []string{"10.43.0.10"},
			"search prod.svc.cluster.local svc.cluster.local cluster.local corp.example lab.example\nnameserver 10.43.0.10\noptions ndots:5\n"},
		{"None with dnsConfig", corev1.PodSpec{DNSPolicy: corev1.DNSNone, DNSConfig: &corev1.PodDNSConfig{
			Nameservers: []string{"1.1.1.1"}, Searches: []string{"a.example"}, Options: []corev1.PodDNSConfigOption{{Name: "ndots", Value: &five}, {Name: "rotate"}}}}, []string{"10.43.0.10"},
			"search a.example\nnameserver 1.1.1.1\noptions ndots:5 rotate\n"},
		{"dnsConfig overrides an option and adds", corev1.PodSpec{DNSConfig: &corev1.PodDNSConfig{
			Nameservers: []string{"1.1.1.1", "8.8.8.8", "9.9.9.9"}, Options: []corev1.PodDNSConfigOption{{Name: "ndots", Value: &five}}}}, []string{"10.43.0.10"},
			"search prod.svc.cluster.local svc.cluster.local cluster.local corp.example lab.example\nnameserver 10.43.0.10\nnameserver 1.1.1.1\nnameserver 8.8.8.8\noptions ndots:5\n"},
	} {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-0", Namespace: "prod"}, Spec: tt.spec}
		if got := string(resolvConf(pod, tt.clusterDNS, "cluster.local", node)); got != tt.want {
			t.Errorf("%s: resolv.conf =\n%s\nwant\n%s", tt.name, got, tt.want)
		}
	}
	many := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "prod"}, Spec: corev1.PodSpec{DNSPolicy: corev1.DNSNone,
		DNSConfig: &corev1.PodDNSConfig{Nameservers: []string{"1.1.1.1"}}}}
	for i := range 40 {
		many.Spec.DNSConfig.Searches = append(many.Spec.DNSConfig.Searches, strings.Repeat("d", 60)+string(rune('a'+i%26))+string(rune('a'+i/26)))
	}
	got := string(resolvConf(many, nil, "cluster.local", nil))
	line, _, _ := strings.Cut(got, "\n")
	if n := len(strings.Fields(line)) - 1; n > maxSearchDomains || len(line) > maxSearchChars+len("search ") {
		t.Errorf("search line of %d domains, %d characters; want at most 32 and 2048", n, len(line))
	}
}
