package validation

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func TestNamespace(t *testing.T) {
	ns := &corev1.Namespace{ObjectMeta: objectMeta("", "team-a"), Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"kubernetes"}}}
	create(t, ns)
	bad := ns.DeepCopy()
	bad.Spec.Finalizers = []corev1.FinalizerName{"custom"}
	create(t, bad, invalid("spec.finalizers[0]"))

	active := ns.DeepCopy()
	active.Status.Phase = corev1.NamespaceActive
	terminating := active.DeepCopy()
	terminating.Status.Phase = corev1.NamespaceTerminating
	statusUpdate(t, active, ns)
	statusUpdate(t, terminating, ns, invalid("status.phase").with("may only be 'Active' if `deletionTimestamp` is empty"))
}

func TestNode(t *testing.T) {
	node := &corev1.Node{ObjectMeta: objectMeta("", "node-1"), Spec: corev1.NodeSpec{
		PodCIDRs:   []string{"10.244.1.0/24"},
		ProviderID: "kind://node-1",
		Taints:     []corev1.Taint{{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectNoSchedule}},
	}}
	create(t, node)
	for _, tc := range []struct {
		name   string
		mutate func(*corev1.Node)
		wants  []want
	}{
		{"taints", func(n *corev1.Node) {
			n.Spec.Taints = append(n.Spec.Taints,
				corev1.Taint{Key: "dedicated", Value: "web", Effect: corev1.TaintEffectNoSchedule},
				corev1.Taint{Key: "x", Effect: ""})
		}, []want{duplicate("spec.taints[1]").with("taints must be unique by key and effect pair"), required("spec.taints[2].effect")}},
		{"podCIDRs", func(n *corev1.Node) { n.Spec.PodCIDRs = []string{"10.244.1.0/24", "10.245.1.0/24", "bad"} },
			[]want{invalid("spec.podCIDRs[2]")}},
		{"podCIDRs same family", func(n *corev1.Node) { n.Spec.PodCIDRs = []string{"10.244.1.0/24", "10.245.1.0/24"} },
			[]want{invalid("spec.podCIDRs").with("no more than one CIDR for each IP family")}},
		{"capacity", func(n *corev1.Node) { n.Status.Capacity = corev1.ResourceList{corev1.ResourcePods: qty("1.5")} },
			[]want{invalid("status.capacity[pods]").with("must be an integer")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := node.DeepCopy()
			tc.mutate(n)
			create(t, n, tc.wants...)
		})
	}
	moved := node.DeepCopy()
	moved.Spec.PodCIDRs = []string{"10.244.2.0/24"}
	moved.Spec.ProviderID = "kind://other"
	update(t, moved, node, forbidden("spec.podCIDRs"), forbidden("spec.providerID"))
	unschedulable := node.DeepCopy()
	unschedulable.Spec.Unschedulable = true
	update(t, unschedulable, node)
}

func TestConfigMap(t *testing.T) {
	cm := &corev1.ConfigMap{ObjectMeta: objectMeta("default", "cfg"), Data: map[string]string{"app.conf": "x"}}
	create(t, cm)
	for _, tc := range []struct {
		name   string
		mutate func(*corev1.ConfigMap)
		wants  []want
	}{
		{"bad key", func(c *corev1.ConfigMap) { c.Data["a/b"] = "x" }, []want{invalid("data[a/b]").with("a valid config key")}},
		{"key in both", func(c *corev1.ConfigMap) { c.BinaryData = map[string][]byte{"app.conf": nil} },
			[]want{invalid("data[app.conf]").with("duplicate of key present in binaryData")}},
		{"too large", func(c *corev1.ConfigMap) { c.Data["big"] = strings.Repeat("x", 1<<20) }, []want{tooLong("[]")}}, // upstream reports the whole object as "[]"
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := cm.DeepCopy()
			tc.mutate(c)
			create(t, c, tc.wants...)
		})
	}
	frozen := cm.DeepCopy()
	frozen.Immutable = ptr(true)
	changed := frozen.DeepCopy()
	changed.Data["app.conf"] = "y"
	changed.Immutable = ptr(false)
	update(t, changed, frozen, forbidden("immutable"), forbidden("data"))
	update(t, frozen, cm)
}

