package validation

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func validService() *corev1.Service {
	return &corev1.Service{
		ObjectMeta: objectMeta("default", "web"),
		Spec: corev1.ServiceSpec{
			Type:                  corev1.ServiceTypeClusterIP,
			Selector:              map[string]string{"app": "web"},
			Ports:                 []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(8080)}},
			SessionAffinity:       corev1.ServiceAffinityNone,
			InternalTrafficPolicy: ptr(corev1.ServiceInternalTrafficPolicyCluster),
			ClusterIP:             "10.96.0.10",
			ClusterIPs:            []string{"10.96.0.10"},
			IPFamilies:            []corev1.IPFamily{corev1.IPv4Protocol},
			IPFamilyPolicy:        ptr(corev1.IPFamilyPolicySingleStack),
		},
	}
}

func nodePortService() *corev1.Service {
	s := validService()
	s.Spec.Type = corev1.ServiceTypeNodePort
	s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
	s.Spec.Ports[0].NodePort = 30080
	return s
}

func TestServiceCreate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		svc    func() *corev1.Service
		mutate func(*corev1.Service)
		wants  []want
	}{
		{"valid", validService, func(*corev1.Service) {}, nil},
		{"before allocation", validService, func(s *corev1.Service) { s.Spec.ClusterIP, s.Spec.ClusterIPs = "", nil }, nil},
		{"only clusterIP set", validService, func(s *corev1.Service) { s.Spec.ClusterIPs = nil }, nil},
		{"clusterIPs disagree", validService, func(s *corev1.Service) { s.Spec.ClusterIPs = []string{"10.96.0.11"} },
			[]want{invalid("spec.clusterIPs").with("first value must match `clusterIP`")}},
		{"bad clusterIP", validService, func(s *corev1.Service) { s.Spec.ClusterIP, s.Spec.ClusterIPs = "10.96.0.300", nil },
			[]want{invalid("spec.clusterIPs[0]")}},
		{"ports required", validService, func(s *corev1.Service) { s.Spec.Ports = nil }, []want{required("spec.ports")}},
		{"headless without ports", validService, func(s *corev1.Service) {
			s.Spec.Ports = nil
			s.Spec.ClusterIP, s.Spec.ClusterIPs = corev1.ClusterIPNone, []string{corev1.ClusterIPNone}
		}, nil},
		{"names required with several ports", validService, func(s *corev1.Service) {
			s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Port: 443, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(8443)})
		}, []want{required("spec.ports[1].name")}},
		{"duplicate names and ports", validService, func(s *corev1.Service) {
			s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(8080)})
		}, []want{duplicate("spec.ports[1].name"), duplicate("spec.ports[1]")}},
		{"same port other protocol", validService, func(s *corev1.Service) {
			s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: "dns", Port: 80, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromInt32(8080)})
		}, nil},
		{"port fields", validService, func(s *corev1.Service) {
			s.Spec.Ports[0].Port = 0
			s.Spec.Ports[0].Protocol = "HTTP"
			s.Spec.Ports[0].TargetPort = intstr.FromString("Bad_Name")
			s.Spec.Ports[0].Name = "HTTP"
		}, []want{
			invalid("spec.ports[0].port"), notSupported("spec.ports[0].protocol"),
			invalid("spec.ports[0].targetPort"), invalid("spec.ports[0].name"),
		}},
		{"type", validService, func(s *corev1.Service) { s.Spec.Type = "Internal" }, []want{notSupported("spec.type")}},
		{"selector labels", validService, func(s *corev1.Service) { s.Spec.Selector = map[string]string{"app": "we b"} },
			[]want{invalid("spec.selector")}},
		{"nodePort with ClusterIP", validService, func(s *corev1.Service) { s.Spec.Ports[0].NodePort = 30080 },
			[]want{forbidden("spec.ports[0].nodePort")}},
		{"nodePort service", nodePortService, func(*corev1.Service) {}, nil},
		{"nodePort range", nodePortService, func(s *corev1.Service) { s.Spec.Ports[0].NodePort = 8080 },
			[]want{invalid("spec.ports[0].nodePort").with("The range of valid ports is 30000-32767")}},
		{"NodePort headless", nodePortService, func(s *corev1.Service) {
			s.Spec.ClusterIP, s.Spec.ClusterIPs = corev1.ClusterIPNone, []string{corev1.ClusterIPNone}
		}, []want{invalid("spec.clusterIPs[0]").with("may not be set to 'None' for NodePort services")}},
		{"externalTrafficPolicy only when externally accessible", validService, func(s *corev1.Service) {
			s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
		}, []want{invalid("spec.externalTrafficPolicy")}},
		{"load balancer", nodePortService, func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeLoadBalancer
			s.Spec.AllocateLoadBalancerNodePorts = ptr(true)
			s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
			s.Spec.HealthCheckNodePort = 30500
			s.Spec.LoadBalancerSourceRanges = []string{"10.0.0.0/8"}
		}, nil},
		{"load balancer fields", nodePortService, func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeLoadBalancer
			s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
			s.Spec.LoadBalancerSourceRanges = []string{"10.0.0.0/33"}
		}, []want{
			required("spec.allocateLoadBalancerNodePorts"), required("spec.healthCheckNodePort"),
			invalid("spec.loadBalancerSourceRanges[0]"),
		}},
		{"source ranges only for load balancers", validService, func(s *corev1.Service) {
			s.Spec.LoadBalancerSourceRanges = []string{"10.0.0.0/8"}
		}, []want{forbidden("spec.loadBalancerSourceRanges")}},
		{"ExternalName", validService, func(s *corev1.Service) {
			s.Spec = corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "db.example.com.", SessionAffinity: corev1.ServiceAffinityNone}
		}, nil},
		{"ExternalName fields", validService, func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeExternalName
			s.Spec.InternalTrafficPolicy = nil
		}, []want{
			forbidden("spec.clusterIPs"), forbidden("spec.ipFamilies"), forbidden("spec.ipFamilyPolicy"),
			required("spec.externalName"),
		}},
		{"session affinity ClientIP", validService, func(s *corev1.Service) { s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP },
			[]want{required("spec.sessionAffinityConfig")}},
		{"internalTrafficPolicy required", validService, func(s *corev1.Service) { s.Spec.InternalTrafficPolicy = nil },
			[]want{required("spec.internalTrafficPolicy")}},
		{"external IPs", validService, func(s *corev1.Service) {
			s.Spec.ExternalIPs = []string{"127.0.0.1", "nope"}
			s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
		},
			[]want{invalid("spec.externalIPs[0]").with("loopback"), invalid("spec.externalIPs[1]")}},
		{"ip family mismatch", validService, func(s *corev1.Service) { s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv6Protocol} },
			[]want{invalid("spec.clusterIPs[0]").with("expected an IPv6 value")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.svc()
			tc.mutate(s)
			create(t, s, tc.wants...)
		})
	}
}

