package validation

import (
	"testing"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	nodev1 "k8s.io/api/node/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestLease(t *testing.T) {
	l := &coordinationv1.Lease{ObjectMeta: objectMeta("kube-node-lease", "node-1"), Spec: coordinationv1.LeaseSpec{
		HolderIdentity: ptr("node-1"), LeaseDurationSeconds: ptr[int32](40),
	}}
	create(t, l)
	bad := l.DeepCopy()
	bad.Spec.LeaseDurationSeconds = ptr[int32](0)
	bad.Spec.LeaseTransitions = ptr[int32](-1)
	bad.Spec.PreferredHolder = ptr("node-2")
	create(t, bad, invalid("spec.leaseDurationSeconds"), invalid("spec.leaseTransitions"), forbidden("spec.preferredHolder"))
	bad.Spec = coordinationv1.LeaseSpec{Strategy: ptr(coordinationv1.CoordinatedLeaseStrategy("Newest"))}
	create(t, bad, notSupported("spec.strategy"))
}

func TestEndpointSlice(t *testing.T) {
	es := &discoveryv1.EndpointSlice{
		ObjectMeta:  objectMeta("default", "web-abc"),
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"10.244.1.5"}, NodeName: ptr("node-1")}},
		Ports:       []discoveryv1.EndpointPort{{Name: ptr("http"), Port: ptr[int32](8080), Protocol: ptr(corev1.ProtocolTCP)}},
	}
	create(t, es)
	bad := es.DeepCopy()
	bad.Endpoints = append(bad.Endpoints, discoveryv1.Endpoint{}, discoveryv1.Endpoint{Addresses: []string{"fd00::1"}})
	bad.Ports = append(bad.Ports, discoveryv1.EndpointPort{Name: ptr("http")})
	create(t, bad,
		required("endpoints[1].addresses"),
		invalid("endpoints[2].addresses[0]").with("must be a valid IPv4 address"),
		duplicate("ports[1].name"), required("ports[1].protocol"))
	crowded := es.DeepCopy()
	crowded.Endpoints = make([]discoveryv1.Endpoint, maxEndpointSliceEndpoints+1)
	create(t, crowded, tooMany("endpoints"))
	retyped := es.DeepCopy()
	retyped.AddressType = discoveryv1.AddressTypeIPv6
	retyped.Endpoints[0].Addresses = []string{"fd00::5"}
	update(t, retyped, es, invalid("addressType").with("field is immutable"))
}

func TestRBAC(t *testing.T) {
	role := &rbacv1.Role{ObjectMeta: objectMeta("default", "reader"), Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list"}},
	}}
	create(t, role)
	role.Rules = append(role.Rules, rbacv1.PolicyRule{}, rbacv1.PolicyRule{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz"}})
	create(t, role,
		required("rules[1].verbs"), required("rules[1].apiGroups"), required("rules[1].resources"),
		invalid("rules[2].nonResourceURLs").with("namespaced rules cannot apply to non-resource URLs"))

	cr := &rbacv1.ClusterRole{ObjectMeta: objectMeta("", "system:health"), Rules: []rbacv1.PolicyRule{
		{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz"}},
	}}
	create(t, cr)

	rb := &rbacv1.RoleBinding{
		ObjectMeta: objectMeta("default", "read-pods"),
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "reader"},
		Subjects: []rbacv1.Subject{
			{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "jane"},
			{Kind: rbacv1.ServiceAccountKind, Name: "builder", Namespace: "ci"},
		},
	}
	create(t, rb)
	badRB := rb.DeepCopy()
	badRB.RoleRef = rbacv1.RoleRef{APIGroup: "rbac", Kind: "Policy"}
	badRB.Subjects = append(badRB.Subjects, rbacv1.Subject{Kind: "Robot", Name: "r2"}, rbacv1.Subject{Kind: rbacv1.GroupKind, Name: "devs"})
	create(t, badRB, notSupported("roleRef.apiGroup"), notSupported("roleRef.kind"), required("roleRef.name"),
		notSupported("subjects[2].kind"), notSupported("subjects[3].apiGroup"))
	rerefd := rb.DeepCopy()
	rerefd.RoleRef.Name = "writer"
	update(t, rerefd, rb, invalid("roleRef").with("cannot change roleRef"))

	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: objectMeta("", "builders"),
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "edit"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "builder"}},
	}
	create(t, crb, notSupported("roleRef.kind"), required("subjects[0].namespace"))
}

func TestPodDisruptionBudget(t *testing.T) {
	pdb := &policyv1.PodDisruptionBudget{ObjectMeta: objectMeta("default", "web"), Spec: policyv1.PodDisruptionBudgetSpec{
		MinAvailable: intOrStr("50%"), Selector: &metav1.LabelSelector{MatchLabels: appLabels},
	}}
	create(t, pdb)
	bad := pdb.DeepCopy()
	bad.Spec.MaxUnavailable = intOrStr("150%")
	bad.Spec.UnhealthyPodEvictionPolicy = ptr(policyv1.UnhealthyPodEvictionPolicyType("Never"))
	create(t, bad, invalid("spec").with("minAvailable and maxUnavailable cannot be both set"),
		invalid("spec.maxUnavailable").with("must not be greater than 100%"), notSupported("spec.unhealthyPodEvictionPolicy"))
	withStatus := pdb.DeepCopy()
	withStatus.Status.DisruptionsAllowed = -1
	statusUpdate(t, withStatus, pdb, invalid("status.disruptionsAllowed"))
}

func TestPriorityClass(t *testing.T) {
	pc := &schedulingv1.PriorityClass{ObjectMeta: objectMeta("", "high"), Value: 1000, PreemptionPolicy: ptr(corev1.PreemptLowerPriority)}
	create(t, pc)
	create(t, &schedulingv1.PriorityClass{ObjectMeta: objectMeta("", "huge"), Value: 2000000000},
		forbidden("value").with("maximum allowed value of a user defined priority is 1000000000"))
	create(t, &schedulingv1.PriorityClass{ObjectMeta: objectMeta("", "system-mine"), Value: 1},
		forbidden("metadata.name").with("system-mine is not a known system priority class"))
	create(t, &schedulingv1.PriorityClass{ObjectMeta: objectMeta("", "system-node-critical"), Value: 2000001000})
	changed := pc.DeepCopy()
	changed.Value = 2000
	update(t, changed, pc, forbidden("value"))
}

func TestRuntimeClass(t *testing.T) {
	rc := &nodev1.RuntimeClass{ObjectMeta: objectMeta("", "gvisor"), Handler: "runsc"}
	create(t, rc)
	bad := rc.DeepCopy()
	bad.Handler = "Run.SC"
	bad.Overhead = &nodev1.Overhead{PodFixed: corev1.ResourceList{corev1.ResourceCPU: qty("-1")}}
	bad.Scheduling = &nodev1.Scheduling{NodeSelector: map[string]string{"runtime": "g visor"}}
	create(t, bad, invalid("handler"), invalid("overhead.limits[cpu]"), invalid("scheduling.nodeSelector"))
	changed := rc.DeepCopy()
	changed.Handler = "kata"
	update(t, changed, rc, invalid("handler").with("field is immutable"))
}
