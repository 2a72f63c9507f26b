package validation

import (
	nodev1 "k8s.io/api/node/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	corev1 "k8s.io/api/core/v1"
)

func validateRuntimeClass(rc, old *nodev1.RuntimeClass) field.ErrorList {
	errs := objectName(nameIsDNSLabel, rc.Handler, field.NewPath("handler"))
	if rc.Overhead != nil {
		errs = append(errs, validateResourceRequirements(&corev1.ResourceRequirements{Limits: rc.Overhead.PodFixed},
			validateContainerResourceName, nil, field.NewPath("overhead"))...)
	}
	if s := rc.Scheduling; s != nil {
		p := field.NewPath("scheduling")
		errs = append(errs, metav1validation.ValidateLabels(s.NodeSelector, p.Child("nodeSelector"))...)
		errs = append(errs, validateTolerations(s.Tolerations, p.Child("tolerations"))...)
	}
	if old != nil {
		errs = append(errs, immutable(rc.Handler, old.Handler, field.NewPath("handler"))...)
	}
	return errs
}
