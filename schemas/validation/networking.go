package validation

import (
	"fmt"
	"net"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/validate/content"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const (
	ingressClassAnnotation       = "kubernetes.io/ingress.class"
	maxLenIngressClassController = 250
)

var (
	invalidIngressPathSequences = []string{"//", "/./", "/../", "%2f", "%2F"}
	invalidIngressPathSuffixes  = []string{"/..", "/."}
)

// NetworkPolicy.

func validateNetworkPolicy(np, old *networkingv1.NetworkPolicy) field.ErrorList {
	specPath := field.NewPath("spec")
	// CIDRs already stored are accepted as they are, even if now invalid.
	var existing []string
	if old != nil {
		existing = networkPolicyCIDRs(&old.Spec)
	}
	errs := labelSelector(&np.Spec.PodSelector, specPath.Child("podSelector"))
	for i, rule := range np.Spec.Ingress {
		p := specPath.Child("ingress").Index(i)
		for j := range rule.Ports {
			errs = append(errs, validateNetworkPolicyPort(&rule.Ports[j], p.Child("ports").Index(j))...)
		}
		for j := range rule.From {
			errs = append(errs, validateNetworkPolicyPeer(&rule.From[j], existing, p.Child("from").Index(j))...)
		}
	}
	for i, rule := range np.Spec.Egress {
		p := specPath.Child("egress").Index(i)
		for j := range rule.Ports {
			errs = append(errs, validateNetworkPolicyPort(&rule.Ports[j], p.Child("ports").Index(j))...)
		}
		for j := range rule.To {
			errs = append(errs, validateNetworkPolicyPeer(&rule.To[j], existing, p.Child("to").Index(j))...)
		}
	}
	typesPath := specPath.Child("policyTypes")
	if len(np.Spec.PolicyTypes) > 2 {
		return append(errs, field.Invalid(typesPath, np.Spec.PolicyTypes, "may not specify more than two policyTypes"))
	}
	for i, t := range np.Spec.PolicyTypes {
		errs = append(errs, oneOf(typesPath.Index(i), t, networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress)...)
	}
	return errs
}

func networkPolicyCIDRs(spec *networkingv1.NetworkPolicySpec) []string {
	var cidrs []string
	add := func(peers []networkingv1.NetworkPolicyPeer) {
		for _, p := range peers {
			if p.IPBlock != nil {
				cidrs = append(cidrs, p.IPBlock.CIDR)
				cidrs = append(cidrs, p.IPBlock.Except...)
			}
		}
	}
	for _, r := range spec.Ingress {
		add(r.From)
	}
	for _, r := range spec.Egress {
		add(r.To)
	}
	return cidrs
}

func validateNetworkPolicyPort(port *networkingv1.NetworkPolicyPort, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if port.Protocol != nil {
		errs = append(errs, oneOf(fldPath.Child("protocol"), *port.Protocol, corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP)...)
	}
	switch {
	case port.Port == nil:
		if port.EndPort != nil {
			errs = append(errs, field.Invalid(fldPath.Child("endPort"), *port.EndPort, "may not be specified when `port` is not specified"))
		}
	case port.Port.Type == intstr.Int:
		errs = append(errs, messages(fldPath.Child("port"), port.Port.IntVal, validation.IsValidPortNum(int(port.Port.IntVal)))...)
		if port.EndPort != nil {
			if *port.EndPort < port.Port.IntVal {
				errs = append(errs, field.Invalid(fldPath.Child("endPort"), *port.EndPort, "must be greater than or equal to `port`"))
			}
			errs = append(errs, messages(fldPath.Child("endPort"), *port.EndPort, validation.IsValidPortNum(int(*port.EndPort)))...)
		}
	default:
		if port.EndPort != nil {
			errs = append(errs, field.Invalid(fldPath.Child("endPort"), *port.EndPort, "may not be specified when `port` is non-numeric"))
		}
		errs = append(errs, messages(fldPath.Child("port"), port.Port.StrVal, validation.IsValidPortName(port.Port.StrVal))...)
	}
	return errs
}

