package validation

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func validDeployment() *appsv1.Deployment {
	return &appsv1.Deployment{ObjectMeta: objectMeta("default", "web"), Spec: appsv1.DeploymentSpec{
		Replicas: ptr[int32](3),
		Selector: &metav1.LabelSelector{MatchLabels: appLabels},
		Template: podTemplate(appLabels),
		Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{
			MaxUnavailable: intOrStr("25%"), MaxSurge: intOrStr("25%"),
		}},
		RevisionHistoryLimit:    ptr[int32](10),
		ProgressDeadlineSeconds: ptr[int32](600),
	}}
}

func TestDeployment(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*appsv1.Deployment)
		wants  []want
	}{
		{"valid", func(*appsv1.Deployment) {}, nil},
		{"selector required", func(d *appsv1.Deployment) { d.Spec.Selector = nil }, []want{required("spec.selector")}},
		{"empty selector", func(d *appsv1.Deployment) { d.Spec.Selector = &metav1.LabelSelector{} },
			[]want{invalid("spec.selector").with("empty selector is invalid for deployment")}},
		{"selector mismatch", func(d *appsv1.Deployment) { d.Spec.Selector.MatchLabels = map[string]string{"app": "api"} },
			[]want{invalid("spec.template.metadata.labels").with("`selector` does not match template `labels`")}},
		{"bad selector", func(d *appsv1.Deployment) {
			d.Spec.Selector.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "tier", Operator: "Near"}}
		}, []want{invalid("spec.selector.matchExpressions[0].operator"), invalid("spec.selector").with("invalid label selector")}},
		{"replicas", func(d *appsv1.Deployment) { d.Spec.Replicas = ptr[int32](-1) }, []want{invalid("spec.replicas")}},
		{"restartPolicy", func(d *appsv1.Deployment) { d.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure },
			[]want{notSupported("spec.template.spec.restartPolicy")}},
		{"activeDeadlineSeconds", func(d *appsv1.Deployment) { d.Spec.Template.Spec.ActiveDeadlineSeconds = ptr[int64](10) },
			[]want{forbidden("spec.template.spec.activeDeadlineSeconds")}},
		{"template pod spec", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Name = "Web" },
			[]want{invalid("spec.template.spec.containers[0].name")}},
		{"maxSurge and maxUnavailable both 0", func(d *appsv1.Deployment) {
			d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxUnavailable: intOrStr("0"), MaxSurge: intOrStr("0%")}
		}, []want{invalid("spec.strategy.rollingUpdate.maxUnavailable").with("may not be 0 when `maxSurge` is 0")}},
		{"percent above 100", func(d *appsv1.Deployment) { d.Spec.Strategy.RollingUpdate.MaxUnavailable = intOrStr("150%") },
			[]want{invalid("spec.strategy.rollingUpdate.maxUnavailable").with("must not be greater than 100%")}},
		{"bad percent", func(d *appsv1.Deployment) { d.Spec.Strategy.RollingUpdate.MaxSurge = intOrStr("ten%") },
			[]want{invalid("spec.strategy.rollingUpdate.maxSurge")}},
		{"recreate with rollingUpdate", func(d *appsv1.Deployment) { d.Spec.Strategy.Type = appsv1.RecreateDeploymentStrategyType },
			[]want{forbidden("spec.strategy.rollingUpdate")}},
		{"strategy type", func(d *appsv1.Deployment) { d.Spec.Strategy.Type = "BlueGreen" }, []want{notSupported("spec.strategy.type")}},
		{"revisionHistoryLimit", func(d *appsv1.Deployment) { d.Spec.RevisionHistoryLimit = ptr[int32](-1) }, []want{invalid("spec.revisionHistoryLimit")}},
		{"progressDeadlineSeconds", func(d *appsv1.Deployment) { d.Spec.MinReadySeconds = 600 },
			[]want{invalid("spec.progressDeadlineSeconds").with("must be greater than minReadySeconds")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := validDeployment()
			tc.mutate(d)
			create(t, d, tc.wants...)
		})
	}
	old := validDeployment()
	scaled := old.DeepCopy()
	scaled.Spec.Replicas = ptr[int32](5)
	scaled.Spec.Template.Spec.Containers[0].Image = "registry.example/app:2.0"
	update(t, scaled, old)
	reselected := old.DeepCopy()
	reselected.Spec.Selector.MatchLabels = map[string]string{"app": "web", "tier": "front"}
	reselected.Spec.Template.Labels = map[string]string{"app": "web", "tier": "front"}
	update(t, reselected, old, invalid("spec.selector").with("field is immutable"))

	withStatus := old.DeepCopy()
	withStatus.Status = appsv1.DeploymentStatus{Replicas: 3, ReadyReplicas: 2, AvailableReplicas: 3, CollisionCount: ptr[int32](1)}
	later := withStatus.DeepCopy()
	later.Status.CollisionCount = ptr[int32](0)
	statusUpdate(t, later, withStatus,
		invalid("status.availableReplicas").with("cannot be greater than readyReplicas"),
		invalid("status.collisionCount").with("cannot be decremented"))
}

