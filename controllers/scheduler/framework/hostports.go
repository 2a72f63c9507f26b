package framework

import corev1 "k8s.io/api/core/v1"

const wildcardIP = "0.0.0.0"

// hostPort is one host port a container asks for, defaults applied
// (ip 0.0.0.0, protocol TCP).
type hostPort struct {
	ip       string
	protocol corev1.Protocol
	port     int32
}

// podHostPorts are the host ports of p's containers and restartable init
// containers (sidecars keep theirs for the pod's life), as upstream's
// schedutil.GetHostPorts.
func podHostPorts(p *corev1.Pod) []hostPort {
	var out []hostPort
	add := func(c *corev1.Container) {
		for i := range c.Ports {
			cp := &c.Ports[i]
			if cp.HostPort <= 0 {
				continue
			}
			hp := hostPort{ip: cp.HostIP, protocol: cp.Protocol, port: cp.HostPort}
			if hp.ip == "" {
				hp.ip = wildcardIP
			}
			if hp.protocol == "" {
				hp.protocol = corev1.ProtocolTCP
			}
			out = append(out, hp)
		}
	}
	for i := range p.Spec.Containers {
		add(&p.Spec.Containers[i])
	}
	for i := range p.Spec.InitContainers {
		c := &p.Spec.InitContainers[i]
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			add(c)
		}
	}
	return out
}

// hostPortSet is the host ports in use on a node, counted so that removing
// one of two pods holding the same port (possible with assumed pods) keeps it.
// Nodes hold few host ports, so a slice beats a map.
type hostPortSet struct {
	entries []hostPortCount
}

type hostPortCount struct {
	hostPort
	n int
}

func (s *hostPortSet) add(hp hostPort) {
	for i := range s.entries {
		if s.entries[i].hostPort == hp {
			s.entries[i].n++
			return
		}
	}
	s.entries = append(s.entries, hostPortCount{hostPort: hp, n: 1})
}

func (s *hostPortSet) remove(hp hostPort) {
	for i := range s.entries {
		if s.entries[i].hostPort == hp {
			s.entries[i].n--
			if s.entries[i].n <= 0 {
				s.entries = append(s.entries[:i], s.entries[i+1:]...)
			}
			return
		}
	}
}

func (s hostPortSet) clone() hostPortSet {
	if len(s.entries) == 0 {
		return hostPortSet{}
	}
	return hostPortSet{entries: append([]hostPortCount(nil), s.entries...)}
}

// conflicts is upstream's HostPortInfo.CheckConflict: the wildcard address
// conflicts with every address on the same protocol and port, and a specific
// address with itself and the wildcard.
func (s *hostPortSet) conflicts(hp hostPort) bool {
	for i := range s.entries {
		e := &s.entries[i].hostPort
		if e.port != hp.port || e.protocol != hp.protocol {
			continue
		}
		if hp.ip == wildcardIP || e.ip == wildcardIP || e.ip == hp.ip {
			return true
		}
	}
	return false
}
