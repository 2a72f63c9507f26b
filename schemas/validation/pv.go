package validation

import (
	"path"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var accessModes = []corev1.PersistentVolumeAccessMode{
	corev1.ReadOnlyMany, corev1.ReadWriteMany, corev1.ReadWriteOnce, corev1.ReadWriteOncePod,
}

var volumeModes = []corev1.PersistentVolumeMode{corev1.PersistentVolumeBlock, corev1.PersistentVolumeFilesystem}

func validateAccessModes(modes []corev1.PersistentVolumeAccessMode, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	rwop, other := false, false
	for _, m := range modes {
		e := oneOf(fldPath, m, accessModes...)
		errs = append(errs, e...)
		if m == corev1.ReadWriteOncePod {
			rwop = true
		} else if len(e) == 0 {
			other = true
		}
	}
	if rwop && other {
		errs = append(errs, field.Forbidden(fldPath, "may not use ReadWriteOncePod with other access modes"))
	}
	return errs
}

// PersistentVolume.

func validatePersistentVolume(pv, old *corev1.PersistentVolume) field.ErrorList {
	specPath := field.NewPath("spec")
	errs := validatePersistentVolumeSpec(&pv.Spec, pv.Name, false, specPath)
	if old == nil {
		return errs
	}
	newSource := pv.Spec.PersistentVolumeSource
	// A CSI controllerExpandSecretRef may be added after creation.
	if old.Spec.CSI != nil && old.Spec.CSI.ControllerExpandSecretRef == nil && newSource.CSI != nil && newSource.CSI.ControllerExpandSecretRef != nil {
		newSource = *newSource.DeepCopy()
		newSource.CSI.ControllerExpandSecretRef = nil
	}
	if !apiequality.Semantic.DeepEqual(newSource, old.Spec.PersistentVolumeSource) {
		errs = append(errs, field.Forbidden(specPath.Child("persistentvolumesource"), "spec.persistentvolumesource is immutable after creation"))
	}
	errs = append(errs, immutable(pv.Spec.VolumeMode, old.Spec.VolumeMode, specPath.Child("volumeMode"))...)
	if old.Spec.NodeAffinity != nil && !apiequality.Semantic.DeepEqual(pv.Spec.NodeAffinity, old.Spec.NodeAffinity) {
		errs = append(errs, field.Invalid(specPath.Child("nodeAffinity"), pv.Spec.NodeAffinity, fieldImmutableErrorMsg+", except for updating from beta label to GA"))
	}
	if old.Spec.VolumeAttributesClassName != nil && pv.Spec.VolumeAttributesClassName == nil {
		errs = append(errs, field.Forbidden(specPath.Child("volumeAttributesClassName"), "update from non-nil value to nil is forbidden"))
	}
	return errs
}

func validatePersistentVolumeStatus(pv, old *corev1.PersistentVolume) field.ErrorList {
	return nil
}

// validatePersistentVolumeSpec; inline is true for the spec embedded in a
// VolumeAttachment, which must be CSI and carries no capacity or claim.
func validatePersistentVolumeSpec(spec *corev1.PersistentVolumeSpec, pvName string, inline bool, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if inline {
		if spec.ClaimRef != nil {
			errs = append(errs, field.Forbidden(fldPath.Child("claimRef"), "may not be specified in the context of inline volumes"))
		}
		if len(spec.Capacity) != 0 {
			errs = append(errs, field.Forbidden(fldPath.Child("capacity"), "may not be specified in the context of inline volumes"))
		}
		if spec.CSI == nil {
			errs = append(errs, field.Required(fldPath.Child("csi"), "has to be specified in the context of inline volumes"))
		}
	}
	if len(spec.AccessModes) == 0 {
		errs = append(errs, field.Required(fldPath.Child("accessModes"), ""))
	}
	errs = append(errs, validateAccessModes(spec.AccessModes, fldPath.Child("accessModes"))...)
	if !inline {
		capPath := fldPath.Child("capacity")
		if len(spec.Capacity) == 0 {
			errs = append(errs, field.Required(capPath, ""))
		}
		if _, ok := spec.Capacity[corev1.ResourceStorage]; !ok || len(spec.Capacity) > 1 {
			errs = append(errs, field.NotSupported(capPath, spec.Capacity, []corev1.ResourceName{corev1.ResourceStorage}))
		}
		for _, name := range sortedResourceNames(spec.Capacity) {
			errs = append(errs, validatePositiveQuantity(spec.Capacity[name], capPath.Key(string(name)))...)
		}
	}
	if policy := spec.PersistentVolumeReclaimPolicy; policy != "" {
		p := fldPath.Child("persistentVolumeReclaimPolicy")
		if inline {
			if policy != corev1.PersistentVolumeReclaimRetain {
				errs = append(errs, field.Forbidden(p, "may only be "+string(corev1.PersistentVolumeReclaimRetain)+" in the context of inline volumes"))
			}
		} else {
			errs = append(errs, oneOf(p, policy, corev1.PersistentVolumeReclaimDelete, corev1.PersistentVolumeReclaimRecycle, corev1.PersistentVolumeReclaimRetain)...)
		}
	}
	if spec.NodeAffinity != nil {
		p := fldPath.Child("nodeAffinity")
		if inline {
			errs = append(errs, field.Forbidden(p, "may not be specified in the context of inline volumes"))
		} else if spec.NodeAffinity.Required == nil {
			errs = append(errs, field.Required(p.Child("required"), "must specify required node constraints"))
		} else {
			errs = append(errs, validateNodeSelector(spec.NodeAffinity.Required, false, p.Child("required"))...)
		}
	}
	errs = append(errs, validatePersistentVolumeSource(&spec.PersistentVolumeSource, spec.NodeAffinity != nil && !inline, fldPath)...)
	if spec.HostPath != nil && path.Clean(spec.HostPath.Path) == "/" && spec.PersistentVolumeReclaimPolicy == corev1.PersistentVolumeReclaimRecycle {
		errs = append(errs, field.Forbidden(fldPath.Child("persistentVolumeReclaimPolicy"), "may not be 'recycle' for a hostPath mount of '/'"))
	}
	if spec.StorageClassName != "" {
		if inline {
			errs = append(errs, field.Forbidden(fldPath.Child("storageClassName"), "may not be specified in the context of inline volumes"))
		} else {
			errs = append(errs, objectName(nameIsDNSSubdomain, spec.StorageClassName, fldPath.Child("storageClassName"))...)
		}
	}
	if spec.VolumeMode != nil {
		p := fldPath.Child("volumeMode")
		if inline {
			if *spec.VolumeMode != corev1.PersistentVolumeFilesystem {
				errs = append(errs, field.Forbidden(p, "may not specify volumeMode other than "+string(corev1.PersistentVolumeFilesystem)+" in the context of inline volumes"))
			}
		} else {
			errs = append(errs, oneOf(p, *spec.VolumeMode, volumeModes...)...)
		}
	}
	if vac := spec.VolumeAttributesClassName; vac != nil {
		p := fldPath.Child("volumeAttributesClassName")
		if *vac == "" {
			errs = append(errs, field.Required(p, "an empty string is disallowed"))
		} else {
			errs = append(errs, objectName(nameIsDNSSubdomain, *vac, p)...)
		}
		if spec.CSI == nil {
			errs = append(errs, field.Required(fldPath.Child("csi"), "has to be specified when using volumeAttributesClassName"))
		}
	}
	return errs
}

func validatePersistentVolumeSource(s *corev1.PersistentVolumeSource, hasNodeAffinity bool, fldPath *field.Path) field.ErrorList {
	var c volumeSourceCounter
	c.add(s.HostPath != nil, fldPath.Child("hostPath"), func() field.ErrorList {
		return validateHostPath(s.HostPath, fldPath.Child("hostPath"))
	})
	c.add(s.GCEPersistentDisk != nil, fldPath.Child("gcePersistentDisk"), func() field.ErrorList {
		p := fldPath.Child("persistentDisk")
		return append(requiredString(s.GCEPersistentDisk.PDName, p.Child("pdName")), validatePartition(s.GCEPersistentDisk.Partition, p.Child("partition"))...)
	})
	c.add(s.AWSElasticBlockStore != nil, fldPath.Child("awsElasticBlockStore"), func() field.ErrorList {
		p := fldPath.Child("awsElasticBlockStore")
		return append(requiredString(s.AWSElasticBlockStore.VolumeID, p.Child("volumeID")), validatePartition(s.AWSElasticBlockStore.Partition, p.Child("partition"))...)
	})
	c.add(s.Glusterfs != nil, fldPath.Child("glusterfs"), func() field.ErrorList {
		p := fldPath.Child("glusterfs")
		errs := requiredString(s.Glusterfs.EndpointsName, p.Child("endpoints"))
		errs = append(errs, requiredString(s.Glusterfs.Path, p.Child("path"))...)
		if ns := s.Glusterfs.EndpointsNamespace; ns != nil {
			if *ns == "" {
				errs = append(errs, field.Invalid(p.Child("endpointsNamespace"), *ns, "if the endpointnamespace is set, it must be a valid namespace name"))
			} else {
				errs = append(errs, objectName(nameIsDNSLabel, *ns, p.Child("endpointsNamespace"))...)
			}
		}
		return errs
	})
	c.add(s.Flocker != nil, fldPath.Child("flocker"), func() field.ErrorList {
		return validateFlocker(s.Flocker, fldPath.Child("flocker"))
	})
	c.add(s.NFS != nil, fldPath.Child("nfs"), func() field.ErrorList {
		return validateNFS(s.NFS, fldPath.Child("nfs"))
	})
	c.add(s.RBD != nil, fldPath.Child("rbd"), func() field.ErrorList {
		p := fldPath.Child("rbd")
		return append(requiredSlice(len(s.RBD.CephMonitors), p.Child("monitors")), requiredString(s.RBD.RBDImage, p.Child("image"))...)
	})
	c.add(s.Quobyte != nil, fldPath.Child("quobyte"), func() field.ErrorList {
		return validateQuobyte(s.Quobyte, fldPath.Child("quobyte"))
	})
	c.add(s.CephFS != nil, fldPath.Child("cephFS"), func() field.ErrorList {
		return requiredSlice(len(s.CephFS.Monitors), fldPath.Child("cephfs", "monitors"))
	})
	c.add(s.ISCSI != nil, fldPath.Child("iscsi"), func() field.ErrorList {
		p := fldPath.Child("iscsi")
		errs := requiredString(s.ISCSI.TargetPortal, p.Child("targetPortal"))
		errs = append(errs, requiredString(s.ISCSI.IQN, p.Child("iqn"))...)
		if s.ISCSI.Lun < 0 || s.ISCSI.Lun > 255 {
			errs = append(errs, field.Invalid(p.Child("lun"), s.ISCSI.Lun, validation.InclusiveRangeError(0, 255)))
		}
		return errs
	})
	c.add(s.Cinder != nil, fldPath.Child("cinder"), func() field.ErrorList {
		return requiredString(s.Cinder.VolumeID, fldPath.Child("cinder", "volumeID"))
	})
	c.add(s.FC != nil, fldPath.Child("fc"), func() field.ErrorList {
		return validateFC(s.FC, fldPath.Child("fc"))
	})
	c.add(s.FlexVolume != nil, fldPath.Child("flexVolume"), func() field.ErrorList {
		return validateFlex(s.FlexVolume.Driver, s.FlexVolume.Options, fldPath.Child("flexVolume"))
	})
	c.add(s.AzureFile != nil, fldPath.Child("azureFile"), func() field.ErrorList {
		p := fldPath.Child("azureFile")
		return append(requiredString(s.AzureFile.SecretName, p.Child("secretName")), requiredString(s.AzureFile.ShareName, p.Child("shareName"))...)
	})
	c.add(s.VsphereVolume != nil, fldPath.Child("vsphereVolume"), func() field.ErrorList {
		return requiredString(s.VsphereVolume.VolumePath, fldPath.Child("vsphereVolume", "volumePath"))
	})
	c.add(s.PhotonPersistentDisk != nil, fldPath.Child("photonPersistentDisk"), func() field.ErrorList {
		return requiredString(s.PhotonPersistentDisk.PdID, fldPath.Child("photonPersistentDisk", "pdID"))
	})
	c.add(s.PortworxVolume != nil, fldPath.Child("portworxVolume"), func() field.ErrorList {
		return requiredString(s.PortworxVolume.VolumeID, fldPath.Child("portworxVolume", "volumeID"))
	})
	c.add(s.AzureDisk != nil, fldPath.Child("azureDisk"), func() field.ErrorList {
		p := fldPath.Child("azureDisk")
		return append(requiredString(s.AzureDisk.DiskName, p.Child("diskName")), requiredString(s.AzureDisk.DataDiskURI, p.Child("diskURI"))...)
	})
	c.add(s.ScaleIO != nil, fldPath.Child("scaleIO"), func() field.ErrorList {
		p := fldPath.Child("scaleIO")
		errs := requiredString(s.ScaleIO.Gateway, p.Child("gateway"))
		errs = append(errs, requiredString(s.ScaleIO.System, p.Child("system"))...)
		return append(errs, requiredString(s.ScaleIO.VolumeName, p.Child("volumeName"))...)
	})
	c.add(s.Local != nil, fldPath.Child("local"), func() field.ErrorList {
		p := fldPath.Child("local", "path")
		if s.Local.Path == "" {
			return field.ErrorList{field.Required(p, "")}
		}
		errs := validatePathNoBacksteps(s.Local.Path, p)
		if !hasNodeAffinity {
			errs = append(errs, field.Required(fldPath.Child("nodeAffinity"), "Local volume requires node affinity"))
		}
		return errs
	})
	c.add(s.StorageOS != nil, fldPath.Child("storageos"), func() field.ErrorList {
		return requiredString(s.StorageOS.VolumeName, fldPath.Child("storageos", "volumeName"))
	})
	c.add(s.CSI != nil, fldPath.Child("csi"), func() field.ErrorList {
		p := fldPath.Child("csi")
		errs := validateCSIDriverName(s.CSI.Driver, p.Child("driver"))
		errs = append(errs, requiredString(s.CSI.VolumeHandle, p.Child("volumeHandle"))...)
		for _, ref := range []struct {
			name string
			ref  *corev1.SecretReference
		}{
			{"controllerPublishSecretRef", s.CSI.ControllerPublishSecretRef},
			{"controllerExpandSecretRef", s.CSI.ControllerExpandSecretRef},
			{"nodePublishSecretRef", s.CSI.NodePublishSecretRef},
			{"nodeExpandSecretRef", s.CSI.NodeExpandSecretRef},
		} {
			if ref.ref == nil {
				continue
			}
			rp := p.Child(ref.name)
			if ref.ref.Name == "" {
				errs = append(errs, field.Required(rp.Child("name"), ""))
			} else {
				errs = append(errs, dns1123Subdomain(ref.ref.Name, rp.Child("name"))...)
			}
			if ref.ref.Namespace == "" {
				errs = append(errs, field.Required(rp.Child("namespace"), ""))
			} else {
				errs = append(errs, dns1123Label(ref.ref.Namespace, rp.Child("namespace"))...)
			}
		}
		return errs
	})
	if c.n == 0 {
		c.errs = append(c.errs, field.Required(fldPath, "must specify a volume type"))
	}
	return c.errs
}

// PersistentVolumeClaim.

func validatePersistentVolumeClaimSpec(spec *corev1.PersistentVolumeClaimSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(spec.AccessModes) == 0 {
		errs = append(errs, field.Required(fldPath.Child("accessModes"), "at least 1 access mode is required"))
	}
	if spec.Selector != nil {
		errs = append(errs, labelSelector(spec.Selector, fldPath.Child("selector"))...)
	}
	errs = append(errs, validateAccessModes(spec.AccessModes, fldPath.Child("accessModes"))...)
	storagePath := fldPath.Child("resources").Key(string(corev1.ResourceStorage))
	if q, ok := spec.Resources.Requests[corev1.ResourceStorage]; !ok {
		errs = append(errs, field.Required(storagePath, ""))
	} else if e := validatePositiveQuantity(q, storagePath); len(e) > 0 {
		errs = append(errs, e...)
	} else {
		errs = append(errs, validateResourceQuantity(corev1.ResourceStorage, q, storagePath)...)
	}
	if sc := spec.StorageClassName; sc != nil && *sc != "" {
		errs = append(errs, objectName(nameIsDNSSubdomain, *sc, fldPath.Child("storageClassName"))...)
	}
	if spec.VolumeMode != nil {
		errs = append(errs, oneOf(fldPath.Child("volumeMode"), *spec.VolumeMode, volumeModes...)...)
	}
	if ds := spec.DataSource; ds != nil {
		errs = append(errs, validateDataSource(ds.APIGroup, ds.Kind, ds.Name, fldPath.Child("dataSource"))...)
	}
	if ref := spec.DataSourceRef; ref != nil {
		p := fldPath.Child("dataSourceRef")
		errs = append(errs, validateDataSource(ref.APIGroup, ref.Kind, ref.Name, p)...)
		if ns := deref(ref.Namespace); ns != "" {
			errs = append(errs, objectName(nameIsDNSLabel, ns, p.Child("namespace"))...)
		}
	}
	if ref := spec.DataSourceRef; ref != nil && deref(ref.Namespace) != "" {
		if spec.DataSource != nil {
			errs = append(errs, field.Invalid(fldPath, fldPath.Child("dataSource").String(), "may not be specified when dataSourceRef.namespace is specified"))
		}
	} else if ds := spec.DataSource; ds != nil && ref != nil {
		if deref(ds.APIGroup) != deref(ref.APIGroup) || ds.Kind != ref.Kind || ds.Name != ref.Name {
			errs = append(errs, field.Invalid(fldPath, fldPath.Child("dataSource").String(), "must match dataSourceRef"))
		}
	}
	if vac := spec.VolumeAttributesClassName; vac != nil && *vac != "" {
		errs = append(errs, objectName(nameIsDNSSubdomain, *vac, fldPath.Child("volumeAttributesClassName"))...)
	}
	return errs
}

func validateDataSource(apiGroup *string, kind, name string, fldPath *field.Path) field.ErrorList {
	errs := requiredString(name, fldPath.Child("name"))
	errs = append(errs, requiredString(kind, fldPath.Child("kind"))...)
	group := deref(apiGroup)
	if group == "" && kind != "PersistentVolumeClaim" {
		errs = append(errs, field.Invalid(fldPath, kind, "must be 'PersistentVolumeClaim' when referencing the default apiGroup"))
	}
	if group != "" {
		errs = append(errs, dns1123Subdomain(group, fldPath.Child("apiGroup"))...)
	}
	return errs
}

func validatePersistentVolumeClaim(pvc, old *corev1.PersistentVolumeClaim) field.ErrorList {
	specPath := field.NewPath("spec")
	errs := validatePersistentVolumeClaimSpec(&pvc.Spec, specPath)
	if old == nil {
		return errs
	}
	// The spec is fixed except: volumeName may be set once, storageClassName
	// may be set from nil, and a bound claim may grow its storage request.
	newSpec, oldSpec := pvc.Spec.DeepCopy(), old.Spec.DeepCopy()
	if oldSpec.VolumeName == "" {
		oldSpec.VolumeName = newSpec.VolumeName
	}
	if oldSpec.StorageClassName == nil && newSpec.StorageClassName != nil {
		if beta, ok := old.Annotations[corev1.BetaStorageClassAnnotation]; !ok || beta == *newSpec.StorageClassName {
			oldSpec.StorageClassName = newSpec.StorageClassName
		}
	}
	if pvc.Status.Phase == corev1.ClaimBound {
		if newSpec.Resources.Requests != nil {
			if q, ok := oldSpec.Resources.Requests[corev1.ResourceStorage]; ok {
				newSpec.Resources.Requests[corev1.ResourceStorage] = q
			}
		}
		if newSpec.VolumeAttributesClassName != nil {
			newSpec.VolumeAttributesClassName = oldSpec.VolumeAttributesClassName
		}
	}
	if !apiequality.Semantic.DeepEqual(*newSpec, *oldSpec) {
		errs = append(errs, field.Forbidden(specPath, "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims"))
	}
	oldSize := old.Spec.Resources.Requests[corev1.ResourceStorage]
	newSize := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	if newSize.Cmp(oldSize) < 0 {
		// Shrinking back towards status.capacity recovers a failed expansion.
		statusSize := old.Status.Capacity[corev1.ResourceStorage]
		if newSize.Cmp(statusSize) <= 0 {
			errs = append(errs, field.Forbidden(specPath.Child("resources", "requests", "storage"), "field can not be less than status.capacity"))
		}
	}
	errs = append(errs, immutable(pvc.Spec.VolumeMode, old.Spec.VolumeMode, specPath.Child("volumeMode"))...)
	errs = append(errs, immutable(pvc.Annotations[corev1.BetaStorageClassAnnotation], old.Annotations[corev1.BetaStorageClassAnnotation],
		field.NewPath("metadata", "annotations").Key(corev1.BetaStorageClassAnnotation))...)
	if old.Spec.VolumeAttributesClassName != nil {
		if pvc.Spec.VolumeAttributesClassName == nil {
			errs = append(errs, field.Forbidden(specPath.Child("volumeAttributesClassName"), "update from non-nil value to nil is forbidden"))
		} else if *pvc.Spec.VolumeAttributesClassName == "" {
			errs = append(errs, field.Forbidden(specPath.Child("volumeAttributesClassName"), "update from non-nil value to an empty string is forbidden"))
		}
	}
	return errs
}

func validatePersistentVolumeClaimStatus(pvc, old *corev1.PersistentVolumeClaim) field.ErrorList {
	var errs field.ErrorList
	if len(pvc.Spec.AccessModes) == 0 {
		errs = append(errs, field.Required(field.NewPath("spec", "accessModes"), ""))
	}
	for _, name := range sortedResourceNames(pvc.Status.Capacity) {
		errs = append(errs, validateNonnegativeQuantity(pvc.Status.Capacity[name], field.NewPath("status", "capacity").Key(string(name)))...)
	}
	allocPath := field.NewPath("status", "allocatedResources")
	for _, name := range sortedResourceNames(pvc.Status.AllocatedResources) {
		errs = append(errs, validateResourceQuantity(corev1.ResourceStorage, pvc.Status.AllocatedResources[name], allocPath.Key(string(name)))...)
	}
	return errs
}
