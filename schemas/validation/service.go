package validation

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const (
	maxClientIPAffinitySeconds = 86400
	nodePortMin, nodePortMax   = 30000, 32767
)

var serviceTypes = []corev1.ServiceType{
	corev1.ServiceTypeClusterIP, corev1.ServiceTypeExternalName, corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeNodePort,
}

// clusterIPs returns the effective spec.clusterIPs. Upstream's service
// registry keeps clusterIP and clusterIPs in sync before validating; a
// client that set only one of them gets the other filled in, so validation
// here does the same rather than reject the object.
func clusterIPs(s *corev1.Service) []string {
	if len(s.Spec.ClusterIPs) == 0 && s.Spec.ClusterIP != "" {
		return []string{s.Spec.ClusterIP}
	}
	return s.Spec.ClusterIPs
}

func isHeadless(s *corev1.Service) bool {
	ips := clusterIPs(s)
	return len(ips) == 1 && ips[0] == corev1.ClusterIPNone
}

func externallyAccessible(s *corev1.Service) bool {
	return s.Spec.Type == corev1.ServiceTypeLoadBalancer || s.Spec.Type == corev1.ServiceTypeNodePort ||
		(s.Spec.Type == corev1.ServiceTypeClusterIP && len(s.Spec.ExternalIPs) > 0)
}

func needsHealthCheck(s *corev1.Service) bool {
	return s.Spec.Type == corev1.ServiceTypeLoadBalancer && s.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal
}