func TestReplicaSet(t *testing.T) {
	rs := &appsv1.ReplicaSet{ObjectMeta: objectMeta("default", "web-5d8f"), Spec: appsv1.ReplicaSetSpec{
		Replicas: ptr[int32](1), Selector: &metav1.LabelSelector{MatchLabels: appLabels}, Template: podTemplate(appLabels),
	}}
	create(t, rs)
	bad := rs.DeepCopy()
	bad.Spec.MinReadySeconds = -1
	bad.Spec.Template.Labels = nil
	create(t, bad, invalid("spec.minReadySeconds"), invalid("spec.template.metadata.labels"))
}

func validStatefulSet() *appsv1.StatefulSet {
	tmpl := podTemplate(appLabels)
	tmpl.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/var/lib/data"}}
	return &appsv1.StatefulSet{ObjectMeta: objectMeta("default", "db"), Spec: appsv1.StatefulSetSpec{
		Replicas: ptr[int32](3), Selector: &metav1.LabelSelector{MatchLabels: appLabels}, Template: tmpl,
		ServiceName:         "db",
		PodManagementPolicy: appsv1.OrderedReadyPodManagement,
		UpdateStrategy: appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType,
			RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr[int32](0)}},
		RevisionHistoryLimit: ptr[int32](10),
		VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
			ObjectMeta: metav1.ObjectMeta{Name: "data"},
			Spec:       validPVC().Spec,
		}},
		PersistentVolumeClaimRetentionPolicy: &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
			WhenDeleted: appsv1.RetainPersistentVolumeClaimRetentionPolicyType, WhenScaled: appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
		},
	}}
}

