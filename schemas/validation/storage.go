package validation

import (
	"fmt"
	"math"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const (
	maxProvisionerParameterSize   = 256 * (1 << 10)
	maxProvisionerParameterLen    = 512
	maxAttachedVolumeMetadataSize = 256 * (1 << 10)
	maxVolumeErrorMessageSize     = 1024
	csiNodeIDMaxLength            = 192
)

// StorageClass.

func validateStorageClass(sc, old *storagev1.StorageClass) field.ErrorList {
	var errs field.ErrorList
	if sc.Provisioner == "" {
		errs = append(errs, field.Required(field.NewPath("provisioner"), ""))
	} else {
		errs = append(errs, qualifiedName(toLower(sc.Provisioner), field.NewPath("provisioner"))...)
	}
	errs = append(errs, validateProvisionerParameters(sc.Parameters, field.NewPath("parameters"))...)
	if p := sc.ReclaimPolicy; p != nil && *p != "" {
		errs = append(errs, oneOf(field.NewPath("reclaimPolicy"), *p, corev1.PersistentVolumeReclaimDelete, corev1.PersistentVolumeReclaimRetain)...)
	}
	if sc.VolumeBindingMode == nil {
		errs = append(errs, field.Required(field.NewPath("volumeBindingMode"), ""))
	} else {
		errs = append(errs, oneOf(field.NewPath("volumeBindingMode"), *sc.VolumeBindingMode, storagev1.VolumeBindingImmediate, storagev1.VolumeBindingWaitForFirstConsumer)...)
	}
	errs = append(errs, validateAllowedTopologies(sc.AllowedTopologies, field.NewPath("allowedTopologies"))...)
	if old == nil {
		return errs
	}
	if !apiequality.Semantic.DeepEqual(sc.Parameters, old.Parameters) {
		errs = append(errs, field.Forbidden(field.NewPath("parameters"), "updates to parameters are forbidden."))
	}
	if sc.Provisioner != old.Provisioner {
		errs = append(errs, field.Forbidden(field.NewPath("provisioner"), "updates to provisioner are forbidden."))
	}
	if deref(sc.ReclaimPolicy) != deref(old.ReclaimPolicy) {
		errs = append(errs, field.Forbidden(field.NewPath("reclaimPolicy"), "updates to reclaimPolicy are forbidden."))
	}
	return append(errs, immutable(sc.VolumeBindingMode, old.VolumeBindingMode, field.NewPath("volumeBindingMode"))...)
}

func validateProvisionerParameters(params map[string]string, fldPath *field.Path) field.ErrorList {
	if len(params) > maxProvisionerParameterLen {
		return field.ErrorList{field.TooLong(fldPath, "", maxProvisionerParameterLen)}
	}
	var errs field.ErrorList
	var total int64
	for _, k := range sortedKeys(params) {
		if k == "" {
			errs = append(errs, field.Invalid(fldPath, k, "field can not be empty."))
		}
		total += int64(len(k)) + int64(len(params[k]))
	}
	if total > maxProvisionerParameterSize {
		errs = append(errs, field.TooLong(fldPath, "", maxProvisionerParameterSize))
	}
	return errs
}

func validateAllowedTopologies(terms []corev1.TopologySelectorTerm, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	var seen []map[string]sets.Set[string]
	for i, term := range terms {
		p := fldPath.Index(i)
		exprs := map[string]sets.Set[string]{}
		for j, req := range term.MatchLabelExpressions {
			rp := p.Child("matchLabelExpressions").Index(j)
			values := sets.New[string]()
			if len(req.Values) == 0 {
				errs = append(errs, field.Required(rp.Child("values"), ""))
			}
			for k, v := range req.Values {
				if values.Has(v) {
					errs = append(errs, field.Duplicate(rp.Child("values").Index(k), v))
				}
				values.Insert(v)
			}
			errs = append(errs, labelName(req.Key, rp.Child("key"))...)
			if _, dup := exprs[req.Key]; dup {
				errs = append(errs, field.Duplicate(rp.Child("key"), req.Key))
			}
			exprs[req.Key] = values
		}
		for _, prev := range seen {
			if apiequality.Semantic.DeepEqual(prev, exprs) {
				errs = append(errs, field.Duplicate(p.Child("matchLabelExpressions"), ""))
			}
		}
		seen = append(seen, exprs)
	}
	return errs
}

// VolumeAttachment.

func validateVolumeAttachment(va, old *storagev1.VolumeAttachment) field.ErrorList {
	specPath := field.NewPath("spec")
	errs := validateCSIDriverName(va.Spec.Attacher, specPath.Child("attacher"))
	src := va.Spec.Source
	srcPath := specPath.Child("source")
	switch {
	case src.InlineVolumeSpec == nil && src.PersistentVolumeName == nil:
		errs = append(errs, field.Required(srcPath, "must specify exactly one of inlineVolumeSpec and persistentVolumeName"))
	case src.InlineVolumeSpec != nil && src.PersistentVolumeName != nil:
		errs = append(errs, field.Forbidden(srcPath, "must specify exactly one of inlineVolumeSpec and persistentVolumeName"))
	case src.PersistentVolumeName != nil:
		if *src.PersistentVolumeName == "" {
			errs = append(errs, field.Required(srcPath.Child("persistentVolumeName"), "must specify non empty persistentVolumeName"))
		} else {
			errs = append(errs, objectName(nameIsDNSSubdomain, *src.PersistentVolumeName, srcPath.Child("persistentVolumeName"))...)
		}
	default:
		errs = append(errs, validatePersistentVolumeSpec(src.InlineVolumeSpec, "", true, srcPath.Child("inlineVolumeSpec"))...)
	}
	errs = append(errs, objectName(nameIsDNSSubdomain, va.Spec.NodeName, specPath.Child("nodeName"))...)
	errs = append(errs, validateVolumeAttachmentStatus(va, old)...)
	if old != nil && !apiequality.Semantic.DeepEqual(va.Spec, old.Spec) {
		errs = append(errs, field.Invalid(specPath, va.Spec, "field is immutable"))
	}
	return errs
}

func validateVolumeAttachmentStatus(va, old *storagev1.VolumeAttachment) field.ErrorList {
	p := field.NewPath("status")
	var errs field.ErrorList
	var size int64
	for k, v := range va.Status.AttachmentMetadata {
		size += int64(len(k)) + int64(len(v))
	}
	if size > maxAttachedVolumeMetadataSize {
		errs = append(errs, field.TooLong(p.Child("attachmentMetadata"), "", maxAttachedVolumeMetadataSize))
	}
	for _, ve := range []struct {
		name string
		e    *storagev1.VolumeError
	}{{"attachError", va.Status.AttachError}, {"detachError", va.Status.DetachError}} {
		name, e := ve.name, ve.e
		if e == nil {
			continue
		}
		if len(e.Message) > maxVolumeErrorMessageSize {
			errs = append(errs, field.TooLong(p.Child(name, "message"), "", maxVolumeErrorMessageSize))
		}
		if e.ErrorCode != nil && *e.ErrorCode < 0 {
			errs = append(errs, field.Invalid(p.Child(name, "errorCode"), *e.ErrorCode, validation.InclusiveRangeError(0, math.MaxInt32)))
		}
	}
	return errs
}

// CSIDriver and CSINode.

func validateCSIDriver(d, old *storagev1.CSIDriver) field.ErrorList {
	specPath := field.NewPath("spec")
	spec := &d.Spec
	var errs field.ErrorList
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"attachRequired", spec.AttachRequired != nil}, {"podInfoOnMount", spec.PodInfoOnMount != nil},
		{"storageCapacity", spec.StorageCapacity != nil}, {"seLinuxMount", spec.SELinuxMount != nil},
	} {
		if !f.set {
			errs = append(errs, field.Required(specPath.Child(f.name), ""))
		}
	}
	if p := spec.FSGroupPolicy; p != nil {
		errs = append(errs, oneOf(specPath.Child("fsGroupPolicy"), *p, storagev1.FileFSGroupPolicy, storagev1.NoneFSGroupPolicy, storagev1.ReadWriteOnceWithFSTypeFSGroupPolicy)...)
	}
	audiences := sets.New[string]()
	for i, tr := range spec.TokenRequests {
		p := specPath.Child("tokenRequests").Index(i)
		if audiences.Has(tr.Audience) {
			errs = append(errs, field.Duplicate(p.Child("audience"), tr.Audience))
			continue
		}
		audiences.Insert(tr.Audience)
		if exp := tr.ExpirationSeconds; exp != nil {
			if *exp < 600 {
				errs = append(errs, field.Invalid(p.Child("expirationSeconds"), *exp, "may not specify a duration less than 10 minutes"))
			}
			if *exp > 1<<32 {
				errs = append(errs, field.Invalid(p.Child("expirationSeconds"), *exp, "may not specify a duration larger than 2^32 seconds"))
			}
		}
	}
	for _, m := range spec.VolumeLifecycleModes {
		errs = append(errs, oneOf(specPath.Child("volumeLifecycleModes"), m, storagev1.VolumeLifecyclePersistent, storagev1.VolumeLifecycleEphemeral)...)
	}
	if p := spec.NodeAllocatableUpdatePeriodSeconds; p != nil && *p < 10 {
		errs = append(errs, field.Invalid(specPath.Child("nodeAllocatableUpdatePeriodSeconds"), *p, "must be greater than or equal to 10 seconds"))
	}
	if old != nil {
		errs = append(errs, immutable(spec.AttachRequired, old.Spec.AttachRequired, specPath.Child("attachRequired"))...)
		errs = append(errs, immutable(spec.VolumeLifecycleModes, old.Spec.VolumeLifecycleModes, specPath.Child("volumeLifecycleModes"))...)
	}
	return errs
}