func validateService(svc, old *corev1.Service) field.ErrorList {
	specPath := field.NewPath("spec")
	spec := &svc.Spec
	var errs field.ErrorList
	if len(spec.Ports) == 0 && !isHeadless(svc) && spec.Type != corev1.ServiceTypeExternalName {
		errs = append(errs, field.Required(specPath.Child("ports"), ""))
	}
	switch spec.Type {
	case corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeNodePort:
		if isHeadless(svc) {
			errs = append(errs, field.Invalid(specPath.Child("clusterIPs").Index(0), corev1.ClusterIPNone, fmt.Sprintf("may not be set to 'None' for %s services", spec.Type)))
		}
	case corev1.ServiceTypeExternalName:
		if len(clusterIPs(svc)) > 0 {
			errs = append(errs, field.Forbidden(specPath.Child("clusterIPs"), "may not be set for ExternalName services"))
		}
		if len(spec.IPFamilies) > 0 {
			errs = append(errs, field.Forbidden(specPath.Child("ipFamilies"), "may not be set for ExternalName services"))
		}
		if spec.IPFamilyPolicy != nil {
			errs = append(errs, field.Forbidden(specPath.Child("ipFamilyPolicy"), "may not be set for ExternalName services"))
		}
		// The CNAME may end with a dot to mark it fully qualified.
		if cname := strings.TrimSuffix(spec.ExternalName, "."); cname != "" {
			errs = append(errs, dns1123Subdomain(cname, specPath.Child("externalName"))...)
		} else {
			errs = append(errs, field.Required(specPath.Child("externalName"), ""))
		}
	}

	names := sets.New[string]()
	for i := range spec.Ports {
		errs = append(errs, validateServicePort(&spec.Ports[i], len(spec.Ports) > 1, names, specPath.Child("ports").Index(i))...)
	}
	if spec.Selector != nil {
		errs = append(errs, metav1validation.ValidateLabels(spec.Selector, specPath.Child("selector"))...)
	}
	errs = append(errs, requiredOneOf(specPath.Child("sessionAffinity"), spec.SessionAffinity, corev1.ServiceAffinityClientIP, corev1.ServiceAffinityNone)...)
	switch spec.SessionAffinity {
	case corev1.ServiceAffinityClientIP:
		errs = append(errs, validateClientIPAffinity(spec.SessionAffinityConfig, specPath.Child("sessionAffinityConfig"))...)
	case corev1.ServiceAffinityNone:
		if spec.SessionAffinityConfig != nil {
			errs = append(errs, field.Forbidden(specPath.Child("sessionAffinityConfig"), fmt.Sprintf("must not be set when session affinity is %s", corev1.ServiceAffinityNone)))
		}
	}
	errs = append(errs, validateClusterIPs(svc, specPath)...)
	for i, ip := range spec.ExternalIPs {
		p := specPath.Child("externalIPs").Index(i)
		if e := validation.IsValidIPForLegacyField(p, ip, true, nil); len(e) > 0 {
			errs = append(errs, e...)
		} else {
			errs = append(errs, validateNonSpecialIP(ip, p)...)
		}
	}
	errs = append(errs, requiredOneOf(specPath.Child("type"), spec.Type, serviceTypes...)...)
	errs = append(errs, validateNodePorts(svc, specPath.Child("ports"))...)

	ports := map[string]bool{}
	for i, port := range spec.Ports {
		key := fmt.Sprintf("%s/%d", port.Protocol, port.Port)
		if ports[key] {
			errs = append(errs, field.Duplicate(specPath.Child("ports").Index(i), corev1.ServicePort{Protocol: port.Protocol, Port: port.Port}))
		}
		ports[key] = true
	}
	if len(spec.LoadBalancerSourceRanges) > 0 {
		p := specPath.Child("loadBalancerSourceRanges")
		if spec.Type != corev1.ServiceTypeLoadBalancer {
			errs = append(errs, field.Forbidden(p, "may only be used when `type` is 'LoadBalancer'"))
		}
		for i, r := range spec.LoadBalancerSourceRanges {
			errs = append(errs, validation.IsValidCIDRForLegacyField(p.Index(i), strings.TrimSpace(r), true, nil)...)
		}
	}
	if spec.AllocateLoadBalancerNodePorts != nil && spec.Type != corev1.ServiceTypeLoadBalancer {
		errs = append(errs, field.Forbidden(specPath.Child("allocateLoadBalancerNodePorts"), "may only be used when `type` is 'LoadBalancer'"))
	}
	if spec.Type == corev1.ServiceTypeLoadBalancer && spec.AllocateLoadBalancerNodePorts == nil {
		errs = append(errs, field.Required(specPath.Child("allocateLoadBalancerNodePorts"), ""))
	}
	if spec.LoadBalancerClass != nil {
		if spec.Type == corev1.ServiceTypeLoadBalancer {
			errs = append(errs, qualifiedName(*spec.LoadBalancerClass, specPath.Child("loadBalancerClass"))...)
		} else {
			errs = append(errs, field.Forbidden(specPath.Child("loadBalancerClass"), "may only be used when `type` is 'LoadBalancer'"))
		}
	}
	errs = append(errs, validateTrafficPolicies(svc, specPath)...)
	if old != nil {
		errs = append(errs, validateServiceUpdate(svc, old, specPath)...)
	}
	return errs
}

func validateServicePort(sp *corev1.ServicePort, requireName bool, names sets.Set[string], fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if requireName && sp.Name == "" {
		errs = append(errs, field.Required(fldPath.Child("name"), ""))
	} else if sp.Name != "" {
		errs = append(errs, dns1123Label(sp.Name, fldPath.Child("name"))...)
		if names.Has(sp.Name) {
			errs = append(errs, field.Duplicate(fldPath.Child("name"), sp.Name))
		} else {
			names.Insert(sp.Name)
		}
	}
	errs = append(errs, messages(fldPath.Child("port"), sp.Port, validation.IsValidPortNum(int(sp.Port)))...)
	errs = append(errs, requiredOneOf(fldPath.Child("protocol"), sp.Protocol, supportedPortProtocols...)...)
	errs = append(errs, validatePortNumOrName(sp.TargetPort, fldPath.Child("targetPort"))...)
	if sp.AppProtocol != nil {
		errs = append(errs, qualifiedName(*sp.AppProtocol, fldPath.Child("appProtocol"))...)
	}
	return errs
}