func TestSecret(t *testing.T) {
	base := &corev1.Secret{ObjectMeta: objectMeta("default", "creds"), Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"password": []byte("x")}}
	for _, tc := range []struct {
		name   string
		mutate func(*corev1.Secret)
		wants  []want
	}{
		{"opaque", func(*corev1.Secret) {}, nil},
		{"bad key", func(s *corev1.Secret) { s.Data["bad key"] = nil }, []want{invalid("data[bad key]")}},
		{"too large", func(s *corev1.Secret) { s.Data["big"] = make([]byte, 1<<20) }, []want{tooLong("data")}},
		{"tls needs cert and key", func(s *corev1.Secret) { s.Type = corev1.SecretTypeTLS }, []want{required("data[tls.crt]"), required("data[tls.key]")}},
		{"tls", func(s *corev1.Secret) {
			s.Type = corev1.SecretTypeTLS
			s.Data = map[string][]byte{corev1.TLSCertKey: []byte("c"), corev1.TLSPrivateKeyKey: []byte("k")}
		}, nil},
		{"dockerconfigjson missing", func(s *corev1.Secret) { s.Type = corev1.SecretTypeDockerConfigJson }, []want{required("data[.dockerconfigjson]")}},
		{"dockerconfigjson not json", func(s *corev1.Secret) {
			s.Type = corev1.SecretTypeDockerConfigJson
			s.Data = map[string][]byte{corev1.DockerConfigJsonKey: []byte("{")}
		}, []want{invalid("data[.dockerconfigjson]")}},
		{"basic auth empty", func(s *corev1.Secret) { s.Type, s.Data = corev1.SecretTypeBasicAuth, nil },
			[]want{required("data[username]"), required("data[password]")}},
		{"basic auth password only", func(s *corev1.Secret) { s.Type = corev1.SecretTypeBasicAuth }, nil},
		{"ssh auth", func(s *corev1.Secret) { s.Type = corev1.SecretTypeSSHAuth }, []want{required("data[ssh-privatekey]")}},
		{"service account token", func(s *corev1.Secret) { s.Type = corev1.SecretTypeServiceAccountToken },
			[]want{required("metadata.annotations[kubernetes.io/service-account.name]")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := base.DeepCopy()
			tc.mutate(s)
			create(t, s, tc.wants...)
		})
	}
	retyped := base.DeepCopy()
	retyped.Type = "example.com/custom"
	update(t, retyped, base, invalid("type").with("field is immutable"))
	frozen := base.DeepCopy()
	frozen.Immutable = ptr(true)
	changed := frozen.DeepCopy()
	changed.Data["password"] = []byte("y")
	update(t, changed, frozen, forbidden("data"))
}

func TestServiceAccount(t *testing.T) {
	sa := &corev1.ServiceAccount{ObjectMeta: objectMeta("default", "builder")}
	create(t, sa)
	sa.ImagePullSecrets = []corev1.LocalObjectReference{{}}
	create(t, sa, required("imagePullSecrets[0].name"))
}

func TestEndpoints(t *testing.T) {
	ep := &corev1.Endpoints{ObjectMeta: objectMeta("default", "web"), Subsets: []corev1.EndpointSubset{{
		Addresses: []corev1.EndpointAddress{{IP: "10.244.1.5"}},
		Ports:     []corev1.EndpointPort{{Name: "http", Port: 8080, Protocol: corev1.ProtocolTCP}},
	}}}
	create(t, ep)
	bad := ep.DeepCopy()
	bad.Subsets = append(bad.Subsets, corev1.EndpointSubset{
		Addresses: []corev1.EndpointAddress{{IP: "127.0.0.1"}, {IP: "bad"}},
		Ports:     []corev1.EndpointPort{{Port: 0, Protocol: "TCP"}, {Port: 80, Protocol: "X"}},
	}, corev1.EndpointSubset{})
	create(t, bad,
		invalid("subsets[1].addresses[0].ip").with("loopback"),
		invalid("subsets[1].addresses[1].ip"),
		required("subsets[1].ports[0].name"), invalid("subsets[1].ports[0].port"),
		required("subsets[1].ports[1].name"), notSupported("subsets[1].ports[1].protocol"),
		required("subsets[2]"))
}