func validateNetworkPolicyPeer(peer *networkingv1.NetworkPolicyPeer, existing []string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	n := 0
	if peer.PodSelector != nil {
		n++
		errs = append(errs, labelSelector(peer.PodSelector, fldPath.Child("podSelector"))...)
	}
	if peer.NamespaceSelector != nil {
		n++
		errs = append(errs, labelSelector(peer.NamespaceSelector, fldPath.Child("namespaceSelector"))...)
	}
	if b := peer.IPBlock; b != nil {
		n++
		errs = append(errs, validateIPBlock(b, existing, fldPath.Child("ipBlock"))...)
	}
	switch {
	case n == 0:
		errs = append(errs, field.Required(fldPath, "must specify a peer"))
	case n > 1 && peer.IPBlock != nil:
		errs = append(errs, field.Forbidden(fldPath, "may not specify both ipBlock and another peer"))
	}
	return errs
}

func validateIPBlock(b *networkingv1.IPBlock, existing []string, fldPath *field.Path) field.ErrorList {
	if b.CIDR == "" {
		return field.ErrorList{field.Required(fldPath.Child("cidr"), "")}
	}
	errs := validation.IsValidCIDRForLegacyField(fldPath.Child("cidr"), b.CIDR, true, existing)
	_, cidr, err := net.ParseCIDR(b.CIDR)
	if err != nil {
		return errs
	}
	cidrBits, _ := cidr.Mask.Size()
	for i, e := range b.Except {
		p := fldPath.Child("except").Index(i)
		errs = append(errs, validation.IsValidCIDRForLegacyField(p, e, true, existing)...)
		_, except, err := net.ParseCIDR(e)
		if err != nil {
			continue
		}
		exceptBits, _ := except.Mask.Size()
		if !cidr.Contains(except.IP) || cidrBits >= exceptBits {
			errs = append(errs, field.Invalid(p, e, "must be a strict subset of `cidr`"))
		}
	}
	return errs
}

// Ingress.

func validateIngress(ing, old *networkingv1.Ingress) field.ErrorList {
	specPath := field.NewPath("spec")
	spec := &ing.Spec
	var errs field.ErrorList
	if len(spec.Rules) == 0 && spec.DefaultBackend == nil {
		errs = append(errs, field.Invalid(specPath, spec.Rules, "either `defaultBackend` or `rules` must be specified"))
	}
	if spec.DefaultBackend != nil {
		errs = append(errs, validateIngressBackend(spec.DefaultBackend, specPath.Child("defaultBackend"))...)
	}
	// Stored objects keep what was accepted before these rules existed.
	allowInvalidSecretName, allowInvalidWildcardRule := false, false
	if old != nil {
		for _, tls := range old.Spec.TLS {
			if tls.SecretName != "" && len(nameIsDNSSubdomain(tls.SecretName, false)) > 0 {
				allowInvalidSecretName = true
			}
		}
		for _, r := range old.Spec.Rules {
			if strings.Contains(r.Host, "*") && len(validateIngressRuleValue(&r.IngressRuleValue, specPath)) > 0 {
				allowInvalidWildcardRule = true
			}
		}
	}
	for i, r := range spec.Rules {
		p := specPath.Child("rules").Index(i)
		wildcard := false
		if r.Host != "" {
			hp := p.Child("host")
			if parseIPSloppy(r.Host) != nil {
				errs = append(errs, field.Invalid(hp, r.Host, "must be a DNS name, not an IP address"))
			}
			if strings.Contains(r.Host, "*") {
				errs = append(errs, messages(hp, r.Host, validation.IsWildcardDNS1123Subdomain(r.Host))...)
				wildcard = true
			} else {
				errs = append(errs, dns1123Subdomain(r.Host, hp)...)
			}
		}
		if !wildcard || !allowInvalidWildcardRule {
			errs = append(errs, validateIngressRuleValue(&r.IngressRuleValue, p)...)
		}
	}
	for i, tls := range spec.TLS {
		p := specPath.Child("tls").Index(i)
		for j, host := range tls.Hosts {
			hp := p.Child("hosts").Index(j)
			if strings.Contains(host, "*") {
				errs = append(errs, messages(hp, host, validation.IsWildcardDNS1123Subdomain(host))...)
			} else {
				errs = append(errs, dns1123Subdomain(host, hp)...)
			}
		}
		if tls.SecretName != "" && !allowInvalidSecretName {
			errs = append(errs, objectName(nameIsDNSSubdomain, tls.SecretName, p.Child("secretName"))...)
		}
	}
	if spec.IngressClassName != nil {
		errs = append(errs, objectName(nameIsDNSSubdomain, *spec.IngressClassName, specPath.Child("ingressClassName"))...)
	}
	if old == nil {
		if v, ok := ing.Annotations[ingressClassAnnotation]; ok && spec.IngressClassName != nil && v != *spec.IngressClassName {
			errs = append(errs, field.Invalid(field.NewPath("metadata", "annotations").Key(ingressClassAnnotation), v, "must match `ingressClassName` when both are specified"))
		}
	}
	return errs
}