// validateNodePorts: node ports only for NodePort and LoadBalancer services,
// within the default service-node-port-range, unique per protocol. The range
// message is the one upstream's allocator returns.
func validateNodePorts(svc *corev1.Service, portsPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]bool{}
	for i, port := range svc.Spec.Ports {
		if port.NodePort == 0 {
			continue
		}
		p := portsPath.Index(i).Child("nodePort")
		switch svc.Spec.Type {
		case corev1.ServiceTypeClusterIP:
			errs = append(errs, field.Forbidden(p, "may not be used when `type` is 'ClusterIP'"))
			continue
		case corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer:
			if port.NodePort < nodePortMin || port.NodePort > nodePortMax {
				errs = append(errs, field.Invalid(p, port.NodePort, fmt.Sprintf("provided port is not in the valid range. The range of valid ports is %d-%d", nodePortMin, nodePortMax)))
			}
		}
		key := fmt.Sprintf("%s/%d", port.Protocol, port.NodePort)
		if seen[key] {
			errs = append(errs, field.Duplicate(p, port.NodePort))
		}
		seen[key] = true
	}
	return errs
}

func validateClientIPAffinity(cfg *corev1.SessionAffinityConfig, fldPath *field.Path) field.ErrorList {
	detail := fmt.Sprintf("when session affinity type is %s", corev1.ServiceAffinityClientIP)
	switch {
	case cfg == nil:
		return field.ErrorList{field.Required(fldPath, detail)}
	case cfg.ClientIP == nil:
		return field.ErrorList{field.Required(fldPath.Child("clientIP"), detail)}
	case cfg.ClientIP.TimeoutSeconds == nil:
		return field.ErrorList{field.Required(fldPath.Child("clientIP", "timeoutSeconds"), detail)}
	}
	if t := *cfg.ClientIP.TimeoutSeconds; t <= 0 || t > maxClientIPAffinitySeconds {
		return field.ErrorList{field.Invalid(fldPath.Child("clientIP", "timeoutSeconds"), t, fmt.Sprintf("must be greater than 0 and less than %d", maxClientIPAffinitySeconds))}
	}
	return nil
}

func validateClusterIPs(svc *corev1.Service, specPath *field.Path) field.ErrorList {
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		return nil
	}
	var errs field.ErrorList
	ipsPath := specPath.Child("clusterIPs")
	ips := clusterIPs(svc)
	if svc.Spec.ClusterIP != "" && len(ips) > 0 && ips[0] != svc.Spec.ClusterIP {
		errs = append(errs, field.Invalid(ipsPath, ips, "first value must match `clusterIP`"))
	}
	seen := sets.New[corev1.IPFamily]()
	for i, f := range svc.Spec.IPFamilies {
		errs = append(errs, oneOf(specPath.Child("ipFamilies").Index(i), f, corev1.IPv4Protocol, corev1.IPv6Protocol)...)
		if seen.Has(f) {
			errs = append(errs, field.Duplicate(specPath.Child("ipFamilies").Index(i), f))
		}
		seen.Insert(f)
	}
	if p := svc.Spec.IPFamilyPolicy; p != nil {
		errs = append(errs, oneOf(specPath.Child("ipFamilyPolicy"), *p,
			corev1.IPFamilyPolicyPreferDualStack, corev1.IPFamilyPolicyRequireDualStack, corev1.IPFamilyPolicySingleStack)...)
	}
	invalid := false
	for i, ip := range ips {
		if i == 0 && ip == corev1.ClusterIPNone {
			if len(ips) > 1 {
				invalid = true
				errs = append(errs, field.Invalid(ipsPath, ips, "'None' must be the first and only value"))
			}
			continue
		}
		if e := validation.IsValidIP(ipsPath.Index(i), ip); len(e) > 0 {
			invalid = true
			errs = append(errs, e...)
		}
	}
	if len(ips) > 2 {
		errs = append(errs, field.Invalid(ipsPath, ips, "may only hold up to 2 values"))
	}
	if invalid {
		return errs
	}
	if len(ips) == 2 && isIPv6(ips[0]) == isIPv6(ips[1]) {
		errs = append(errs, field.Invalid(ipsPath, ips, "may specify no more than one IP for each IP family"))
	}
	if !isHeadless(svc) {
		for i, ip := range ips {
			if i >= len(svc.Spec.IPFamilies) {
				break
			}
			switch {
			case svc.Spec.IPFamilies[i] == corev1.IPv4Protocol && isIPv6(ip):
				errs = append(errs, field.Invalid(ipsPath.Index(i), ip, fmt.Sprintf("expected an IPv4 value as indicated by `ipFamilies[%v]`", i)))
			case svc.Spec.IPFamilies[i] == corev1.IPv6Protocol && !isIPv6(ip):
				errs = append(errs, field.Invalid(ipsPath.Index(i), ip, fmt.Sprintf("expected an IPv6 value as indicated by `ipFamilies[%v]`", i)))
			}
		}
	}
	return errs
}

