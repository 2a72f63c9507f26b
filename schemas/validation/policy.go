package validation

import (
	policyv1 "k8s.io/api/policy/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func validatePodDisruptionBudget(pdb, old *policyv1.PodDisruptionBudget) field.ErrorList {
	specPath := field.NewPath("spec")
	spec := &pdb.Spec
	var errs field.ErrorList
	if spec.MinAvailable != nil && spec.MaxUnavailable != nil {
		errs = append(errs, field.Invalid(specPath, spec, "minAvailable and maxUnavailable cannot be both set"))
	}
	if v := spec.MinAvailable; v != nil {
		errs = append(errs, validatePositiveIntOrPercent(*v, specPath.Child("minAvailable"))...)
		errs = append(errs, notMoreThan100Percent(*v, specPath.Child("minAvailable"))...)
	}
	if v := spec.MaxUnavailable; v != nil {
		errs = append(errs, validatePositiveIntOrPercent(*v, specPath.Child("maxUnavailable"))...)
		errs = append(errs, notMoreThan100Percent(*v, specPath.Child("maxUnavailable"))...)
	}
	errs = append(errs, labelSelector(spec.Selector, specPath.Child("selector"))...)
	if p := spec.UnhealthyPodEvictionPolicy; p != nil {
		errs = append(errs, oneOf(specPath.Child("unhealthyPodEvictionPolicy"), *p, policyv1.AlwaysAllow, policyv1.IfHealthyBudget)...)
	}
	return errs
}

func validatePodDisruptionBudgetStatus(pdb, old *policyv1.PodDisruptionBudget) field.ErrorList {
	p := field.NewPath("status")
	s := pdb.Status
	errs := metav1validation.ValidateConditions(s.Conditions, p.Child("conditions"))
	errs = append(errs, nonNegative(int64(s.DisruptionsAllowed), p.Child("disruptionsAllowed"))...)
	errs = append(errs, nonNegative(int64(s.CurrentHealthy), p.Child("currentHealthy"))...)
	errs = append(errs, nonNegative(int64(s.DesiredHealthy), p.Child("desiredHealthy"))...)
	return append(errs, nonNegative(int64(s.ExpectedPods), p.Child("expectedPods"))...)
}
