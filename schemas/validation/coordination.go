package validation

import (
	"strings"

	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var leaseStrategies = []coordinationv1.CoordinatedLeaseStrategy{coordinationv1.OldestEmulationVersion}

func validateLease(l, old *coordinationv1.Lease) field.ErrorList {
	specPath := field.NewPath("spec")
	var errs field.ErrorList
	if d := l.Spec.LeaseDurationSeconds; d != nil && *d <= 0 {
		errs = append(errs, field.Invalid(specPath.Child("leaseDurationSeconds"), *d, "must be greater than 0"))
	}
	if t := l.Spec.LeaseTransitions; t != nil && *t < 0 {
		errs = append(errs, field.Invalid(specPath.Child("leaseTransitions"), *t, "must be greater than or equal to 0"))
	}
	if s := l.Spec.Strategy; s != nil {
		errs = append(errs, validateLeaseStrategy(*s, specPath.Child("strategy"))...)
	}
	if deref(l.Spec.PreferredHolder) != "" && deref(l.Spec.Strategy) == "" {
		errs = append(errs, field.Forbidden(specPath.Child("preferredHolder"), "may only be specified if `strategy` is defined"))
	}
	return errs
}

// validateLeaseStrategy: unprefixed strategies are Kubernetes-defined;
// prefixed ones must be qualified names.
func validateLeaseStrategy(s coordinationv1.CoordinatedLeaseStrategy, fldPath *field.Path) field.ErrorList {
	if !strings.Contains(string(s), "/") {
		return oneOf(fldPath, s, leaseStrategies...)
	}
	return qualifiedName(string(s), fldPath)
}
