package apiserver

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/tendhq/tend/apiserver/storage"
)

// Claim key prefixes: a Service holds one claim per ClusterIP and per NodePort,
// created and deleted in the same etcd transaction as the Service, so no two
// Services ever hold the same address or port.
const (
	claimServiceIP = "/registry/ranges/serviceips/"
	claimNodePort  = "/registry/ranges/servicenodeports/"
)

// serviceCIDR is an IPv4 service range.
type serviceCIDR struct {
	net  *net.IPNet
	base uint32
	size uint32
}

func parseServiceCIDR(s string) (*serviceCIDR, error) {
	_, n, err := net.ParseCIDR(s)
	if err != nil {
		return nil, fmt.Errorf("service CIDR %q: %w", s, err)
	}
	ip4 := n.IP.To4()
	ones, bits := n.Mask.Size()
	if ip4 == nil || bits != 32 {
		return nil, fmt.Errorf("service CIDR %q: only IPv4 ranges are supported", s)
	}
	if ones > 28 {
		return nil, fmt.Errorf("service CIDR %q is too small: use /28 or larger", s)
	}
	return &serviceCIDR{net: n, base: binary.BigEndian.Uint32(ip4), size: 1 << (32 - ones)}, nil
}

func (c *serviceCIDR) at(offset uint32) net.IP {
	ip := make(net.IP, 4)
	binary.BigEndian.PutUint32(ip, c.base+offset)
	return ip
}

// first is the range's first usable address, the kubernetes Service's.
func (c *serviceCIDR) first() net.IP { return c.at(1) }

// random picks an address for dynamic allocation from above the static band
// (the low addresses upstream leaves to Services that ask for one), never the
// network or broadcast address. wide takes the whole range, for when the upper
// band seems full.
func (c *serviceCIDR) random(wide bool) net.IP {
	static := c.size / 16
	static = max(16, min(static, 256))
	lo, hi := static, c.size-2
	if lo >= hi || wide {
		lo = 1
	}
	return c.at(lo + rand.Uint32N(hi-lo+1))
}

func (c *serviceCIDR) usable(ip net.IP) bool {
	ip4 := ip.To4()
	if ip4 == nil || !c.net.Contains(ip4) {
		return false
	}
	off := binary.BigEndian.Uint32(ip4) - c.base
	return off != 0 && off != c.size-1
}

func parsePortRange(s string) (int, int, error) {
	lo, hi, ok := strings.Cut(s, "-")
	a, err1 := strconv.Atoi(lo)
	b, err2 := strconv.Atoi(hi)
	if !ok || err1 != nil || err2 != nil || a < 1 || b > 65535 || a > b {
		return 0, 0, fmt.Errorf("node port range %q must be LOW-HIGH within 1-65535", s)
	}
	return a, b, nil
}

// wideAfter is how many allocation attempts of one request pick from the upper
// bands only; later attempts (the callers retry a random pick another Service
// took) pick from the whole range, so that a full upper band still allocates.
const wideAfter = 4

type serviceAllocator struct {
	cidr   *serviceCIDR
	lo, hi int
}

func newServiceAllocator(cidr *serviceCIDR, lo, hi int) *serviceAllocator {
	return &serviceAllocator{cidr: cidr, lo: lo, hi: hi}
}

// claims lists the claims a Service holds.
func (a *serviceAllocator) claims(obj runtime.Object) []string {
	svc := obj.(*corev1.Service)
	var out []string
	for _, ip := range svc.Spec.ClusterIPs {
		if ip != "" && ip != corev1.ClusterIPNone {
			out = append(out, claimServiceIP+ip)
		}
	}
	for _, p := range svc.Spec.Ports {
		if p.NodePort != 0 {
			out = append(out, claimNodePort+strconv.Itoa(int(p.NodePort)))
		}
	}
	if svc.Spec.HealthCheckNodePort != 0 {
		out = append(out, claimNodePort+strconv.Itoa(int(svc.Spec.HealthCheckNodePort)))
	}
	return out
}

func needsNodePorts(s *corev1.Service) bool {
	return s.Spec.Type == corev1.ServiceTypeNodePort ||
		(s.Spec.Type == corev1.ServiceTypeLoadBalancer &&
			(s.Spec.AllocateLoadBalancerNodePorts == nil || *s.Spec.AllocateLoadBalancerNodePorts))
}

