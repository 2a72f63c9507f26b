package runc

import (
	"bufio"
	"bytes"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// hostsFile is the /etc/hosts the kubelet gives a pod's containers, as
// upstream's: the localhost boilerplate, the pod's addresses with its
// hostname (and, with a subdomain, its fully qualified name), then the
// pod's hostAliases. A host-network pod gets the node's file instead, under
// the same heading.
func hostsFile(pod *corev1.Pod, podIPs []string, hostname, clusterDomain string, nodeHosts []byte) []byte {
	var b bytes.Buffer
	if pod.Spec.HostNetwork {
		b.WriteString("# Kubernetes-managed hosts file (host network).\n")
		b.Write(nodeHosts)
		if len(nodeHosts) > 0 && !bytes.HasSuffix(nodeHosts, []byte("\n")) {
			b.WriteByte('\n')
		}
	} else {
		b.WriteString("# Kubernetes-managed hosts file.\n")
		b.WriteString("127.0.0.1\tlocalhost\n")
		b.WriteString("::1\tlocalhost ip6-localhost ip6-loopback\n")
		b.WriteString("fe00::0\tip6-localnet\n")
		b.WriteString("fe00::0\tip6-mcastprefix\n")
		b.WriteString("fe00::1\tip6-allnodes\n")
		b.WriteString("fe00::2\tip6-allrouters\n")
		for _, ip := range podIPs {
			if sub := pod.Spec.Subdomain; sub != "" {
				fmt.Fprintf(&b, "%s\t%s.%s.%s.svc.%s\t%s\n", ip, hostname, sub, pod.Namespace, clusterDomain, hostname)
			} else {
				fmt.Fprintf(&b, "%s\t%s\n", ip, hostname)
			}
		}
	}
	if len(pod.Spec.HostAliases) > 0 {
		b.WriteString("\n# Entries added by HostAliases.\n")
		for _, a := range pod.Spec.HostAliases {
			fmt.Fprintf(&b, "%s\t%s\n", a.IP, strings.Join(a.Hostnames, "\t"))
		}
	}
	return b.Bytes()
}

// DNS limits, as the kubelet enforces them.
const (
	maxNameservers   = 3
	maxSearchDomains = 32
	maxSearchChars   = 2048
)

// resolvConf is a pod's /etc/resolv.conf by its dnsPolicy and dnsConfig, as
// upstream's kubelet computes it: ClusterFirst (and ClusterFirstWithHostNet
// for host-network pods) use the cluster's DNS with the namespace's search
// path and ndots:5, Default the node's resolv.conf, None only dnsConfig; a
// ClusterFirst host-network pod, or any pod without a cluster DNS, gets the
// node's. dnsConfig's nameservers and searches are added, its options
// override by name; nameservers are cut to 3 and searches to 32 (2,048
// characters).
func resolvConf(pod *corev1.Pod, clusterDNS []string, clusterDomain string, nodeResolv []byte) []byte {
	hostNS, hostSearch, hostOpts := parseResolvConf(nodeResolv)
	policy := pod.Spec.DNSPolicy
	if policy == "" {
		policy = corev1.DNSClusterFirst
	}
	if policy == corev1.DNSClusterFirst && pod.Spec.HostNetwork {
		policy = corev1.DNSDefault
	}
	if (policy == corev1.DNSClusterFirst || policy == corev1.DNSClusterFirstWithHostNet) && len(clusterDNS) == 0 {
		policy = corev1.DNSDefault
	}
	var ns, search, opts []string
	switch policy {
	case corev1.DNSClusterFirst, corev1.DNSClusterFirstWithHostNet:
		ns = slices.Clone(clusterDNS)
		search = append([]string{pod.Namespace + ".svc." + clusterDomain, "svc." + clusterDomain, clusterDomain}, hostSearch...)
		opts = []string{"ndots:5"}
	case corev1.DNSDefault:
		ns, search, opts = hostNS, hostSearch, hostOpts
	}
	if c := pod.Spec.DNSConfig; c != nil {
		for _, n := range c.Nameservers {
			if !slices.Contains(ns, n) {
				ns = append(ns, n)
			}
		}
		for _, s := range c.Searches {
			if !slices.Contains(search, s) {
				search = append(search, s)
			}
		}
		for _, o := range c.Options {
			opt := o.Name
			if o.Value != nil {
				opt += ":" + *o.Value
			}
			opts = slices.DeleteFunc(opts, func(cur string) bool {
				name, _, _ := strings.Cut(cur, ":")
				return name == o.Name
			})
			opts = append(opts, opt)
		}
	}
	if len(ns) > maxNameservers {
		ns = ns[:maxNameservers]
	}
	search = slices.Compact(search)
	if len(search) > maxSearchDomains {
		search = search[:maxSearchDomains]
	}
	for len(search) > 0 && len(strings.Join(search, " ")) > maxSearchChars {
		search = search[:len(search)-1]
	}
	var b bytes.Buffer
	if len(search) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(search, " "))
	}
	for _, n := range ns {
		fmt.Fprintf(&b, "nameserver %s\n", n)
	}
	if len(opts) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(opts, " "))
	}
	return b.Bytes()
}

// parseResolvConf reads a resolv.conf's nameservers, search domains
// ("domain" counting as one, the last line winning) and options.
func parseResolvConf(b []byte) (ns, search, opts []string) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexAny(line, "#;"); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "nameserver":
			if len(f) > 1 {
				ns = append(ns, f[1])
			}
		case "search", "domain":
			search = slices.Clone(f[1:])
		case "options":
			opts = append(opts, f[1:]...)
		}
	}
	return ns, search, opts
}
