package validation

import (
	"fmt"
	"net"
	"path"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// validateVolumes checks spec.volumes and returns the valid volumes by name,
// for volumeMounts and volumeDevices to refer to.
func validateVolumes(volumes []corev1.Volume, podMeta *metav1.ObjectMeta, fldPath *field.Path, isPod bool) (map[string]corev1.VolumeSource, field.ErrorList) {
	var errs field.ErrorList
	names := sets.New[string]()
	createdPVCs := sets.New[string]()
	if podMeta != nil && podMeta.Name != "" {
		for _, v := range volumes {
			if v.Ephemeral != nil {
				createdPVCs.Insert(podMeta.Name + "-" + v.Name)
			}
		}
	}
	vols := make(map[string]corev1.VolumeSource)
	for i, v := range volumes {
		idxPath := fldPath.Index(i)
		namePath := idxPath.Child("name")
		el := validateVolumeSource(&v.VolumeSource, idxPath, v.Name, podMeta, isPod)
		if v.Name == "" {
			el = append(el, field.Required(namePath, ""))
		} else {
			el = append(el, dns1123Label(v.Name, namePath)...)
		}
		if names.Has(v.Name) {
			el = append(el, field.Duplicate(namePath, v.Name))
		}
		if len(el) == 0 {
			names.Insert(v.Name)
			vols[v.Name] = v.VolumeSource
		} else {
			errs = append(errs, el...)
		}
		if v.PersistentVolumeClaim != nil && createdPVCs.Has(v.PersistentVolumeClaim.ClaimName) {
			errs = append(errs, field.Invalid(idxPath.Child("persistentVolumeClaim", "claimName"), v.PersistentVolumeClaim.ClaimName,
				"must not reference a PVC that gets created for an ephemeral volume"))
		}
	}
	return vols, errs
}

// volumeSourceCounter enforces "exactly one volume type": the first source
// found is validated, later ones are Forbidden.
type volumeSourceCounter struct {
	n    int
	errs field.ErrorList
}

func (c *volumeSourceCounter) add(set bool, fldPath *field.Path, validate func() field.ErrorList) {
	if !set {
		return
	}
	if c.n > 0 {
		c.errs = append(c.errs, field.Forbidden(fldPath, "may not specify more than 1 volume type"))
		return
	}
	c.n++
	if validate != nil {
		c.errs = append(c.errs, validate()...)
	}
}

func validateVolumeSource(s *corev1.VolumeSource, fldPath *field.Path, volName string, podMeta *metav1.ObjectMeta, isPod bool) field.ErrorList {
	var c volumeSourceCounter
	c.add(s.EmptyDir != nil, fldPath.Child("emptyDir"), func() field.ErrorList {
		if s.EmptyDir.SizeLimit != nil && s.EmptyDir.SizeLimit.Sign() < 0 {
			return field.ErrorList{field.Forbidden(fldPath.Child("emptyDir", "sizeLimit"), "SizeLimit field must be a valid resource quantity")}
		}
		return nil
	})
	c.add(s.HostPath != nil, fldPath.Child("hostPath"), func() field.ErrorList {
		return validateHostPath(s.HostPath, fldPath.Child("hostPath"))
	})
	c.add(s.GitRepo != nil, fldPath.Child("gitRepo"), func() field.ErrorList {
		p := fldPath.Child("gitRepo")
		errs := requiredString(s.GitRepo.Repository, p.Child("repository"))
		return append(errs, validateLocalDescendingPath(s.GitRepo.Directory, p.Child("directory"))...)
	})
	c.add(s.GCEPersistentDisk != nil, fldPath.Child("gcePersistentDisk"), func() field.ErrorList {
		p := fldPath.Child("persistentDisk")
		errs := requiredString(s.GCEPersistentDisk.PDName, p.Child("pdName"))
		return append(errs, validatePartition(s.GCEPersistentDisk.Partition, p.Child("partition"))...)
	})
	c.add(s.AWSElasticBlockStore != nil, fldPath.Child("awsElasticBlockStore"), func() field.ErrorList {
		p := fldPath.Child("awsElasticBlockStore")
		errs := requiredString(s.AWSElasticBlockStore.VolumeID, p.Child("volumeID"))
		return append(errs, validatePartition(s.AWSElasticBlockStore.Partition, p.Child("partition"))...)
	})
	c.add(s.Secret != nil, fldPath.Child("secret"), func() field.ErrorList {
		p := fldPath.Child("secret")
		errs := requiredString(s.Secret.SecretName, p.Child("secretName"))
		errs = append(errs, validateFileMode(s.Secret.DefaultMode, p.Child("defaultMode"))...)
		for i := range s.Secret.Items {
			errs = append(errs, validateKeyToPath(&s.Secret.Items[i], p.Child("items").Index(i))...)
		}
		return errs
	})
	c.add(s.NFS != nil, fldPath.Child("nfs"), func() field.ErrorList {
		return validateNFS(s.NFS, fldPath.Child("nfs"))
	})
	c.add(s.ISCSI != nil, fldPath.Child("iscsi"), func() field.ErrorList {
		p := fldPath.Child("iscsi")
		errs := requiredString(s.ISCSI.TargetPortal, p.Child("targetPortal"))
		errs = append(errs, requiredString(s.ISCSI.IQN, p.Child("iqn"))...)
		if s.ISCSI.Lun < 0 || s.ISCSI.Lun > 255 {
			errs = append(errs, field.Invalid(p.Child("lun"), s.ISCSI.Lun, validation.InclusiveRangeError(0, 255)))
		}
		if (s.ISCSI.DiscoveryCHAPAuth || s.ISCSI.SessionCHAPAuth) && s.ISCSI.SecretRef == nil {
			errs = append(errs, field.Required(p.Child("secretRef"), ""))
		}
		return errs
	})
	c.add(s.Glusterfs != nil, fldPath.Child("glusterfs"), func() field.ErrorList {
		p := fldPath.Child("glusterfs")
		errs := requiredString(s.Glusterfs.EndpointsName, p.Child("endpoints"))
		return append(errs, requiredString(s.Glusterfs.Path, p.Child("path"))...)
	})
	c.add(s.Flocker != nil, fldPath.Child("flocker"), func() field.ErrorList {
		return validateFlocker(s.Flocker, fldPath.Child("flocker"))
	})
	c.add(s.PersistentVolumeClaim != nil, fldPath.Child("persistentVolumeClaim"), func() field.ErrorList {
		return requiredString(s.PersistentVolumeClaim.ClaimName, fldPath.Child("persistentVolumeClaim", "claimName"))
	})
	c.add(s.RBD != nil, fldPath.Child("rbd"), func() field.ErrorList {
		p := fldPath.Child("rbd")
		errs := requiredSlice(len(s.RBD.CephMonitors), p.Child("monitors"))
		return append(errs, requiredString(s.RBD.RBDImage, p.Child("image"))...)
	})
	c.add(s.Cinder != nil, fldPath.Child("cinder"), func() field.ErrorList {
		p := fldPath.Child("cinder")
		errs := requiredString(s.Cinder.VolumeID, p.Child("volumeID"))
		if s.Cinder.SecretRef != nil {
			errs = append(errs, requiredString(s.Cinder.SecretRef.Name, p.Child("secretRef", "name"))...)
		}
		return errs
	})
	c.add(s.CephFS != nil, fldPath.Child("cephFS"), func() field.ErrorList {
		return requiredSlice(len(s.CephFS.Monitors), fldPath.Child("cephfs", "monitors"))
	})
	c.add(s.Quobyte != nil, fldPath.Child("quobyte"), func() field.ErrorList {
		return validateQuobyte(s.Quobyte, fldPath.Child("quobyte"))
	})
	c.add(s.DownwardAPI != nil, fldPath.Child("downwardAPI"), func() field.ErrorList {
		p := fldPath.Child("downwardAPI")
		errs := validateFileMode(s.DownwardAPI.DefaultMode, p.Child("defaultMode"))
		for i := range s.DownwardAPI.Items {
			errs = append(errs, validateDownwardAPIVolumeFile(&s.DownwardAPI.Items[i], p.Child("items").Index(i))...)
		}
		return errs
	})
	c.add(s.FC != nil, fldPath.Child("fc"), func() field.ErrorList {
		return validateFC(s.FC, fldPath.Child("fc"))
	})
	c.add(s.FlexVolume != nil, fldPath.Child("flexVolume"), func() field.ErrorList {
		return validateFlex(s.FlexVolume.Driver, s.FlexVolume.Options, fldPath.Child("flexVolume"))
	})
	c.add(s.ConfigMap != nil, fldPath.Child("configMap"), func() field.ErrorList {
		p := fldPath.Child("configMap")
		errs := requiredString(s.ConfigMap.Name, p.Child("name"))
		errs = append(errs, validateFileMode(s.ConfigMap.DefaultMode, p.Child("defaultMode"))...)
		for i := range s.ConfigMap.Items {
			errs = append(errs, validateKeyToPath(&s.ConfigMap.Items[i], p.Child("items").Index(i))...)
		}
		return errs
	})
	c.add(s.AzureFile != nil, fldPath.Child("azureFile"), func() field.ErrorList {
		p := fldPath.Child("azureFile")
		errs := requiredString(s.AzureFile.SecretName, p.Child("secretName"))
		return append(errs, requiredString(s.AzureFile.ShareName, p.Child("shareName"))...)
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
		errs := requiredString(s.AzureDisk.DiskName, p.Child("diskName"))
		return append(errs, requiredString(s.AzureDisk.DataDiskURI, p.Child("diskURI"))...)
	})
	c.add(s.StorageOS != nil, fldPath.Child("storageos"), func() field.ErrorList {
		p := fldPath.Child("storageos")
		errs := requiredString(s.StorageOS.VolumeName, p.Child("volumeName"))
		if s.StorageOS.VolumeName != "" {
			errs = append(errs, dns1123Label(s.StorageOS.VolumeName, p.Child("volumeName"))...)
		}
		if s.StorageOS.VolumeNamespace != "" {
			errs = append(errs, dns1123Label(s.StorageOS.VolumeNamespace, p.Child("volumeNamespace"))...)
		}
		return errs
	})
	c.add(s.Projected != nil, fldPath.Child("projected"), func() field.ErrorList {
		return validateProjected(s.Projected, fldPath.Child("projected"))
	})
	c.add(s.ScaleIO != nil, fldPath.Child("scaleIO"), func() field.ErrorList {
		p := fldPath.Child("scaleIO")
		errs := requiredString(s.ScaleIO.Gateway, p.Child("gateway"))
		errs = append(errs, requiredString(s.ScaleIO.System, p.Child("system"))...)
		return append(errs, requiredString(s.ScaleIO.VolumeName, p.Child("volumeName"))...)
	})
	c.add(s.CSI != nil, fldPath.Child("csi"), func() field.ErrorList {
		p := fldPath.Child("csi")
		errs := validateCSIDriverName(s.CSI.Driver, p.Child("driver"))
		if s.CSI.NodePublishSecretRef != nil {
			if s.CSI.NodePublishSecretRef.Name == "" {
				errs = append(errs, field.Required(p.Child("nodePublishSecretRef", "name"), ""))
			} else {
				errs = append(errs, objectName(nameIsDNSSubdomain, s.CSI.NodePublishSecretRef.Name, p.Child("nodePublishSecretRef", "name"))...)
			}
		}
		return errs
	})
	c.add(s.Ephemeral != nil, fldPath.Child("ephemeral"), func() field.ErrorList {
		p := fldPath.Child("ephemeral")
		if s.Ephemeral.VolumeClaimTemplate == nil {
			return field.ErrorList{field.Required(p.Child("volumeClaimTemplate"), "")}
		}
		tp := p.Child("volumeClaimTemplate")
		errs := validateTemplateObjectMeta(&s.Ephemeral.VolumeClaimTemplate.ObjectMeta, tp.Child("metadata"))
		errs = append(errs, validatePersistentVolumeClaimSpec(&s.Ephemeral.VolumeClaimTemplate.Spec, tp.Child("spec"))...)
		if podMeta != nil && podMeta.Name != "" && volName != "" {
			pvcName := podMeta.Name + "-" + volName
			for _, msg := range nameIsDNSSubdomain(pvcName, false) {
				errs = append(errs, field.Invalid(fldPath.Child("name"), volName, fmt.Sprintf("PVC name %q: %v", pvcName, msg)))
			}
		}
		return errs
	})
	c.add(s.Image != nil, fldPath.Child("image"), func() field.ErrorList {
		p := fldPath.Child("image")
		var errs field.ErrorList
		if isPod && s.Image.Reference == "" {
			errs = append(errs, field.Required(p.Child("reference"), ""))
		}
		return append(errs, validatePullPolicy(s.Image.PullPolicy, p.Child("pullPolicy"))...)
	})
	if c.n == 0 {
		c.errs = append(c.errs, field.Required(fldPath, "must specify a volume type"))
	}
	return c.errs
}

func requiredString(value string, fldPath *field.Path) field.ErrorList {
	if value == "" {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	return nil
}

func requiredSlice(n int, fldPath *field.Path) field.ErrorList {
	if n == 0 {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	return nil
}

func validatePartition(p int32, fldPath *field.Path) field.ErrorList {
	if p < 0 || p > 255 {
		return field.ErrorList{field.Invalid(fldPath, p, validation.InclusiveRangeError(1, 255))}
	}
	return nil
}

func validateFileMode(mode *int32, fldPath *field.Path) field.ErrorList {
	if mode != nil && (*mode > 0777 || *mode < 0) {
		return field.ErrorList{field.Invalid(fldPath, *mode, fileModeErrorMsg)}
	}
	return nil
}

var supportedHostPathTypes = []corev1.HostPathType{
	corev1.HostPathUnset, corev1.HostPathDirectoryOrCreate, corev1.HostPathDirectory,
	corev1.HostPathFileOrCreate, corev1.HostPathFile, corev1.HostPathSocket,
	corev1.HostPathCharDev, corev1.HostPathBlockDev,
}

func validateHostPath(hp *corev1.HostPathVolumeSource, fldPath *field.Path) field.ErrorList {
	if hp.Path == "" {
		return field.ErrorList{field.Required(fldPath.Child("path"), "")}
	}
	errs := validatePathNoBacksteps(hp.Path, fldPath.Child("path"))
	if hp.Type != nil {
		errs = append(errs, oneOf(fldPath.Child("type"), *hp.Type, supportedHostPathTypes...)...)
	}
	return errs
}

func validateNFS(nfs *corev1.NFSVolumeSource, fldPath *field.Path) field.ErrorList {
	errs := requiredString(nfs.Server, fldPath.Child("server"))
	errs = append(errs, requiredString(nfs.Path, fldPath.Child("path"))...)
	if !path.IsAbs(nfs.Path) {
		errs = append(errs, field.Invalid(fldPath.Child("path"), nfs.Path, "must be an absolute path"))
	}
	return errs
}

func validateFlocker(f *corev1.FlockerVolumeSource, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if f.DatasetName == "" && f.DatasetUUID == "" {
		errs = append(errs, field.Required(fldPath, "one of datasetName and datasetUUID is required"))
	}
	if f.DatasetName != "" && f.DatasetUUID != "" {
		errs = append(errs, field.Invalid(fldPath, "resource", "datasetName and datasetUUID can not be specified simultaneously"))
	}
	if strings.Contains(f.DatasetName, "/") {
		errs = append(errs, field.Invalid(fldPath.Child("datasetName"), f.DatasetName, "must not contain '/'"))
	}
	return errs
}

func validateQuobyte(q *corev1.QuobyteVolumeSource, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch {
	case q.Registry == "":
		errs = append(errs, field.Required(fldPath.Child("registry"), "must be a host:port pair or multiple pairs separated by commas"))
	case len(q.Tenant) >= 65:
		errs = append(errs, field.Required(fldPath.Child("tenant"), "must be a UUID and may not exceed a length of 64 characters"))
	default:
		for _, hp := range strings.Split(q.Registry, ",") {
			if _, _, err := net.SplitHostPort(hp); err != nil {
				errs = append(errs, field.Invalid(fldPath.Child("registry"), q.Registry, "must be a host:port pair or multiple pairs separated by commas"))
			}
		}
	}
	return append(errs, requiredString(q.Volume, fldPath.Child("volume"))...)
}

func validateFC(fc *corev1.FCVolumeSource, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(fc.TargetWWNs) == 0 && len(fc.WWIDs) == 0 {
		errs = append(errs, field.Required(fldPath.Child("targetWWNs"), "must specify either targetWWNs or wwids, but not both"))
	}
	if len(fc.TargetWWNs) != 0 && len(fc.WWIDs) != 0 {
		errs = append(errs, field.Invalid(fldPath.Child("targetWWNs"), fc.TargetWWNs, "targetWWNs and wwids can not be specified simultaneously"))
	}
	if len(fc.TargetWWNs) != 0 {
		if fc.Lun == nil {
			errs = append(errs, field.Required(fldPath.Child("lun"), "lun is required if targetWWNs is specified"))
		} else if *fc.Lun < 0 || *fc.Lun > 255 {
			errs = append(errs, field.Invalid(fldPath.Child("lun"), *fc.Lun, validation.InclusiveRangeError(0, 255)))
		}
	}
	return errs
}

func validateFlex(driver string, options map[string]string, fldPath *field.Path) field.ErrorList {
	errs := requiredString(driver, fldPath.Child("driver"))
	for _, k := range sortedKeys(options) {
		ns := k
		if parts := strings.SplitN(k, "/", 2); len(parts) == 2 {
			ns = parts[0]
		}
		normalized := "." + strings.ToLower(ns)
		if strings.HasSuffix(normalized, ".kubernetes.io") || strings.HasSuffix(normalized, ".k8s.io") {
			errs = append(errs, field.Invalid(fldPath.Child("options").Key(k), k, "kubernetes.io and k8s.io namespaces are reserved"))
		}
	}
	return errs
}

func validateCSIDriverName(name string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if name == "" {
		errs = append(errs, field.Required(fldPath, ""))
	}
	if len(name) > 63 {
		errs = append(errs, field.TooLong(fldPath, "", 63))
	}
	for _, msg := range validation.IsDNS1123Subdomain(strings.ToLower(name)) {
		errs = append(errs, field.Invalid(fldPath, name, msg))
	}
	return errs
}

func validateKeyToPath(kp *corev1.KeyToPath, fldPath *field.Path) field.ErrorList {
	errs := requiredString(kp.Key, fldPath.Child("key"))
	errs = append(errs, requiredString(kp.Path, fldPath.Child("path"))...)
	errs = append(errs, validateLocalNonReservedPath(kp.Path, fldPath.Child("path"))...)
	return append(errs, validateFileMode(kp.Mode, fldPath.Child("mode"))...)
}

var volumeDownwardAPIFieldPaths = sets.New(
	"metadata.name", "metadata.namespace", "metadata.labels", "metadata.annotations", "metadata.uid")

func validateDownwardAPIVolumeFile(file *corev1.DownwardAPIVolumeFile, fldPath *field.Path) field.ErrorList {
	errs := requiredString(file.Path, fldPath.Child("path"))
	errs = append(errs, validateLocalNonReservedPath(file.Path, fldPath.Child("path"))...)
	switch {
	case file.FieldRef != nil:
		errs = append(errs, validateObjectFieldSelector(file.FieldRef, volumeDownwardAPIFieldPaths, fldPath.Child("fieldRef"))...)
		if file.ResourceFieldRef != nil {
			errs = append(errs, field.Invalid(fldPath, "resource", "fieldRef and resourceFieldRef can not be specified simultaneously"))
		}
	case file.ResourceFieldRef != nil:
		errs = append(errs, validateContainerResourceFieldSelector(file.ResourceFieldRef, fldPath.Child("resourceFieldRef"), true)...)
	default:
		errs = append(errs, field.Required(fldPath, "one of fieldRef and resourceFieldRef is required"))
	}
	return append(errs, validateFileMode(file.Mode, fldPath.Child("mode"))...)
}

func validateProjected(p *corev1.ProjectedVolumeSource, fldPath *field.Path) field.ErrorList {
	errs := validateFileMode(p.DefaultMode, fldPath.Child("defaultMode"))
	paths := sets.New[string]()
	addPath := func(pth string, value any) {
		if pth == "" {
			return
		}
		if paths.Has(pth) {
			errs = append(errs, field.Invalid(fldPath, value, "conflicting duplicate paths"))
		}
		paths.Insert(pth)
	}
	for i, src := range p.Sources {
		n := 0
		srcPath := fldPath.Child("sources").Index(i)
		if src.Secret != nil {
			n++
			sp := srcPath.Child("secret")
			errs = append(errs, requiredString(src.Secret.Name, sp.Child("name"))...)
			for j := range src.Secret.Items {
				errs = append(errs, validateKeyToPath(&src.Secret.Items[j], sp.Child("items").Index(j))...)
				addPath(src.Secret.Items[j].Path, src.Secret.Name)
			}
		}
		if src.ConfigMap != nil {
			n++
			cp := srcPath.Child("configMap")
			errs = append(errs, requiredString(src.ConfigMap.Name, cp.Child("name"))...)
			for j := range src.ConfigMap.Items {
				errs = append(errs, validateKeyToPath(&src.ConfigMap.Items[j], cp.Child("items").Index(j))...)
				addPath(src.ConfigMap.Items[j].Path, src.ConfigMap.Name)
			}
		}
		if src.DownwardAPI != nil {
			n++
			dp := srcPath.Child("downwardAPI")
			for j := range src.DownwardAPI.Items {
				errs = append(errs, validateDownwardAPIVolumeFile(&src.DownwardAPI.Items[j], dp.Child("items").Index(j))...)
				addPath(src.DownwardAPI.Items[j].Path, src.DownwardAPI.Items[j].Path)
			}
		}
		if src.ServiceAccountToken != nil {
			n++
			tp := srcPath.Child("serviceAccountToken")
			exp := deref(src.ServiceAccountToken.ExpirationSeconds)
			if exp < 10*60 {
				errs = append(errs, field.Invalid(tp.Child("expirationSeconds"), exp, "may not specify a duration less than 10 minutes"))
			}
			if exp > 1<<32 {
				errs = append(errs, field.Invalid(tp.Child("expirationSeconds"), exp, "may not specify a duration larger than 2^32 seconds"))
			}
			if src.ServiceAccountToken.Path == "" {
				errs = append(errs, field.Required(tp.Child("path"), ""))
			} else {
				errs = append(errs, validateLocalNonReservedPath(src.ServiceAccountToken.Path, tp.Child("path"))...)
			}
			addPath(src.ServiceAccountToken.Path, src.ServiceAccountToken.Path)
		}
		if src.ClusterTrustBundle != nil {
			n++
			bp := srcPath.Child("clusterTrustBundle")
			b := src.ClusterTrustBundle
			switch {
			case b.Name != nil && b.SignerName != nil:
				errs = append(errs, field.Invalid(bp, "", "only one of name and signerName may be used"))
			case b.Name != nil:
				if *b.Name == "" {
					errs = append(errs, field.Required(bp.Child("name"), "must be a valid object name"))
				}
				if b.LabelSelector != nil {
					errs = append(errs, field.Invalid(bp.Child("labelSelector"), b.LabelSelector, "labelSelector must be unset if name is specified"))
				}
			case b.SignerName != nil:
				if *b.SignerName == "" {
					errs = append(errs, field.Required(bp.Child("signerName"), "must be a valid signer name"))
				}
				errs = append(errs, labelSelector(b.LabelSelector, bp.Child("labelSelector"))...)
			default:
				errs = append(errs, field.Required(bp, "either name or signerName must be specified"))
			}
			errs = append(errs, requiredString(b.Path, bp.Child("path"))...)
			errs = append(errs, validateLocalNonReservedPath(b.Path, bp.Child("path"))...)
			addPath(b.Path, b.Path)
		}
		if src.PodCertificate != nil {
			n++
		}
		if n > 1 {
			errs = append(errs, field.Forbidden(srcPath, "may not specify more than 1 volume type per source"))
		}
	}
	return errs
}

// validateLocalDescendingPath: relative and without '..' elements.
func validateLocalDescendingPath(target string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if path.IsAbs(target) {
		errs = append(errs, field.Invalid(fldPath, target, "must be a relative path"))
	}
	return append(errs, validatePathNoBacksteps(target, fldPath)...)
}

func validatePathNoBacksteps(target string, fldPath *field.Path) field.ErrorList {
	for _, item := range strings.Split(filepath.ToSlash(target), "/") {
		if item == ".." {
			return field.ErrorList{field.Invalid(fldPath, target, "must not contain '..'")}
		}
	}
	return nil
}

func validateLocalNonReservedPath(target string, fldPath *field.Path) field.ErrorList {
	errs := validateLocalDescendingPath(target, fldPath)
	if strings.HasPrefix(target, "..") && !strings.HasPrefix(target, "../") {
		errs = append(errs, field.Invalid(fldPath, target, "must not start with '..'"))
	}
	return errs
}