// allocate fills in the ClusterIP and NodePorts a Service needs, keeping old's
// where the update keeps them; it remembers which values it picked at random so
// that a claim conflict on one of them is retried rather than reported.
func (rq *request) allocate(obj, old runtime.Object) error {
	svc, ok := obj.(*corev1.Service)
	if !ok {
		return nil
	}
	a := rq.s.services
	rq.randomClaims = map[string]bool{}
	rq.allocations++
	var prev *corev1.Service
	if old != nil {
		prev = old.(*corev1.Service)
		dropTypeDependentFields(svc, prev)
	}
	var errs field.ErrorList
	spec := &svc.Spec
	if spec.ClusterIP == "" && len(spec.ClusterIPs) > 0 {
		spec.ClusterIP = spec.ClusterIPs[0]
	}
	if spec.Type != corev1.ServiceTypeExternalName {
		switch {
		case spec.ClusterIP == corev1.ClusterIPNone:
		case spec.ClusterIP == "" && prev != nil && prev.Spec.ClusterIP != "":
			spec.ClusterIP = prev.Spec.ClusterIP
		case spec.ClusterIP == "":
			ip := a.cidr.random(rq.allocations > wideAfter).String()
			spec.ClusterIP = ip
			rq.randomClaims[claimServiceIP+ip] = true
		case prev != nil && spec.ClusterIP == prev.Spec.ClusterIP:
		default:
			// An address that is not one is validation's to report.
			if ip := net.ParseIP(spec.ClusterIP); ip != nil && !a.cidr.usable(ip) {
				errs = append(errs, field.Invalid(field.NewPath("spec", "clusterIPs"), []string{spec.ClusterIP},
					fmt.Sprintf("failed to allocate IP %s: the provided IP (%s) is not in the valid range. The range of valid IPs is %s", spec.ClusterIP, spec.ClusterIP, a.cidr.net)))
			}
		}
		if spec.ClusterIP != "" {
			spec.ClusterIPs = []string{spec.ClusterIP}
		}
		if len(spec.IPFamilies) == 0 {
			spec.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol}
		}
		if spec.IPFamilyPolicy == nil {
			p := corev1.IPFamilyPolicySingleStack
			spec.IPFamilyPolicy = &p
		}
	}
	if needsNodePorts(svc) {
		used := map[int32]bool{}
		for _, p := range spec.Ports {
			used[p.NodePort] = true
		}
		for i := range spec.Ports {
			p := &spec.Ports[i]
			if p.NodePort == 0 && prev != nil {
				p.NodePort = previousNodePort(prev, p)
			}
			switch {
			case p.NodePort == 0:
				n := a.randomPort(used, rq.allocations > wideAfter)
				p.NodePort = n
				used[n] = true
				rq.randomClaims[claimNodePort+strconv.Itoa(int(n))] = true
			case int(p.NodePort) < a.lo || int(p.NodePort) > a.hi:
				errs = append(errs, field.Invalid(field.NewPath("spec", "ports").Index(i).Child("nodePort"), p.NodePort,
					fmt.Sprintf("provided port is not in the valid range. The range of valid ports is %d-%d", a.lo, a.hi)))
			}
		}
		if spec.Type == corev1.ServiceTypeLoadBalancer && spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal &&
			spec.HealthCheckNodePort == 0 {
			if prev != nil && prev.Spec.HealthCheckNodePort != 0 {
				spec.HealthCheckNodePort = prev.Spec.HealthCheckNodePort
			} else {
				n := a.randomPort(used, rq.allocations > wideAfter)
				spec.HealthCheckNodePort = n
				rq.randomClaims[claimNodePort+strconv.Itoa(int(n))] = true
			}
		}
	}
	if len(errs) > 0 {
		return apierrors.NewInvalid(rq.groupKind(), svc.Name, errs)
	}
	return nil
}

// randomPort picks a NodePort for dynamic allocation, not one of used: as
// upstream, from above the static band (the low ports left to Services that ask
// for one: min(max(16, size/32), 128) of them), or from the whole range when
// wide.
func (a *serviceAllocator) randomPort(used map[int32]bool, wide bool) int32 {
	lo := a.lo + min(max(16, (a.hi-a.lo+1)/32), 128)
	if lo > a.hi || wide {
		lo = a.lo
	}
	for {
		n := int32(lo + rand.IntN(a.hi-lo+1))
		if !used[n] {
			return n
		}
	}
}

// previousNodePort is the NodePort an earlier version of the Service gave the
// same port, matched by name, port and protocol, as upstream does.
func previousNodePort(prev *corev1.Service, p *corev1.ServicePort) int32 {
	for _, q := range prev.Spec.Ports {
		if q.Port == p.Port && q.Protocol == p.Protocol && q.Name == p.Name {
			return q.NodePort
		}
	}
	return 0
}

