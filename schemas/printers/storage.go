package printers

import (
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Annotations that mark the default StorageClass (k8s.io/kubernetes/pkg/apis/storage/util).
const (
	isDefaultStorageClassAnnotation     = "storageclass.kubernetes.io/is-default-class"
	betaIsDefaultStorageClassAnnotation = "storageclass.beta.kubernetes.io/is-default-class"
)

func addStorage(m map[schema.GroupKind]Printer) {
	storage := func(kind string) schema.GroupKind { return schema.GroupKind{Group: "storage.k8s.io", Kind: kind} }

	m[storage("StorageClass")] = Printer{
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			{Name: "Provisioner", Type: "string", Description: storagev1.StorageClass{}.SwaggerDoc()["provisioner"]},
			{Name: "ReclaimPolicy", Type: "string", Description: storagev1.StorageClass{}.SwaggerDoc()["reclaimPolicy"]},
			{Name: "VolumeBindingMode", Type: "string", Description: storagev1.StorageClass{}.SwaggerDoc()["volumeBindingMode"]},
			{Name: "AllowVolumeExpansion", Type: "string", Description: storagev1.StorageClass{}.SwaggerDoc()["allowVolumeExpansion"]},
			ageColumn(),
		},
		Row: rowOf(printStorageClass),
	}
	m[storage("VolumeAttachment")] = Printer{
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			{Name: "Attacher", Type: "string", Format: "name", Description: storagev1.VolumeAttachmentSpec{}.SwaggerDoc()["attacher"]},
			{Name: "PV", Type: "string", Description: storagev1.VolumeAttachmentSource{}.SwaggerDoc()["persistentVolumeName"]},
			{Name: "Node", Type: "string", Description: storagev1.VolumeAttachmentSpec{}.SwaggerDoc()["nodeName"]},
			{Name: "Attached", Type: "boolean", Description: storagev1.VolumeAttachmentStatus{}.SwaggerDoc()["attached"]},
			ageColumn(),
		},
		Row: rowOf(func(va *storagev1.VolumeAttachment, now time.Time) []any {
			pv := ""
			if va.Spec.Source.PersistentVolumeName != nil {
				pv = *va.Spec.Source.PersistentVolumeName
			}
			return []any{va.Name, va.Spec.Attacher, pv, va.Spec.NodeName, va.Status.Attached, translateTimestampSince(va.CreationTimestamp, now)}
		}),
	}
	m[storage("CSINode")] = Printer{
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			{Name: "Drivers", Type: "integer", Description: "Drivers indicates the number of CSI drivers registered on the node"},
			ageColumn(),
		},
		Row: rowOf(func(n *storagev1.CSINode, now time.Time) []any {
			return []any{n.Name, int64(len(n.Spec.Drivers)), translateTimestampSince(n.CreationTimestamp, now)}
		}),
	}
	spec := storagev1.CSIDriverSpec{}.SwaggerDoc()
	m[storage("CSIDriver")] = Printer{
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			{Name: "AttachRequired", Type: "boolean", Description: spec["attachRequired"]},
			{Name: "PodInfoOnMount", Type: "boolean", Description: spec["podInfoOnMount"]},
			{Name: "StorageCapacity", Type: "boolean", Description: spec["storageCapacity"]},
			{Name: "TokenRequests", Type: "string", Description: spec["tokenRequests"]},
			{Name: "RequiresRepublish", Type: "boolean", Description: spec["requiresRepublish"]},
			{Name: "Modes", Type: "string", Description: spec["volumeLifecycleModes"]},
			ageColumn(),
		},
		Row: rowOf(printCSIDriver),
	}
	m[storage("CSIStorageCapacity")] = Printer{
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			{Name: "StorageClassName", Type: "string", Description: storagev1.CSIStorageCapacity{}.SwaggerDoc()["storageClassName"]},
			{Name: "Capacity", Type: "string", Description: storagev1.CSIStorageCapacity{}.SwaggerDoc()["capacity"]},
		},
		Row: rowOf(func(c *storagev1.CSIStorageCapacity, _ time.Time) []any {
			capacity := "<unset>"
			if c.Capacity != nil {
				capacity = quantityString(c.Capacity)
			}
			return []any{c.Name, c.StorageClassName, capacity}
		}),
	}
}

// printStorageClass marks the default class in the name and prints the values the
// fields default to when unset.
func printStorageClass(sc *storagev1.StorageClass, now time.Time) []any {
	name := sc.Name
	if sc.Annotations[isDefaultStorageClassAnnotation] == "true" || sc.Annotations[betaIsDefaultStorageClassAnnotation] == "true" {
		name += " (default)"
	}
	reclaimPolicy := string(corev1.PersistentVolumeReclaimDelete)
	if sc.ReclaimPolicy != nil {
		reclaimPolicy = string(*sc.ReclaimPolicy)
	}
	bindingMode := string(storagev1.VolumeBindingImmediate)
	if sc.VolumeBindingMode != nil {
		bindingMode = string(*sc.VolumeBindingMode)
	}
	allowExpansion := false
	if sc.AllowVolumeExpansion != nil {
		allowExpansion = *sc.AllowVolumeExpansion
	}
	return []any{name, sc.Provisioner, reclaimPolicy, bindingMode, allowExpansion, translateTimestampSince(sc.CreationTimestamp, now)}
}

func printCSIDriver(d *storagev1.CSIDriver, now time.Time) []any {
	orDefault := func(p *bool, def bool) bool {
		if p == nil {
			return def
		}
		return *p
	}
	tokenRequests := "<unset>"
	if d.Spec.TokenRequests != nil {
		audiences := make([]string, len(d.Spec.TokenRequests))
		for i, t := range d.Spec.TokenRequests {
			audiences[i] = t.Audience
		}
		tokenRequests = strings.Join(audiences, ",")
	}
	modes := make([]string, len(d.Spec.VolumeLifecycleModes))
	for i, mode := range d.Spec.VolumeLifecycleModes {
		modes[i] = string(mode)
	}
	return []any{
		d.Name, orDefault(d.Spec.AttachRequired, true), orDefault(d.Spec.PodInfoOnMount, false),
		orDefault(d.Spec.StorageCapacity, false), tokenRequests, orDefault(d.Spec.RequiresRepublish, false),
		noneIfEmpty(strings.Join(modes, ",")), translateTimestampSince(d.CreationTimestamp, now),
	}
}
