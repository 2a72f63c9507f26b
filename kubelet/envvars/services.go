package envvars

import (
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ServiceEnv is the service environment of a pod in namespace ns, as
// upstream's getServiceEnvVarMap: the variables of the services of the
// default namespace named "kubernetes" (always) and, when
// enableServiceLinks, of every service of ns. Services without a cluster
// IP (headless, ExternalName) give none. services may hold services of
// any namespace; those that do not count are ignored.
func ServiceEnv(services []*corev1.Service, ns string, enableServiceLinks bool) map[string]string {
	byName := map[string]*corev1.Service{}
	for _, s := range services {
		if !hasClusterIP(s) {
			continue
		}
		if s.Namespace == metav1.NamespaceDefault && s.Name == "kubernetes" {
			if _, ok := byName[s.Name]; !ok {
				byName[s.Name] = s
			}
		} else if s.Namespace == ns && enableServiceLinks {
			byName[s.Name] = s
		}
	}
	names := make([]string, 0, len(byName))
	for name := range byName {
		names = append(names, name)
	}
	sort.Strings(names)
	env := map[string]string{}
	for _, name := range names {
		for _, e := range FromService(byName[name]) {
			env[e.Name] = e.Value
		}
	}
	return env
}

func hasClusterIP(s *corev1.Service) bool {
	return s.Spec.ClusterIP != "" && s.Spec.ClusterIP != corev1.ClusterIPNone
}

// FromService is the variables of one service, as upstream's FromServices:
// NAME_SERVICE_HOST, NAME_SERVICE_PORT (the first port),
// NAME_SERVICE_PORT_<PORTNAME> for each named port, and the Docker link
// variables NAME_PORT, NAME_PORT_<port>_<PROTO>{,_PROTO,_PORT,_ADDR}, NAME
// being the service's name upper-cased with '-' as '_'.
func FromService(s *corev1.Service) []corev1.EnvVar {
	if !hasClusterIP(s) || len(s.Spec.Ports) == 0 {
		return nil
	}
	prefix := envName(s.Name)
	ip := s.Spec.ClusterIP
	out := []corev1.EnvVar{
		{Name: prefix + "_SERVICE_HOST", Value: ip},
		{Name: prefix + "_SERVICE_PORT", Value: strconv.Itoa(int(s.Spec.Ports[0].Port))},
	}
	for _, p := range s.Spec.Ports {
		if p.Name != "" {
			out = append(out, corev1.EnvVar{Name: prefix + "_SERVICE_PORT_" + envName(p.Name), Value: strconv.Itoa(int(p.Port))})
		}
	}
	for i, p := range s.Spec.Ports {
		proto := string(corev1.ProtocolTCP)
		if p.Protocol != "" {
			proto = string(p.Protocol)
		}
		lower := strings.ToLower(proto)
		url := lower + "://" + net.JoinHostPort(ip, strconv.Itoa(int(p.Port)))
		if i == 0 {
			out = append(out, corev1.EnvVar{Name: prefix + "_PORT", Value: url})
		}
		pp := fmt.Sprintf("%s_PORT_%d_%s", prefix, p.Port, strings.ToUpper(proto))
		out = append(out,
			corev1.EnvVar{Name: pp, Value: url},
			corev1.EnvVar{Name: pp + "_PROTO", Value: lower},
			corev1.EnvVar{Name: pp + "_PORT", Value: strconv.Itoa(int(p.Port))},
			corev1.EnvVar{Name: pp + "_ADDR", Value: ip})
	}
	return out
}

func envName(s string) string {
	return strings.ToUpper(strings.ReplaceAll(s, "-", "_"))
}