func TestStatefulSet(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*appsv1.StatefulSet)
		wants  []want
	}{
		{"valid, mounting a claim template", func(*appsv1.StatefulSet) {}, nil},
		{"name must be a label", func(s *appsv1.StatefulSet) { s.Name = "db.v1" }, []want{invalid("metadata.name")}},
		{"podManagementPolicy", func(s *appsv1.StatefulSet) { s.Spec.PodManagementPolicy = "Random" },
			[]want{invalid("spec.podManagementPolicy").with("must be 'OrderedReady' or 'Parallel'")}},
		{"updateStrategy", func(s *appsv1.StatefulSet) { s.Spec.UpdateStrategy.Type = "" }, []want{required("spec.updateStrategy")}},
		{"OnDelete with rollingUpdate", func(s *appsv1.StatefulSet) { s.Spec.UpdateStrategy.Type = appsv1.OnDeleteStatefulSetStrategyType },
			[]want{invalid("spec.updateStrategy.rollingUpdate")}},
		{"partition", func(s *appsv1.StatefulSet) { s.Spec.UpdateStrategy.RollingUpdate.Partition = ptr[int32](-1) },
			[]want{invalid("spec.updateStrategy.rollingUpdate.partition")}},
		{"maxUnavailable 0", func(s *appsv1.StatefulSet) { s.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = intOrStr("0") },
			[]want{invalid("spec.updateStrategy.rollingUpdate.maxUnavailable").with("cannot be 0")}},
		{"retention policy", func(s *appsv1.StatefulSet) { s.Spec.PersistentVolumeClaimRetentionPolicy.WhenScaled = "Keep" },
			[]want{notSupported("spec.persistentVolumeClaimRetentionPolicy.whenScaled")}},
		{"empty selector", func(s *appsv1.StatefulSet) { s.Spec.Selector = &metav1.LabelSelector{} },
			[]want{invalid("spec.selector").with("empty selector is invalid for statefulset")}},
		{"claim template spec", func(s *appsv1.StatefulSet) { s.Spec.VolumeClaimTemplates[0].Spec.AccessModes = nil },
			[]want{required("spec.volumeClaimTemplates[0].spec.accessModes")}},
		{"mount of unknown volume", func(s *appsv1.StatefulSet) { s.Spec.Template.Spec.Containers[0].VolumeMounts[0].Name = "logs" },
			[]want{notFound("spec.template.spec.containers[0].volumeMounts[0].name")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := validStatefulSet()
			tc.mutate(s)
			create(t, s, tc.wants...)
		})
	}
	old := validStatefulSet()
	scaled := old.DeepCopy()
	scaled.Spec.Replicas = ptr[int32](5)
	scaled.Spec.Template.Spec.Containers[0].Image = "registry.example/db:2"
	scaled.Spec.UpdateStrategy.RollingUpdate.Partition = ptr[int32](2)
	update(t, scaled, old)
	renamed := old.DeepCopy()
	renamed.Spec.ServiceName = "other"
	update(t, renamed, old, forbidden("spec").with("updates to statefulset spec for fields other than"))
}

func TestDaemonSet(t *testing.T) {
	ds := &appsv1.DaemonSet{ObjectMeta: objectMeta("kube-system", "agent"), Spec: appsv1.DaemonSetSpec{
		Selector: &metav1.LabelSelector{MatchLabels: appLabels}, Template: podTemplate(appLabels),
		UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType, RollingUpdate: &appsv1.RollingUpdateDaemonSet{
			MaxUnavailable: intOrStr("1"), MaxSurge: intOrStr("0"),
		}},
		RevisionHistoryLimit: ptr[int32](10),
	}}
	create(t, ds)
	for _, tc := range []struct {
		name   string
		mutate func(*appsv1.DaemonSet)
		wants  []want
	}{
		{"surge and unavailable", func(d *appsv1.DaemonSet) { d.Spec.UpdateStrategy.RollingUpdate.MaxSurge = intOrStr("1") },
			[]want{invalid("spec.updateStrategy.rollingUpdate.maxSurge").with("may not be set when maxUnavailable is non-zero")}},
		{"neither", func(d *appsv1.DaemonSet) { d.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = intOrStr("0") },
			[]want{required("spec.updateStrategy.rollingUpdate.maxUnavailable")}},
		{"strategy type", func(d *appsv1.DaemonSet) { d.Spec.UpdateStrategy.Type = "Surge" }, []want{notSupported("spec.updateStrategy.type")}},
		{"selector required", func(d *appsv1.DaemonSet) { d.Spec.Selector = nil }, []want{required("spec.selector")}},
		{"restartPolicy", func(d *appsv1.DaemonSet) { d.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever },
			[]want{notSupported("spec.template.spec.restartPolicy")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := ds.DeepCopy()
			tc.mutate(d)
			create(t, d, tc.wants...)
		})
	}
}

func TestControllerRevision(t *testing.T) {
	cr := &appsv1.ControllerRevision{ObjectMeta: objectMeta("default", "web-1"), Data: runtime.RawExtension{Raw: []byte(`{}`)}, Revision: 1}
	create(t, cr)
	create(t, &appsv1.ControllerRevision{ObjectMeta: objectMeta("default", "web-1"), Revision: -1},
		required("data"), invalid("revision"))
	changed := cr.DeepCopy()
	changed.Data.Raw = []byte(`{"a":1}`)
	update(t, changed, cr, invalid("data").with("field is immutable"))
}