func TestServiceUpdate(t *testing.T) {
	old := validService()
	for _, tc := range []struct {
		name   string
		mutate func(*corev1.Service)
		wants  []want
	}{
		{"selector may change", func(s *corev1.Service) { s.Spec.Selector = map[string]string{"app": "api"} }, nil},
		{"clusterIP immutable", func(s *corev1.Service) { s.Spec.ClusterIP, s.Spec.ClusterIPs = "10.96.0.11", []string{"10.96.0.11"} },
			[]want{invalid("spec.clusterIPs[0]").with("may not change once set")}},
		{"clusterIP omitted keeps allocation", func(s *corev1.Service) { s.Spec.ClusterIP, s.Spec.ClusterIPs = "", nil }, nil},
		{"to ExternalName", func(s *corev1.Service) {
			s.Spec = corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "db.example.com", SessionAffinity: corev1.ServiceAffinityNone}
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := old.DeepCopy()
			tc.mutate(s)
			update(t, s, old, tc.wants...)
		})
	}
}

func TestServiceStatus(t *testing.T) {
	old := validService()
	s := old.DeepCopy()
	s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "1.2.3.4"}}
	statusUpdate(t, s, old, forbidden("status.loadBalancer.ingress"))

	lb := nodePortService()
	lb.Spec.Type = corev1.ServiceTypeLoadBalancer
	lb.Spec.AllocateLoadBalancerNodePorts = ptr(true)
	withIngress := lb.DeepCopy()
	withIngress.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{
		{IP: "1.2.3.4", IPMode: ptr(corev1.LoadBalancerIPModeVIP)},
		{IP: "1.2.3.5"},
		{Hostname: "10.0.0.1"},
	}
	statusUpdate(t, withIngress, lb,
		required("status.loadBalancer.ingress[1].ipMode"),
		invalid("status.loadBalancer.ingress[2].hostname").with("must be a DNS name, not an IP address"))
}
