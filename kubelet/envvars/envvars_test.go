package envvars

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestExpand(t *testing.T) {
	vars := map[string]string{"VAR_A": "A", "VAR_B": "B", "EMPTY": "", "REF": "$(VAR_A)"}
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{"$(VAR_A)", "A"},
		{"___$(VAR_A)___", "___A___"},
		{"$(VAR_A)$(VAR_B)", "AB"},
		{"$(EMPTY)x", "x"},
		{"$(UNDEFINED)", "$(UNDEFINED)"},
		{"$$(VAR_A)", "$(VAR_A)"},
		{"$$$(VAR_A)", "$A"},
		{"$$$$(VAR_A)", "$$(VAR_A)"},
		{"$$", "$"},
		{"$", "$"},
		{"x$", "x$"},
		{"$VAR_A", "$VAR_A"},
		{"$(", "$("},
		{"$(VAR_A", "$(VAR_A"},
		{"$()", "$()"},         // an empty name is not defined
		{"$(REF)", "$(VAR_A)"}, // no recursion
		{"$(VAR_A)$", "A$"},
		{"$(VAR_A)x$(", "Ax$("},
		{"f000-$$VAR_A", "f000-$VAR_A"},
		{"$(VAR_A)-$(VAR_A)", "A-A"},
	} {
		if got := Expand(tc.in, Mapping(vars)); got != tc.want {
			t.Errorf("Expand(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

func TestExpandNestedReferenceIsTheFirstCloser(t *testing.T) {
	// "$($(VAR_A))": the reference's name runs to the first ')', so the
	// name is "$(VAR_A", unknown, and the trailing ')' stays.
	if got, want := Expand("$($(VAR_A))", Mapping(map[string]string{"VAR_A": "A"})), "$($(VAR_A))"; got != want {
		t.Errorf("Expand = %q; want %q", got, want)
	}
}

func TestMappingOrder(t *testing.T) {
	m := Mapping(map[string]string{"A": "first"}, map[string]string{"A": "second", "B": "b"})
	for in, want := range map[string]string{"A": "first", "B": "b", "C": "$(C)"} {
		if got := m(in); got != want {
			t.Errorf("mapping(%q) = %q; want %q", in, got, want)
		}
	}
}

func svc(ns, name, ip string, ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.ServiceSpec{ClusterIP: ip, Ports: ports}}
}

func TestServiceEnv(t *testing.T) {
	services := []*corev1.Service{
		svc("default", "kubernetes", "10.43.0.1", corev1.ServicePort{Name: "https", Port: 443, Protocol: corev1.ProtocolTCP}),
		svc("default", "other", "10.43.0.2", corev1.ServicePort{Port: 80}),
		svc("app", "my-db", "10.43.0.3", corev1.ServicePort{Port: 5432}, corev1.ServicePort{Name: "metrics", Port: 9187, Protocol: corev1.ProtocolUDP}),
		svc("app", "headless", "None", corev1.ServicePort{Port: 80}),
	}
	got := ServiceEnv(services, "app", true)
	want := map[string]string{
		"KUBERNETES_SERVICE_HOST":       "10.43.0.1",
		"KUBERNETES_SERVICE_PORT":       "443",
		"KUBERNETES_SERVICE_PORT_HTTPS": "443",
		"KUBERNETES_PORT":               "tcp://10.43.0.1:443",
		"KUBERNETES_PORT_443_TCP":       "tcp://10.43.0.1:443",
		"KUBERNETES_PORT_443_TCP_PROTO": "tcp",
		"KUBERNETES_PORT_443_TCP_PORT":  "443",
		"KUBERNETES_PORT_443_TCP_ADDR":  "10.43.0.1",
		"MY_DB_SERVICE_HOST":            "10.43.0.3",
		"MY_DB_SERVICE_PORT":            "5432",
		"MY_DB_SERVICE_PORT_METRICS":    "9187",
		"MY_DB_PORT":                    "tcp://10.43.0.3:5432",
		"MY_DB_PORT_5432_TCP":           "tcp://10.43.0.3:5432",
		"MY_DB_PORT_5432_TCP_PROTO":     "tcp",
		"MY_DB_PORT_5432_TCP_PORT":      "5432",
		"MY_DB_PORT_5432_TCP_ADDR":      "10.43.0.3",
		"MY_DB_PORT_9187_UDP":           "udp://10.43.0.3:9187",
		"MY_DB_PORT_9187_UDP_PROTO":     "udp",
		"MY_DB_PORT_9187_UDP_PORT":      "9187",
		"MY_DB_PORT_9187_UDP_ADDR":      "10.43.0.3",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ServiceEnv(app, links) = %v; want %v", got, want)
	}
	// Without service links only the kubernetes service of default counts.
	got = ServiceEnv(services, "app", false)
	if len(got) != 8 || got["KUBERNETES_SERVICE_HOST"] != "10.43.0.1" {
		t.Errorf("ServiceEnv(app, no links) = %v; want the 8 variables of default/kubernetes", got)
	}
	// In default, "other" shows with links.
	if got := ServiceEnv(services, "default", true); got["OTHER_SERVICE_HOST"] != "10.43.0.2" {
		t.Errorf("ServiceEnv(default)[OTHER_SERVICE_HOST] = %q; want 10.43.0.2", got["OTHER_SERVICE_HOST"])
	}
	// A "kubernetes" service of the pod's namespace wins over default's, as
	// upstream's map of services by name has it.
	shadow := append(services, svc("app", "kubernetes", "10.43.0.9", corev1.ServicePort{Port: 1}))
	if got := ServiceEnv(shadow, "app", true)["KUBERNETES_SERVICE_HOST"]; got != "10.43.0.9" {
		t.Errorf("ServiceEnv(app with its own kubernetes)[KUBERNETES_SERVICE_HOST] = %q; want 10.43.0.9", got)
	}
	// IPv6 addresses are bracketed in URLs.
	v6 := FromService(svc("x", "v6", "fd00::1", corev1.ServicePort{Port: 80}))
	if v6[2].Name != "V6_PORT" || v6[2].Value != "tcp://[fd00::1]:80" {
		t.Errorf("FromService(v6)[2] = %v; want V6_PORT=tcp://[fd00::1]:80", v6[2])
	}
}

func TestFieldValue(t *testing.T) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u-1",
			Labels: map[string]string{"app": "web", "tier": "front"}, Annotations: map[string]string{"a.io/b": `x"y`}},
		Spec: corev1.PodSpec{NodeName: "n1", ServiceAccountName: "sa"},
	}
	ips := PodIPs{PodIPs: []string{"10.42.0.5", "fd00::5"}, HostIPs: []string{"192.168.1.2"}}
	for _, tc := range []struct{ path, want string }{
		{"metadata.name", "p"},
		{"metadata.namespace", "ns"},
		{"metadata.uid", "u-1"},
		{"metadata.labels", "app=\"web\"\ntier=\"front\""},
		{"metadata.labels['app']", "web"},
		{"metadata.labels['missing']", ""},
		{"metadata.annotations", `a.io/b="x\"y"`},
		{"metadata.annotations['a.io/b']", `x"y`},
		{"spec.nodeName", "n1"},
		{"spec.serviceAccountName", "sa"},
		{"status.hostIP", "192.168.1.2"},
		{"status.hostIPs", "192.168.1.2"},
		{"status.podIP", "10.42.0.5"},
		{"status.podIPs", "10.42.0.5,fd00::5"},
	} {
		got, err := FieldValue(pod, tc.path, ips)
		if err != nil || got != tc.want {
			t.Errorf("FieldValue(%q) = %q, %v; want %q", tc.path, got, err, tc.want)
		}
	}
	for _, path := range []string{"spec.hostname", "metadata.name['x']", "metadata.labels['bad key!']"} {
		if got, err := FieldValue(pod, path, ips); err == nil {
			t.Errorf("FieldValue(%q) = %q, nil; want an error", path, got)
		}
	}
}