func validateIngressRuleValue(rv *networkingv1.IngressRuleValue, fldPath *field.Path) field.ErrorList {
	if rv.HTTP == nil {
		return nil
	}
	p := fldPath.Child("http", "paths")
	var errs field.ErrorList
	if len(rv.HTTP.Paths) == 0 {
		errs = append(errs, field.Required(p, ""))
	}
	for i := range rv.HTTP.Paths {
		errs = append(errs, validateHTTPIngressPath(&rv.HTTP.Paths[i], p.Index(i))...)
	}
	return errs
}

func validateHTTPIngressPath(hp *networkingv1.HTTPIngressPath, fldPath *field.Path) field.ErrorList {
	if hp.PathType == nil {
		return field.ErrorList{field.Required(fldPath.Child("pathType"), "pathType must be specified")}
	}
	var errs field.ErrorList
	pathPath := fldPath.Child("path")
	switch *hp.PathType {
	case networkingv1.PathTypeExact, networkingv1.PathTypePrefix:
		if !strings.HasPrefix(hp.Path, "/") {
			errs = append(errs, field.Invalid(pathPath, hp.Path, "must be an absolute path"))
		}
		for _, seq := range invalidIngressPathSequences {
			if strings.Contains(hp.Path, seq) {
				errs = append(errs, field.Invalid(pathPath, hp.Path, fmt.Sprintf("must not contain '%s'", seq)))
			}
		}
		for _, suffix := range invalidIngressPathSuffixes {
			if strings.HasSuffix(hp.Path, suffix) {
				errs = append(errs, field.Invalid(pathPath, hp.Path, fmt.Sprintf("cannot end with '%s'", suffix)))
			}
		}
	case networkingv1.PathTypeImplementationSpecific:
		if hp.Path != "" && !strings.HasPrefix(hp.Path, "/") {
			errs = append(errs, field.Invalid(pathPath, hp.Path, "must be an absolute path"))
		}
	default:
		errs = append(errs, field.NotSupported(fldPath.Child("pathType"), *hp.PathType,
			[]networkingv1.PathType{networkingv1.PathTypeExact, networkingv1.PathTypeImplementationSpecific, networkingv1.PathTypePrefix}))
	}
	return append(errs, validateIngressBackend(&hp.Backend, fldPath.Child("backend"))...)
}

func validateIngressBackend(b *networkingv1.IngressBackend, fldPath *field.Path) field.ErrorList {
	switch {
	case b.Resource != nil && b.Service != nil:
		return field.ErrorList{field.Invalid(fldPath, "", "cannot set both resource and service backends")}
	case b.Resource != nil:
		return validateTypedObjectRef(b.Resource.APIGroup, b.Resource.Kind, b.Resource.Name, fldPath.Child("resource"))
	case b.Service == nil:
		return field.ErrorList{field.Invalid(fldPath, "", "resource or service backend is required")}
	}
	var errs field.ErrorList
	sp := fldPath.Child("service")
	if b.Service.Name == "" {
		errs = append(errs, field.Required(sp.Child("name"), ""))
	} else {
		errs = append(errs, objectName(nameIsDNS1035Label, b.Service.Name, sp.Child("name"))...)
	}
	port := b.Service.Port
	switch {
	case port.Name != "" && port.Number != 0:
		errs = append(errs, field.Invalid(fldPath, "", "cannot set both port name & port number"))
	case port.Name != "":
		errs = append(errs, messages(sp.Child("port", "name"), port.Name, validation.IsValidPortName(port.Name))...)
	case port.Number != 0:
		errs = append(errs, messages(sp.Child("port", "number"), port.Number, validation.IsValidPortNum(int(port.Number)))...)
	default:
		errs = append(errs, field.Required(fldPath, "port name or number is required"))
	}
	return errs
}