func validateTrafficPolicies(svc *corev1.Service, specPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	spec := &svc.Spec
	etp := specPath.Child("externalTrafficPolicy")
	if !externallyAccessible(svc) {
		if spec.ExternalTrafficPolicy != "" {
			errs = append(errs, field.Invalid(etp, spec.ExternalTrafficPolicy, "may only be set for externally-accessible services"))
		}
	} else {
		errs = append(errs, requiredOneOf(etp, spec.ExternalTrafficPolicy, corev1.ServiceExternalTrafficPolicyCluster, corev1.ServiceExternalTrafficPolicyLocal)...)
	}
	hc := specPath.Child("healthCheckNodePort")
	if !needsHealthCheck(svc) {
		if spec.HealthCheckNodePort != 0 {
			errs = append(errs, field.Invalid(hc, spec.HealthCheckNodePort, "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"))
		}
	} else if spec.HealthCheckNodePort == 0 {
		errs = append(errs, field.Required(hc, ""))
	} else {
		errs = append(errs, messages(hc, spec.HealthCheckNodePort, validation.IsValidPortNum(int(spec.HealthCheckNodePort)))...)
	}
	itp := specPath.Child("internalTrafficPolicy")
	if spec.InternalTrafficPolicy == nil {
		if spec.Type == corev1.ServiceTypeNodePort || spec.Type == corev1.ServiceTypeLoadBalancer || spec.Type == corev1.ServiceTypeClusterIP {
			errs = append(errs, field.Required(itp, ""))
		}
	} else {
		errs = append(errs, oneOf(itp, *spec.InternalTrafficPolicy, corev1.ServiceInternalTrafficPolicyCluster, corev1.ServiceInternalTrafficPolicyLocal)...)
	}
	if td := spec.TrafficDistribution; td != nil {
		errs = append(errs, oneOf(specPath.Child("trafficDistribution"), *td,
			corev1.ServiceTrafficDistributionPreferClose, corev1.ServiceTrafficDistributionPreferSameZone, corev1.ServiceTrafficDistributionPreferSameNode)...)
	}
	return errs
}