func TestResourceValue(t *testing.T) {
	alloc := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("16Gi"),
		corev1.ResourceEphemeralStorage: resource.MustParse("100Gi")}
	c := &corev1.Container{Name: "app", Resources: corev1.ResourceRequirements{
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1500m")},
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
	}}
	d := DefaultLimits(c, alloc)
	if _, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
		t.Fatalf("DefaultLimits modified its argument")
	}
	for _, tc := range []struct {
		res, divisor, want string
	}{
		{"limits.cpu", "", "2"}, // 1.5 cores rounded up
		{"limits.cpu", "1m", "1500"},
		{"limits.memory", "", "17179869184"}, // the node's allocatable
		{"limits.memory", "1Gi", "16"},
		{"limits.ephemeral-storage", "1Gi", "100"},
		{"requests.cpu", "1m", "250"},
		{"requests.cpu", "", "1"},
		{"requests.memory", "1Mi", "64"},
		{"requests.ephemeral-storage", "", "0"},
	} {
		fs := &corev1.ResourceFieldSelector{Resource: tc.res}
		if tc.divisor != "" {
			fs.Divisor = resource.MustParse(tc.divisor)
		}
		got, err := ResourceValue(fs, d)
		if err != nil || got != tc.want {
			t.Errorf("ResourceValue(%s, divisor %q) = %q, %v; want %q", tc.res, tc.divisor, got, err, tc.want)
		}
	}
	if _, err := ResourceValue(&corev1.ResourceFieldSelector{Resource: "limits.gpu"}, d); err == nil {
		t.Errorf("ResourceValue(limits.gpu) = nil error; want unsupported")
	}
	pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{*c}}}
	if got, err := ContainerResourceValue(&corev1.ResourceFieldSelector{Resource: "limits.memory", Divisor: resource.MustParse("1Gi")},
		DefaultPodLimits(pod, alloc), "app"); err != nil || got != "16" {
		t.Errorf("ContainerResourceValue(app limits.memory) = %q, %v; want 16", got, err)
	}
}
