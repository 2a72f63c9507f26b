package validation

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestStorageClass(t *testing.T) {
	sc := &storagev1.StorageClass{
		ObjectMeta:        objectMeta("", "fast"),
		Provisioner:       "ebs.csi.aws.com",
		Parameters:        map[string]string{"type": "gp3"},
		ReclaimPolicy:     ptr(corev1.PersistentVolumeReclaimDelete),
		VolumeBindingMode: ptr(storagev1.VolumeBindingWaitForFirstConsumer),
	}
	create(t, sc)
	bad := sc.DeepCopy()
	bad.Provisioner = ""
	bad.ReclaimPolicy = ptr(corev1.PersistentVolumeReclaimRecycle)
	bad.VolumeBindingMode = nil
	bad.AllowedTopologies = []corev1.TopologySelectorTerm{{MatchLabelExpressions: []corev1.TopologySelectorLabelRequirement{{Key: "zone"}}}}
	create(t, bad, required("provisioner"), notSupported("reclaimPolicy"), required("volumeBindingMode"),
		required("allowedTopologies[0].matchLabelExpressions[0].values"))
	changed := sc.DeepCopy()
	changed.Parameters["type"] = "io2"
	update(t, changed, sc, forbidden("parameters").with("updates to parameters are forbidden."))
}

func TestVolumeAttachment(t *testing.T) {
	va := &storagev1.VolumeAttachment{ObjectMeta: objectMeta("", "csi-123"), Spec: storagev1.VolumeAttachmentSpec{
		Attacher: "ebs.csi.aws.com", NodeName: "node-1",
		Source: storagev1.VolumeAttachmentSource{PersistentVolumeName: ptr("pv-1")},
	}}
	create(t, va)
	bad := va.DeepCopy()
	bad.Spec.Source = storagev1.VolumeAttachmentSource{}
	bad.Spec.NodeName = ""
	create(t, bad, required("spec.source"), invalid("spec.nodeName"))
	moved := va.DeepCopy()
	moved.Spec.NodeName = "node-2"
	update(t, moved, va, invalid("spec").with("field is immutable"))
}

func TestCSIDriver(t *testing.T) {
	d := &storagev1.CSIDriver{ObjectMeta: objectMeta("", "ebs.csi.aws.com"), Spec: storagev1.CSIDriverSpec{
		AttachRequired: ptr(true), PodInfoOnMount: ptr(false), StorageCapacity: ptr(false), SELinuxMount: ptr(false),
		RequiresRepublish: ptr(false), FSGroupPolicy: ptr(storagev1.ReadWriteOnceWithFSTypeFSGroupPolicy),
		VolumeLifecycleModes: []storagev1.VolumeLifecycleMode{storagev1.VolumeLifecyclePersistent},
	}}
	create(t, d)
	bad := d.DeepCopy()
	bad.Spec.AttachRequired = nil
	bad.Spec.TokenRequests = []storagev1.TokenRequest{{Audience: "a", ExpirationSeconds: ptr[int64](60)}, {Audience: "a"}}
	create(t, bad, required("spec.attachRequired"), invalid("spec.tokenRequests[0].expirationSeconds"), duplicate("spec.tokenRequests[1].audience"))
	changed := d.DeepCopy()
	changed.Spec.AttachRequired = ptr(false)
	update(t, changed, d, invalid("spec.attachRequired"))
}

func TestCSINode(t *testing.T) {
	n := &storagev1.CSINode{ObjectMeta: objectMeta("", "node-1"), Spec: storagev1.CSINodeSpec{Drivers: []storagev1.CSINodeDriver{
		{Name: "ebs.csi.aws.com", NodeID: "i-123", TopologyKeys: []string{"topology.ebs.csi.aws.com/zone"}},
	}}}
	create(t, n)
	bad := n.DeepCopy()
	bad.Spec.Drivers = append(bad.Spec.Drivers, storagev1.CSINodeDriver{Name: "ebs.csi.aws.com"})
	create(t, bad, duplicate("spec.drivers[1].name"), required("spec.drivers[1].nodeID"))
}

func TestCSIStorageCapacity(t *testing.T) {
	c := &storagev1.CSIStorageCapacity{
		ObjectMeta:       objectMeta("kube-system", "csisc-1"),
		NodeTopology:     &metav1.LabelSelector{MatchLabels: map[string]string{"zone": "a"}},
		StorageClassName: "fast", Capacity: ptr(qty("100Gi")),
	}
	create(t, c)
	bad := c.DeepCopy()
	bad.StorageClassName = ""
	bad.Capacity = ptr(qty("-1"))
	create(t, bad, invalid("storageClassName"), invalid("capacity"))
	moved := c.DeepCopy()
	moved.StorageClassName = "slow"
	update(t, moved, c, invalid("storageClassName").with("field is immutable"))
}