// dropTypeDependentFields clears what a type change leaves meaningless, when the
// client kept the old values rather than choosing new ones: upstream's rule
// (pkg/registry/core/service/strategy.go). Fields the client changed stay, for
// validation to judge. Dropped ClusterIPs and NodePorts are released with the
// claims the update no longer holds.
func dropTypeDependentFields(svc, prev *corev1.Service) {
	if prev.Spec.Type != corev1.ServiceTypeExternalName && svc.Spec.Type == corev1.ServiceTypeExternalName {
		if svc.Spec.ClusterIP == prev.Spec.ClusterIP && slices.Equal(svc.Spec.ClusterIPs, prev.Spec.ClusterIPs) {
			svc.Spec.ClusterIP, svc.Spec.ClusterIPs = "", nil
		}
		if slices.Equal(svc.Spec.IPFamilies, prev.Spec.IPFamilies) {
			svc.Spec.IPFamilies = nil
		}
		if ipFamilyPolicy(svc) == ipFamilyPolicy(prev) {
			svc.Spec.IPFamilyPolicy = nil
		}
	}
	if hasNodePorts(prev) && !hasNodePorts(svc) && !addsNodePorts(svc, prev) {
		for i := range svc.Spec.Ports {
			svc.Spec.Ports[i].NodePort = 0
		}
	}
	if needsHealthCheckNodePort(prev) && !needsHealthCheckNodePort(svc) && svc.Spec.HealthCheckNodePort == prev.Spec.HealthCheckNodePort {
		svc.Spec.HealthCheckNodePort = 0
	}
	if prev.Spec.Type == corev1.ServiceTypeLoadBalancer && svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
		if a, b := svc.Spec.AllocateLoadBalancerNodePorts, prev.Spec.AllocateLoadBalancerNodePorts; a != nil && b != nil && *a == *b {
			svc.Spec.AllocateLoadBalancerNodePorts = nil
		}
		if a, b := svc.Spec.LoadBalancerClass, prev.Spec.LoadBalancerClass; (a == nil) == (b == nil) && (a == nil || *a == *b) {
			svc.Spec.LoadBalancerClass = nil
		}
	}
	if hasNodePorts(prev) && !hasNodePorts(svc) && svc.Spec.ExternalTrafficPolicy == prev.Spec.ExternalTrafficPolicy {
		svc.Spec.ExternalTrafficPolicy = ""
	}
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
		svc.Status.LoadBalancer = corev1.LoadBalancerStatus{}
	}
}

// hasNodePorts reports whether the type of a Service exposes NodePorts.
func hasNodePorts(s *corev1.Service) bool {
	return s.Spec.Type == corev1.ServiceTypeNodePort || s.Spec.Type == corev1.ServiceTypeLoadBalancer
}

func needsHealthCheckNodePort(s *corev1.Service) bool {
	return s.Spec.Type == corev1.ServiceTypeLoadBalancer && s.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal
}

// addsNodePorts reports whether svc has a NodePort prev did not.
func addsNodePorts(svc, prev *corev1.Service) bool {
	had := map[int32]bool{}
	for _, p := range prev.Spec.Ports {
		had[p.NodePort] = true
	}
	for _, p := range svc.Spec.Ports {
		if p.NodePort != 0 && !had[p.NodePort] {
			return true
		}
	}
	return false
}

func ipFamilyPolicy(s *corev1.Service) corev1.IPFamilyPolicy {
	if s.Spec.IPFamilyPolicy == nil {
		return ""
	}
	return *s.Spec.IPFamilyPolicy
}

func (rq *request) isRandomClaim(err error) bool {
	claim, ok := storage.ClaimOf(err)
	return ok && rq.randomClaims[claim]
}

// claimTaken turns a claim another object holds into upstream's error.
func (rq *request) claimTaken(obj runtime.Object, claim string) error {
	if rq.randomClaims[claim] {
		what := "serviceIP"
		if strings.HasPrefix(claim, claimNodePort) {
			what = "nodePort"
		}
		return apierrors.NewInternalError(fmt.Errorf("failed to allocate a %s: range is full", what))
	}
	var errs field.ErrorList
	switch {
	case strings.HasPrefix(claim, claimServiceIP):
		ip := strings.TrimPrefix(claim, claimServiceIP)
		errs = append(errs, field.Invalid(field.NewPath("spec", "clusterIPs"), []string{ip},
			fmt.Sprintf("failed to allocate IP %s: provided IP is already allocated", ip)))
	case strings.HasPrefix(claim, claimNodePort):
		port, _ := strconv.Atoi(strings.TrimPrefix(claim, claimNodePort))
		path := field.NewPath("spec", "ports").Index(0).Child("nodePort")
		if svc, ok := obj.(*corev1.Service); ok {
			for i, p := range svc.Spec.Ports {
				if int(p.NodePort) == port {
					path = field.NewPath("spec", "ports").Index(i).Child("nodePort")
				}
			}
			if int(svc.Spec.HealthCheckNodePort) == port {
				path = field.NewPath("spec", "healthCheckNodePort")
			}
		}
		errs = append(errs, field.Invalid(path, port, "provided port is already allocated"))
	default:
		return apierrors.NewConflict(rq.gr(), rq.name, fmt.Errorf("%s is held by another object", claim))
	}
	name := rq.name
	if obj != nil {
		name = mustMeta(obj).GetName()
	}
	return apierrors.NewInvalid(schema.GroupKind{Kind: "Service"}, name, errs)
}