func validateTypedObjectRef(apiGroup *string, kind, name string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if apiGroup != nil {
		errs = append(errs, dns1123Subdomain(*apiGroup, fldPath.Child("apiGroup"))...)
	}
	if kind == "" {
		errs = append(errs, field.Required(fldPath.Child("kind"), ""))
	} else {
		errs = append(errs, messages(fldPath.Child("kind"), kind, content.IsPathSegmentName(kind))...)
	}
	if name == "" {
		errs = append(errs, field.Required(fldPath.Child("name"), ""))
	} else {
		errs = append(errs, messages(fldPath.Child("name"), name, content.IsPathSegmentName(name))...)
	}
	return errs
}

func validateIngressStatus(ing, old *networkingv1.Ingress) field.ErrorList {
	var existing []string
	for _, i := range old.Status.LoadBalancer.Ingress {
		if i.IP != "" {
			existing = append(existing, i.IP)
		}
	}
	var errs field.ErrorList
	for i, lb := range ing.Status.LoadBalancer.Ingress {
		p := field.NewPath("status", "loadBalancer", "ingress").Index(i)
		if lb.IP != "" {
			errs = append(errs, validation.IsValidIPForLegacyField(p.Child("ip"), lb.IP, true, existing)...)
		}
		errs = append(errs, validateLBHostname(lb.Hostname, p.Child("hostname"))...)
	}
	return errs
}

// IngressClass.

func validateIngressClass(ic, old *networkingv1.IngressClass) field.ErrorList {
	specPath := field.NewPath("spec")
	var errs field.ErrorList
	cp := specPath.Child("controller")
	if ic.Spec.Controller == "" {
		errs = append(errs, field.Required(cp, ""))
	} else {
		if len(ic.Spec.Controller) > maxLenIngressClassController {
			errs = append(errs, field.TooLong(cp, "", maxLenIngressClassController))
		}
		errs = append(errs, validation.IsDomainPrefixedPath(cp, ic.Spec.Controller)...)
	}
	if params := ic.Spec.Parameters; params != nil {
		pp := specPath.Child("parameters")
		errs = append(errs, validateTypedObjectRef(params.APIGroup, params.Kind, params.Name, pp)...)
		switch scope := deref(params.Scope); {
		case params.Scope == nil:
			errs = append(errs, field.Required(pp.Child("scope"), ""))
		case scope == networkingv1.IngressClassParametersReferenceScopeNamespace:
			if params.Namespace == nil {
				errs = append(errs, field.Required(pp.Child("namespace"), "`parameters.scope` is set to 'Namespace'"))
			} else {
				errs = append(errs, objectName(nameIsDNSLabel, *params.Namespace, pp.Child("namespace"))...)
			}
		case scope == networkingv1.IngressClassParametersReferenceScopeCluster:
			if params.Namespace != nil {
				errs = append(errs, field.Forbidden(pp.Child("namespace"), "`parameters.scope` is set to 'Cluster'"))
			}
		default:
			errs = append(errs, field.NotSupported(pp.Child("scope"), scope, []string{
				networkingv1.IngressClassParametersReferenceScopeCluster, networkingv1.IngressClassParametersReferenceScopeNamespace,
			}))
		}
	}
	if old != nil {
		errs = append(errs, immutable(ic.Spec.Controller, old.Spec.Controller, cp)...)
	}
	return errs
}
