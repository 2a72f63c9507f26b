package printers

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	discoveryv1beta1 "k8s.io/api/discovery/v1beta1"
	extensionsv1beta1 "k8s.io/api/extensions/v1beta1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
)

func addNetworking(m map[schema.GroupKind]Printer) {
	networking := func(kind string) schema.GroupKind { return schema.GroupKind{Group: "networking.k8s.io", Kind: kind} }

	m[networking("Ingress")] = Printer{
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			{Name: "Class", Type: "string", Description: "The name of the IngressClass resource that should be used for additional configuration"},
			{Name: "Hosts", Type: "string", Description: "Hosts that incoming requests are matched against before the ingress rule"},
			{Name: "Address", Type: "string", Description: "Address is a list containing ingress points for the load-balancer"},
			{Name: "Ports", Type: "string", Description: "Ports of TLS configurations that open"},
			ageColumn(),
		},
		Row: rowOf(printIngress),
	}
	m[networking("IngressClass")] = Printer{
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			{Name: "Controller", Type: "string", Description: "Controller that is responsible for handling this class"},
			{Name: "Parameters", Type: "string", Description: "A reference to a resource with additional parameters"},
			ageColumn(),
		},
		Row: rowOf(printIngressClass),
	}
	m[networking("NetworkPolicy")] = Printer{
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			{Name: "Pod-Selector", Type: "string", Description: extensionsv1beta1.NetworkPolicySpec{}.SwaggerDoc()["podSelector"]},
			ageColumn(),
		},
		Row: rowOf(func(np *networkingv1.NetworkPolicy, now time.Time) []any {
			return []any{np.Name, metav1.FormatLabelSelector(&np.Spec.PodSelector), translateTimestampSince(np.CreationTimestamp, now)}
		}),
	}
	m[schema.GroupKind{Group: "discovery.k8s.io", Kind: "EndpointSlice"}] = Printer{
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			{Name: "AddressType", Type: "string", Description: discoveryv1beta1.EndpointSlice{}.SwaggerDoc()["addressType"]},
			{Name: "Ports", Type: "string", Description: discoveryv1beta1.EndpointSlice{}.SwaggerDoc()["ports"]},
			{Name: "Endpoints", Type: "string", Description: discoveryv1beta1.EndpointSlice{}.SwaggerDoc()["endpoints"]},
			ageColumn(),
		},
		Row: rowOf(printEndpointSlice),
	}
}

func printIngress(ing *networkingv1.Ingress, now time.Time) []any {
	className := "<none>"
	if ing.Spec.IngressClassName != nil {
		className = *ing.Spec.IngressClassName
	}
	// Wide output: load balancer addresses are not clipped.
	addrs := sets.New[string]()
	for _, in := range ing.Status.LoadBalancer.Ingress {
		if in.IP != "" {
			addrs.Insert(in.IP)
		} else if in.Hostname != "" {
			addrs.Insert(in.Hostname)
		}
	}
	ports := "80"
	if len(ing.Spec.TLS) != 0 {
		ports = "80, 443"
	}
	return []any{
		ing.Name, className, formatIngressHosts(ing.Spec.Rules), strings.Join(sets.List(addrs), ","), ports,
		translateTimestampSince(ing.CreationTimestamp, now),
	}
}

// formatIngressHosts lists the first three hosts; once three are found, any further
// rule makes the cell say how many rules (host or not) were left out past three.
func formatIngressHosts(rules []networkingv1.IngressRule) string {
	const max = 3
	var list []string
	more := false
	for _, rule := range rules {
		if len(list) == max {
			more = true
			break
		}
		if rule.Host != "" {
			list = append(list, rule.Host)
		}
	}
	if len(list) == 0 {
		return "*"
	}
	ret := strings.Join(list, ",")
	if more {
		return fmt.Sprintf("%s + %d more...", ret, len(rules)-max)
	}
	return ret
}

func printIngressClass(ic *networkingv1.IngressClass, now time.Time) []any {
	parameters := "<none>"
	if p := ic.Spec.Parameters; p != nil {
		parameters = p.Kind
		if p.APIGroup != nil {
			parameters += "." + *p.APIGroup
		}
		parameters += "/" + p.Name
	}
	return []any{ic.Name, ic.Spec.Controller, parameters, translateTimestampSince(ic.CreationTimestamp, now)}
}

func printEndpointSlice(es *discoveryv1.EndpointSlice, now time.Time) []any {
	ports := make([]string, 0, len(es.Ports))
	for _, p := range es.Ports {
		switch {
		case p.Port != nil:
			ports = append(ports, strconv.Itoa(int(*p.Port)))
		case p.Name != nil:
			ports = append(ports, *p.Name)
		default:
			ports = append(ports, "*")
		}
	}
	var addrs []string
	for _, ep := range es.Endpoints {
		addrs = append(addrs, ep.Addresses...)
	}
	return []any{
		es.Name, string(es.AddressType), listWithMore(ports, 3), listWithMore(addrs, 3),
		translateTimestampSince(es.CreationTimestamp, now),
	}
}