func TestResourceQuota(t *testing.T) {
	rq := &corev1.ResourceQuota{ObjectMeta: objectMeta("default", "quota"), Spec: corev1.ResourceQuotaSpec{
		Hard: corev1.ResourceList{corev1.ResourcePods: qty("10"), corev1.ResourceRequestsCPU: qty("4"), "count/deployments.apps": qty("5")},
	}}
	create(t, rq)
	for _, tc := range []struct {
		name   string
		mutate func(*corev1.ResourceQuota)
		wants  []want
	}{
		{"unknown resource", func(q *corev1.ResourceQuota) { q.Spec.Hard["widgets"] = qty("1") },
			[]want{invalid("spec.hard[widgets]").with("must be a standard resource type or fully qualified"), invalid("spec.hard[widgets]").with("must be a standard resource for quota")}},
		{"non-integer pods", func(q *corev1.ResourceQuota) { q.Spec.Hard[corev1.ResourcePods] = qty("1.5") },
			[]want{invalid("spec.hard[pods]").with("must be an integer")}},
		{"negative", func(q *corev1.ResourceQuota) { q.Spec.Hard[corev1.ResourceRequestsCPU] = qty("-1") },
			[]want{invalid("spec.hard[requests.cpu]")}},
		{"conflicting scopes", func(q *corev1.ResourceQuota) {
			q.Spec.Hard = corev1.ResourceList{corev1.ResourcePods: qty("10")}
			q.Spec.Scopes = []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeTerminating, corev1.ResourceQuotaScopeNotTerminating}
		}, []want{invalid("spec.scopes").with("conflicting scopes")}},
		{"scope not valid for resource", func(q *corev1.ResourceQuota) {
			q.Spec.Hard = corev1.ResourceList{corev1.ResourceRequestsCPU: qty("1")}
			q.Spec.Scopes = []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeBestEffort}
		}, []want{invalid("spec.scopes").with("unsupported scope applied to resource")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := rq.DeepCopy()
			tc.mutate(q)
			create(t, q, tc.wants...)
		})
	}
	scoped := rq.DeepCopy()
	scoped.Spec.Hard = corev1.ResourceList{corev1.ResourcePods: qty("10")}
	rescoped := scoped.DeepCopy()
	rescoped.Spec.Scopes = []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeBestEffort}
	update(t, rescoped, scoped, invalid("spec.scopes").with("field is immutable"))
}

func TestLimitRange(t *testing.T) {
	lr := &corev1.LimitRange{ObjectMeta: objectMeta("default", "limits"), Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
		Type:           corev1.LimitTypeContainer,
		Max:            corev1.ResourceList{corev1.ResourceCPU: qty("2")},
		Min:            corev1.ResourceList{corev1.ResourceCPU: qty("100m")},
		Default:        corev1.ResourceList{corev1.ResourceCPU: qty("500m")},
		DefaultRequest: corev1.ResourceList{corev1.ResourceCPU: qty("200m")},
	}}}}
	create(t, lr)
	bad := lr.DeepCopy()
	bad.Spec.Limits[0].Min[corev1.ResourceCPU] = qty("3")
	bad.Spec.Limits = append(bad.Spec.Limits, corev1.LimitRangeItem{Type: corev1.LimitTypeContainer},
		corev1.LimitRangeItem{Type: corev1.LimitTypePod, Default: corev1.ResourceList{corev1.ResourceCPU: qty("1")}},
		corev1.LimitRangeItem{Type: corev1.LimitTypePersistentVolumeClaim})
	create(t, bad,
		invalid("spec.limits[0].min[cpu]").with("min value 3 is greater than max value 2"),
		invalid("spec.limits[0].defaultRequest[cpu]").with("min value 3 is greater than default request value 200m"),
		invalid("spec.limits[0].default[cpu]").with("min value 3 is greater than default value 500m"),
		duplicate("spec.limits[1].type"),
		forbidden("spec.limits[2].default"),
		required("spec.limits[3].limits"))
}

