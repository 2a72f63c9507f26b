package validation

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func validPV() *corev1.PersistentVolume {
	return &corev1.PersistentVolume{ObjectMeta: objectMeta("", "pv-1"), Spec: corev1.PersistentVolumeSpec{
		Capacity:                      corev1.ResourceList{corev1.ResourceStorage: qty("10Gi")},
		AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
		VolumeMode:                    ptr(corev1.PersistentVolumeFilesystem),
		PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/srv/pv-1"}},
	}}
}

func TestPersistentVolume(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*corev1.PersistentVolume)
		wants  []want
	}{
		{"valid", func(*corev1.PersistentVolume) {}, nil},
		{"access modes", func(p *corev1.PersistentVolume) {
			p.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOncePod, corev1.ReadWriteOnce, "WriteMany"}
		}, []want{notSupported("spec.accessModes"), forbidden("spec.accessModes").with("ReadWriteOncePod")}},
		{"access modes required", func(p *corev1.PersistentVolume) { p.Spec.AccessModes = nil }, []want{required("spec.accessModes")}},
		{"capacity", func(p *corev1.PersistentVolume) { p.Spec.Capacity = corev1.ResourceList{corev1.ResourceCPU: qty("1")} },
			[]want{notSupported("spec.capacity")}},
		{"capacity positive", func(p *corev1.PersistentVolume) { p.Spec.Capacity[corev1.ResourceStorage] = qty("0") },
			[]want{invalid("spec.capacity[storage]").with("must be greater than zero")}},
		{"no source", func(p *corev1.PersistentVolume) { p.Spec.PersistentVolumeSource = corev1.PersistentVolumeSource{} },
			[]want{required("spec").with("must specify a volume type")}},
		{"local needs node affinity", func(p *corev1.PersistentVolume) {
			p.Spec.PersistentVolumeSource = corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: "/mnt/disk"}}
		}, []want{required("spec.nodeAffinity")}},
		{"reclaim policy", func(p *corev1.PersistentVolume) { p.Spec.PersistentVolumeReclaimPolicy = "Keep" },
			[]want{notSupported("spec.persistentVolumeReclaimPolicy")}},
		{"csi", func(p *corev1.PersistentVolume) {
			p.Spec.PersistentVolumeSource = corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{
				Driver: "Bad Driver", NodePublishSecretRef: &corev1.SecretReference{Name: "s"},
			}}
		}, []want{invalid("spec.csi.driver"), required("spec.csi.volumeHandle"), required("spec.csi.nodePublishSecretRef.namespace")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := validPV()
			tc.mutate(p)
			create(t, p, tc.wants...)
		})
	}
	old := validPV()
	moved := old.DeepCopy()
	moved.Spec.HostPath.Path = "/srv/other"
	update(t, moved, old, forbidden("spec.persistentvolumesource"))
	bound := old.DeepCopy()
	bound.Spec.ClaimRef = &corev1.ObjectReference{Namespace: "default", Name: "data"}
	update(t, bound, old)
}

func validPVC() *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{ObjectMeta: objectMeta("default", "data"), Spec: corev1.PersistentVolumeClaimSpec{
		AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: qty("1Gi")}},
		VolumeMode:  ptr(corev1.PersistentVolumeFilesystem),
	}}
}

func TestPersistentVolumeClaim(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*corev1.PersistentVolumeClaim)
		wants  []want
	}{
		{"valid", func(*corev1.PersistentVolumeClaim) {}, nil},
		{"access modes", func(c *corev1.PersistentVolumeClaim) { c.Spec.AccessModes = nil },
			[]want{required("spec.accessModes").with("at least 1 access mode is required")}},
		{"storage required", func(c *corev1.PersistentVolumeClaim) { c.Spec.Resources.Requests = nil }, []want{required("spec.resources[storage]")}},
		{"storage positive", func(c *corev1.PersistentVolumeClaim) { c.Spec.Resources.Requests[corev1.ResourceStorage] = qty("0") },
			[]want{invalid("spec.resources[storage]")}},
		{"storage class", func(c *corev1.PersistentVolumeClaim) { c.Spec.StorageClassName = ptr("Fast_SSD") }, []want{invalid("spec.storageClassName")}},
		{"volume mode", func(c *corev1.PersistentVolumeClaim) { c.Spec.VolumeMode = ptr(corev1.PersistentVolumeMode("Raw")) },
			[]want{notSupported("spec.volumeMode")}},
		{"data source", func(c *corev1.PersistentVolumeClaim) {
			c.Spec.DataSource = &corev1.TypedLocalObjectReference{Kind: "Snapshot"}
		},
			[]want{required("spec.dataSource.name"), invalid("spec.dataSource").with("must be 'PersistentVolumeClaim'")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := validPVC()
			tc.mutate(c)
			create(t, c, tc.wants...)
		})
	}

	old := validPVC()
	bound := old.DeepCopy()
	bound.Spec.VolumeName = "pv-1"
	update(t, bound, old) // volumeName may be set once
	rebound := bound.DeepCopy()
	rebound.Spec.VolumeName = "pv-2"
	update(t, rebound, bound, forbidden("spec").with("spec is immutable after creation"))

	bound.Status.Phase = corev1.ClaimBound
	grown := bound.DeepCopy()
	grown.Spec.Resources.Requests[corev1.ResourceStorage] = qty("2Gi")
	update(t, grown, bound)
	unboundGrow := old.DeepCopy()
	unboundGrow.Spec.Resources.Requests[corev1.ResourceStorage] = qty("2Gi")
	update(t, unboundGrow, old, forbidden("spec"))
}

func TestPersistentVolumeClaimInPod(t *testing.T) {
	p := validPod()
	p.Spec.Volumes = []corev1.Volume{{Name: "scratch", VolumeSource: corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{
		VolumeClaimTemplate: &corev1.PersistentVolumeClaimTemplate{Spec: corev1.PersistentVolumeClaimSpec{}},
	}}}}
	create(t, p,
		required("spec.volumes[0].ephemeral.volumeClaimTemplate.spec.accessModes"),
		required("spec.volumes[0].ephemeral.volumeClaimTemplate.spec.resources[storage]"))
}