// validateServiceUpdate: cluster IPs and families are fixed once allocated
// (a secondary may be added or released), the load balancer class and the
// health check node port may not change.
func validateServiceUpdate(svc, old *corev1.Service, specPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if svc.Spec.Type != corev1.ServiceTypeExternalName && old.Spec.Type != corev1.ServiceTypeExternalName &&
		!(isHeadless(svc) && isHeadless(old)) {
		newIPs, oldIPs := clusterIPs(svc), clusterIPs(old)
		ipsPath := specPath.Child("clusterIPs")
		switch {
		case len(newIPs) == 0 && len(oldIPs) > 0:
			// Unset on the wire: the registry keeps the allocated values.
		case len(oldIPs) == len(newIPs):
			for i := range oldIPs {
				if oldIPs[i] != newIPs[i] {
					errs = append(errs, field.Invalid(ipsPath.Index(i), newIPs, "may not change once set"))
				}
			}
		case len(oldIPs) > len(newIPs):
			if newIPs[0] != oldIPs[0] {
				errs = append(errs, field.Invalid(ipsPath.Index(0), newIPs, "may not change once set"))
			}
			if p := svc.Spec.IPFamilyPolicy; p == nil || *p != corev1.IPFamilyPolicySingleStack {
				errs = append(errs, field.Invalid(specPath.Child("ipFamilyPolicy"), svc.Spec.IPFamilyPolicy, "must be set to 'SingleStack' when releasing the secondary clusterIP"))
			}
		default:
			if len(oldIPs) > 0 && newIPs[0] != oldIPs[0] {
				errs = append(errs, field.Invalid(ipsPath.Index(0), newIPs, "may not change once set"))
			}
		}
		if isHeadless(svc) == isHeadless(old) && !isHeadless(svc) && len(svc.Spec.IPFamilies) > 0 && len(old.Spec.IPFamilies) > 0 {
			if svc.Spec.IPFamilies[0] != old.Spec.IPFamilies[0] {
				errs = append(errs, field.Invalid(specPath.Child("ipFamilies").Index(0), svc.Spec.IPFamilies, "may not change once set"))
			}
		}
	}
	if svc.Spec.Type == corev1.ServiceTypeLoadBalancer && old.Spec.Type == corev1.ServiceTypeLoadBalancer &&
		deref(svc.Spec.LoadBalancerClass) != deref(old.Spec.LoadBalancerClass) {
		errs = append(errs, field.Invalid(specPath.Child("loadBalancerClass"), svc.Spec.LoadBalancerClass, "may not change once set"))
	}
	if needsHealthCheck(svc) && needsHealthCheck(old) && svc.Spec.HealthCheckNodePort != old.Spec.HealthCheckNodePort {
		errs = append(errs, field.Forbidden(specPath.Child("healthCheckNodePort"), "field is immutable"))
	}
	return errs
}

func validateServiceStatus(svc, old *corev1.Service) field.ErrorList {
	p := field.NewPath("status", "loadBalancer", "ingress")
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer && len(svc.Status.LoadBalancer.Ingress) != 0 {
		return field.ErrorList{field.Forbidden(p, "may only be used when `spec.type` is 'LoadBalancer'")}
	}
	var errs field.ErrorList
	for i, ing := range svc.Status.LoadBalancer.Ingress {
		ip := p.Index(i)
		if ing.IP != "" {
			errs = append(errs, validation.IsValidIPForLegacyField(ip.Child("ip"), ing.IP, true, nil)...)
		}
		switch {
		case ing.IPMode == nil && ing.IP != "":
			errs = append(errs, field.Required(ip.Child("ipMode"), "must be specified when `ip` is set"))
		case ing.IPMode != nil && ing.IP == "":
			errs = append(errs, field.Forbidden(ip.Child("ipMode"), "may not be specified when `ip` is not set"))
		case ing.IPMode != nil:
			errs = append(errs, oneOf(ip.Child("ipMode"), *ing.IPMode, corev1.LoadBalancerIPModeProxy, corev1.LoadBalancerIPModeVIP)...)
		}
		errs = append(errs, validateLBHostname(ing.Hostname, ip.Child("hostname"))...)
	}
	return errs
}

func validateLBHostname(hostname string, fldPath *field.Path) field.ErrorList {
	if hostname == "" {
		return nil
	}
	errs := dns1123Subdomain(hostname, fldPath)
	if parseIPSloppy(hostname) != nil {
		errs = append(errs, field.Invalid(fldPath, hostname, "must be a DNS name, not an IP address"))
	}
	return errs
}