func TestReplicationController(t *testing.T) {
	tmpl := podTemplate(appLabels)
	rc := &corev1.ReplicationController{ObjectMeta: objectMeta("default", "web"), Spec: corev1.ReplicationControllerSpec{
		Replicas: ptr[int32](1), Selector: appLabels, Template: &tmpl,
	}}
	create(t, rc)
	for _, tc := range []struct {
		name   string
		mutate func(*corev1.ReplicationController)
		wants  []want
	}{
		{"selector required", func(r *corev1.ReplicationController) { r.Spec.Selector = nil }, []want{required("spec.selector")}},
		{"selector mismatch", func(r *corev1.ReplicationController) { r.Spec.Selector = map[string]string{"app": "api"} },
			[]want{invalid("spec.template.metadata.labels").with("`selector` does not match template `labels`")}},
		{"replicas", func(r *corev1.ReplicationController) { r.Spec.Replicas = ptr[int32](-1) }, []want{invalid("spec.replicas")}},
		{"template required", func(r *corev1.ReplicationController) { r.Spec.Template = nil }, []want{required("spec.template")}},
		{"restartPolicy", func(r *corev1.ReplicationController) { r.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever },
			[]want{notSupported("spec.template.spec.restartPolicy")}},
		{"template pod spec", func(r *corev1.ReplicationController) { r.Spec.Template.Spec.Containers[0].Image = "" },
			[]want{required("spec.template.spec.containers[0].image")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rc.DeepCopy()
			tc.mutate(r)
			create(t, r, tc.wants...)
		})
	}
	counted := rc.DeepCopy()
	counted.Status = corev1.ReplicationControllerStatus{Replicas: 1, ReadyReplicas: 2, AvailableReplicas: 1}
	statusUpdate(t, counted, rc, invalid("status.readyReplicas").with("cannot be greater than status.replicas"))
}

func TestPodTemplate(t *testing.T) {
	pt := &corev1.PodTemplate{ObjectMeta: objectMeta("default", "tmpl"), Template: podTemplate(appLabels)}
	create(t, pt)
	pt.Template.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon(container("debug"))}}
	create(t, pt, forbidden("template.spec.ephemeralContainers"))
}

func TestEvents(t *testing.T) {
	legacy := &corev1.Event{
		ObjectMeta:     objectMeta("default", "web.17f1"),
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web"},
		Reason:         "Started", Message: "Started container", Type: corev1.EventTypeNormal,
	}
	create(t, legacy)
	wrongNS := legacy.DeepCopy()
	wrongNS.InvolvedObject.Namespace = "other"
	create(t, wrongNS, invalid("involvedObject.namespace").with("does not match event.namespace"))

	ev := &eventsv1.Event{
		ObjectMeta:          objectMeta("default", "web.17f2"),
		EventTime:           metav1.NewMicroTime(created.Time),
		ReportingController: "example.com/controller",
		ReportingInstance:   "controller-1",
		Action:              "Scale", Reason: "ScaledUp", Note: "scaled", Type: corev1.EventTypeNormal,
		Regarding: corev1.ObjectReference{Kind: "Deployment", Namespace: "default", Name: "web"},
	}
	create(t, ev)
	for _, tc := range []struct {
		name   string
		mutate func(*eventsv1.Event)
		wants  []want
	}{
		{"eventTime required", func(e *eventsv1.Event) { e.EventTime = metav1.MicroTime{} }, []want{required("eventTime")}},
		{"type", func(e *eventsv1.Event) { e.Type = "Info" }, []want{invalid("type")}},
		{"reporting fields", func(e *eventsv1.Event) { e.ReportingController, e.Action, e.Reason = "", "", strings.Repeat("r", 129) },
			[]want{required("reportingController"), invalid("reportingController"), invalid("reportingController"), required("action"), invalid("reason")}},
		{"deprecated fields unset", func(e *eventsv1.Event) { e.DeprecatedCount = 3 }, []want{invalid("deprecatedCount")}},
		{"series", func(e *eventsv1.Event) { e.Series = &eventsv1.EventSeries{Count: 1} },
			[]want{invalid("series.count"), required("series.lastObservedTime")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := ev.DeepCopy()
			tc.mutate(e)
			create(t, e, tc.wants...)
		})
	}
	renoted := ev.DeepCopy()
	renoted.Note = "other"
	update(t, renoted, ev, invalid("note").with("field is immutable"))
}

// The scope table must agree with where the kind lives.
func TestClusterScopedKinds(t *testing.T) {
	for _, obj := range []runtime.Object{
		&corev1.Namespace{}, &corev1.Node{}, &corev1.PersistentVolume{},
	} {
		if namespaced, _ := IsNamespaced(obj); namespaced {
			t.Errorf("IsNamespaced(%T) = true; want false", obj)
		}
	}
}
