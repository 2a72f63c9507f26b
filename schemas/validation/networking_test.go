package validation

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func validIngress() *networkingv1.Ingress {
	return &networkingv1.Ingress{ObjectMeta: objectMeta("default", "web"), Spec: networkingv1.IngressSpec{
		IngressClassName: ptr("nginx"),
		TLS:              []networkingv1.IngressTLS{{Hosts: []string{"www.example.com"}, SecretName: "www-tls"}},
		Rules: []networkingv1.IngressRule{{Host: "www.example.com", IngressRuleValue: networkingv1.IngressRuleValue{
			HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
				Path: "/", PathType: ptr(networkingv1.PathTypePrefix),
				Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
					Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80},
				}},
			}}},
		}}},
	}}
}

func TestIngress(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*networkingv1.Ingress)
		wants  []want
	}{
		{"valid", func(*networkingv1.Ingress) {}, nil},
		{"no rules nor backend", func(i *networkingv1.Ingress) { i.Spec.Rules = nil }, []want{invalid("spec").with("either `defaultBackend` or `rules` must be specified")}},
		{"host", func(i *networkingv1.Ingress) { i.Spec.Rules[0].Host = "10.0.0.1" },
			[]want{invalid("spec.rules[0].host").with("must be a DNS name, not an IP address")}},
		{"wildcard host", func(i *networkingv1.Ingress) { i.Spec.Rules[0].Host = "*.example.com" }, nil},
		{"path type required", func(i *networkingv1.Ingress) { i.Spec.Rules[0].HTTP.Paths[0].PathType = nil },
			[]want{required("spec.rules[0].http.paths[0].pathType")}},
		{"path", func(i *networkingv1.Ingress) { i.Spec.Rules[0].HTTP.Paths[0].Path = "api//v1" }, []want{
			invalid("spec.rules[0].http.paths[0].path").with("must be an absolute path"),
			invalid("spec.rules[0].http.paths[0].path").with("must not contain '//'"),
		}},
		{"backend port", func(i *networkingv1.Ingress) {
			i.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Port = networkingv1.ServiceBackendPort{}
		}, []want{required("spec.rules[0].http.paths[0].backend").with("port name or number is required")}},
		{"backend service name", func(i *networkingv1.Ingress) { i.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Name = "1web" },
			[]want{invalid("spec.rules[0].http.paths[0].backend.service.name")}},
		{"tls secret name", func(i *networkingv1.Ingress) { i.Spec.TLS[0].SecretName = "Bad_Secret" }, []want{invalid("spec.tls[0].secretName")}},
		{"class annotation disagrees", func(i *networkingv1.Ingress) {
			i.Annotations = map[string]string{ingressClassAnnotation: "traefik"}
		}, []want{invalid("metadata.annotations[kubernetes.io/ingress.class]")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			i := validIngress()
			tc.mutate(i)
			create(t, i, tc.wants...)
		})
	}
}

func TestIngressClass(t *testing.T) {
	ic := &networkingv1.IngressClass{ObjectMeta: objectMeta("", "nginx"), Spec: networkingv1.IngressClassSpec{Controller: "k8s.io/ingress-nginx"}}
	create(t, ic)
	bad := ic.DeepCopy()
	bad.Spec.Controller = "nginx"
	bad.Spec.Parameters = &networkingv1.IngressClassParametersReference{Kind: "Config", Name: "cfg", Scope: ptr(networkingv1.IngressClassParametersReferenceScopeNamespace)}
	create(t, bad, invalid("spec.controller"), required("spec.parameters.namespace"))
	changed := ic.DeepCopy()
	changed.Spec.Controller = "example.com/other"
	update(t, changed, ic, invalid("spec.controller").with("field is immutable"))
}

func TestNetworkPolicy(t *testing.T) {
	np := &networkingv1.NetworkPolicy{ObjectMeta: objectMeta("default", "deny"), Spec: networkingv1.NetworkPolicySpec{
		PodSelector: metav1.LabelSelector{MatchLabels: appLabels},
		Ingress: []networkingv1.NetworkPolicyIngressRule{{
			Ports: []networkingv1.NetworkPolicyPort{{Protocol: ptr(corev1.ProtocolTCP), Port: ptr(intstr.FromInt32(80)), EndPort: ptr[int32](90)}},
			From:  []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8", Except: []string{"10.1.0.0/16"}}}},
		}},
		PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
	}}
	create(t, np)
	bad := np.DeepCopy()
	bad.Spec.Ingress[0].Ports[0].EndPort = ptr[int32](70)
	bad.Spec.Ingress[0].From = append(bad.Spec.Ingress[0].From,
		networkingv1.NetworkPolicyPeer{},
		networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/16", Except: []string{"192.168.0.0/24"}}, PodSelector: &metav1.LabelSelector{}})
	bad.Spec.PolicyTypes = []networkingv1.PolicyType{"Both"}
	create(t, bad,
		invalid("spec.ingress[0].ports[0].endPort").with("must be greater than or equal to `port`"),
		required("spec.ingress[0].from[1]").with("must specify a peer"),
		invalid("spec.ingress[0].from[2].ipBlock.except[0]").with("must be a strict subset of `cidr`"),
		forbidden("spec.ingress[0].from[2]").with("may not specify both ipBlock and another peer"),
		notSupported("spec.policyTypes[0]"))
}