func validateCSINode(n, old *storagev1.CSINode) field.ErrorList {
	p := field.NewPath("spec", "drivers")
	var errs field.ErrorList
	names := sets.New[string]()
	for i, d := range n.Spec.Drivers {
		dp := p.Index(i)
		errs = append(errs, validateCSIDriverName(d.Name, dp.Child("name"))...)
		if d.NodeID == "" {
			errs = append(errs, field.Required(dp.Child("nodeID"), ""))
		} else if len(d.NodeID) > csiNodeIDMaxLength {
			errs = append(errs, field.Invalid(dp.Child("nodeID"), d.NodeID, fmt.Sprintf("must be %d characters or less", csiNodeIDMaxLength)))
		}
		if d.Allocatable != nil && d.Allocatable.Count != nil {
			errs = append(errs, nonNegative(int64(*d.Allocatable.Count), dp.Child("allocatable", "count"))...)
		}
		if names.Has(d.Name) {
			errs = append(errs, field.Duplicate(dp.Child("name"), d.Name))
		}
		names.Insert(d.Name)
		keys := sets.New[string]()
		for j, k := range d.TopologyKeys {
			kp := dp.Child("topologyKeys").Index(j)
			if k == "" {
				errs = append(errs, field.Required(kp, ""))
			}
			if keys.Has(k) {
				errs = append(errs, field.Duplicate(kp, k))
			}
			keys.Insert(k)
			errs = append(errs, qualifiedName(k, kp)...)
		}
	}
	if old == nil {
		return errs
	}
	// An existing driver entry may change only its allocatable count.
	for _, od := range old.Spec.Drivers {
		for i, nd := range n.Spec.Drivers {
			if od.Name != nd.Name {
				continue
			}
			a, b := od.DeepCopy(), nd.DeepCopy()
			a.Allocatable, b.Allocatable = nil, nil
			errs = append(errs, immutable(*b, *a, p.Index(i))...)
		}
	}
	return errs
}

// CSIStorageCapacity.

func validateCSIStorageCapacity(c, old *storagev1.CSIStorageCapacity) field.ErrorList {
	errs := labelSelector(c.NodeTopology, field.NewPath("nodeTopology"))
	errs = append(errs, objectName(nameIsDNSSubdomain, c.StorageClassName, field.NewPath("storageClassName"))...)
	if c.Capacity != nil {
		errs = append(errs, validateNonnegativeQuantity(*c.Capacity, field.NewPath("capacity"))...)
	}
	if c.MaximumVolumeSize != nil {
		errs = append(errs, validateNonnegativeQuantity(*c.MaximumVolumeSize, field.NewPath("maximumVolumeSize"))...)
	}
	if old == nil {
		return errs
	}
	if !apiequality.Semantic.DeepEqual(c.NodeTopology, old.NodeTopology) {
		errs = append(errs, field.Invalid(field.NewPath("nodeTopology"), c.NodeTopology, "field is immutable"))
	}
	if c.StorageClassName != old.StorageClassName {
		errs = append(errs, field.Invalid(field.NewPath("storageClassName"), c.StorageClassName, "field is immutable"))
	}
	return errs
}
