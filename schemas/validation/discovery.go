package validation

import (
	"fmt"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const (
	maxEndpointSliceTopologyLabels = 16
	maxEndpointSliceAddresses      = 100
	maxEndpointSlicePorts          = 100
	maxEndpointSliceEndpoints      = 1000
	maxEndpointSliceZoneHints      = 8
	maxEndpointSliceNodeHints      = 8
)

var endpointSliceAddressTypes = []discoveryv1.AddressType{
	discoveryv1.AddressTypeFQDN, discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6,
}

func validateEndpointSlice(es, old *discoveryv1.EndpointSlice) field.ErrorList {
	typePath := field.NewPath("addressType")
	var errs field.ErrorList
	if es.AddressType == "" {
		errs = append(errs, field.Required(typePath, ""))
	} else if old == nil || es.AddressType != old.AddressType {
		errs = append(errs, oneOf(typePath, es.AddressType, endpointSliceAddressTypes...)...)
	}
	errs = append(errs, validateEndpointSliceEndpoints(es.Endpoints, es.AddressType, field.NewPath("endpoints"))...)
	errs = append(errs, validateEndpointSlicePorts(es.Ports, field.NewPath("ports"))...)
	if old != nil {
		errs = append(errs, immutable(es.AddressType, old.AddressType, typePath)...)
	}
	return errs
}

func validateEndpointSliceEndpoints(endpoints []discoveryv1.Endpoint, addrType discoveryv1.AddressType, fldPath *field.Path) field.ErrorList {
	if len(endpoints) > maxEndpointSliceEndpoints {
		return field.ErrorList{field.TooMany(fldPath, len(endpoints), maxEndpointSliceEndpoints)}
	}
	var errs field.ErrorList
	for i, ep := range endpoints {
		p := fldPath.Index(i)
		addrPath := p.Child("addresses")
		if len(ep.Addresses) == 0 {
			errs = append(errs, field.Required(addrPath, "must contain at least 1 address"))
		} else if len(ep.Addresses) > maxEndpointSliceAddresses {
			errs = append(errs, field.TooMany(addrPath, len(ep.Addresses), maxEndpointSliceAddresses))
		}
		for j, addr := range ep.Addresses {
			ap := addrPath.Index(j)
			switch addrType {
			case discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6:
				e := validation.IsValidIPForLegacyField(ap, addr, true, nil)
				if len(e) == 0 && isIPv6(addr) != (addrType == discoveryv1.AddressTypeIPv6) {
					e = append(e, field.Invalid(ap, addr, fmt.Sprintf("must be a valid %s address", addrType)))
				}
				if len(e) == 0 {
					e = validateNonSpecialIP(addr, ap)
				}
				errs = append(errs, e...)
			case discoveryv1.AddressTypeFQDN:
				errs = append(errs, validation.IsFullyQualifiedDomainName(ap, addr)...)
			}
		}
		topoPath := p.Child("deprecatedTopology")
		if len(ep.DeprecatedTopology) > maxEndpointSliceTopologyLabels {
			errs = append(errs, field.TooMany(topoPath, len(ep.DeprecatedTopology), maxEndpointSliceTopologyLabels))
		}
		errs = append(errs, metav1validation.ValidateLabels(ep.DeprecatedTopology, topoPath)...)
		if ep.Hostname != nil {
			errs = append(errs, dns1123Label(*ep.Hostname, p.Child("hostname"))...)
		}
		if ep.NodeName != nil {
			errs = append(errs, objectName(nameIsDNSSubdomain, *ep.NodeName, p.Child("nodeName"))...)
		}
		if h := ep.Hints; h != nil {
			hp := p.Child("hints")
			if len(h.ForZones) > maxEndpointSliceZoneHints {
				errs = append(errs, field.TooMany(hp.Child("forZones"), len(h.ForZones), maxEndpointSliceZoneHints))
			}
			zones := sets.New[string]()
			for j, z := range h.ForZones {
				zp := hp.Child("forZones").Index(j).Child("name")
				if zones.Has(z.Name) {
					errs = append(errs, field.Duplicate(zp, z.Name))
				}
				zones.Insert(z.Name)
				errs = append(errs, messages(zp, z.Name, validation.IsValidLabelValue(z.Name))...)
			}
			if len(h.ForNodes) > maxEndpointSliceNodeHints {
				errs = append(errs, field.TooMany(hp.Child("forNodes"), len(h.ForNodes), maxEndpointSliceNodeHints))
			}
			for j, n := range h.ForNodes {
				errs = append(errs, objectName(nameIsDNSSubdomain, n.Name, hp.Child("forNodes").Index(j).Child("name"))...)
			}
		}
	}
	return errs
}

func validateEndpointSlicePorts(ports []discoveryv1.EndpointPort, fldPath *field.Path) field.ErrorList {
	if len(ports) > maxEndpointSlicePorts {
		return field.ErrorList{field.TooMany(fldPath, len(ports), maxEndpointSlicePorts)}
	}
	var errs field.ErrorList
	names := sets.New[string]()
	for i, port := range ports {
		p := fldPath.Index(i)
		name := deref(port.Name)
		if name != "" {
			errs = append(errs, dns1123Label(name, p.Child("name"))...)
		}
		if names.Has(name) {
			errs = append(errs, field.Duplicate(p.Child("name"), name))
		}
		names.Insert(name)
		if port.Protocol == nil {
			errs = append(errs, field.Required(p.Child("protocol"), ""))
		} else {
			errs = append(errs, oneOf(p.Child("protocol"), *port.Protocol, supportedPortProtocols...)...)
		}
		if port.AppProtocol != nil {
			errs = append(errs, qualifiedName(*port.AppProtocol, p.Child("appProtocol"))...)
		}
	}
	return errs
}
