package validation

import (
	"net"
	"reflect"
	"strings"
	"unicode"
	"unicode/utf8"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/validate/content"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const (
	isNegativeErrorMsg     = apimachineryvalidation.IsNegativeErrorMsg
	fieldImmutableErrorMsg = apimachineryvalidation.FieldImmutableErrorMsg
	isNotIntegerErrorMsg   = "must be an integer"
	isNotPositiveErrorMsg  = "must be greater than zero"
	fileModeErrorMsg       = "must be a number between 0 and 0777 (octal), both inclusive"
)

// nameFunc validates an object name; prefix is true for generateName prefixes.
type nameFunc = apimachineryvalidation.ValidateNameFunc

var (
	nameIsDNSSubdomain = apimachineryvalidation.NameIsDNSSubdomain
	nameIsDNSLabel     = apimachineryvalidation.NameIsDNSLabel
	nameIsDNS1035Label = apimachineryvalidation.NameIsDNS1035Label
)

// nameIsPathSegment is the generic registry's minimal rule: the name must be
// usable as a URL path segment. RBAC kinds use nothing stricter.
func nameIsPathSegment(name string, prefix bool) []string {
	if prefix {
		return content.IsPathSegmentPrefix(name)
	}
	return content.IsPathSegmentName(name)
}

// standardFinalizers are the finalizer names allowed without a domain prefix.
var standardFinalizers = map[string]bool{
	"kubernetes":                     true,
	metav1.FinalizerOrphanDependents: true,
	metav1.FinalizerDeleteDependents: true,
}

func validateObjectMeta(meta metav1.Object, namespaced bool, name nameFunc, fldPath *field.Path) field.ErrorList {
	errs := apimachineryvalidation.ValidateObjectMetaAccessor(meta, namespaced, name, fldPath)
	for i, f := range meta.GetFinalizers() {
		errs = append(errs, validateKubeFinalizerName(f, fldPath.Child("finalizers").Index(i))...)
	}
	return errs
}

func validateObjectMetaUpdate(meta, old metav1.Object, fldPath *field.Path) field.ErrorList {
	errs := apimachineryvalidation.ValidateObjectMetaAccessorUpdate(meta, old, fldPath)
	for i, f := range meta.GetFinalizers() {
		errs = append(errs, validateKubeFinalizerName(f, fldPath.Child("finalizers").Index(i))...)
	}
	return errs
}

func validateKubeFinalizerName(name string, fldPath *field.Path) field.ErrorList {
	if !strings.Contains(name, "/") && !standardFinalizers[name] {
		return field.ErrorList{field.Invalid(fldPath, name, "name is neither a standard finalizer name nor is it fully qualified")}
	}
	return nil
}

// validateFinalizerName is used for Namespace spec.finalizers.
func validateFinalizerName(name string, fldPath *field.Path) field.ErrorList {
	errs := apimachineryvalidation.ValidateFinalizerName(name, fldPath)
	return append(errs, validateKubeFinalizerName(name, fldPath)...)
}

// validateTemplateObjectMeta checks the metadata embedded in a template
// (PVC templates of ephemeral volumes): only labels and annotations may be set.
func validateTemplateObjectMeta(meta *metav1.ObjectMeta, fldPath *field.Path) field.ErrorList {
	errs := apimachineryvalidation.ValidateAnnotations(meta.Annotations, fldPath.Child("annotations"))
	errs = append(errs, metav1validation.ValidateLabels(meta.Labels, fldPath.Child("labels"))...)
	errs = append(errs, forbidFieldsExcept(*meta, map[string]bool{"Annotations": true, "Labels": true}, "cannot be set", fldPath)...)
	return errs
}

// forbidFieldsExcept reports every non-zero field of the struct value that
// is not in allowed, as upstream's validateFieldAllowList does, so that new
// fields are rejected until someone decides they are allowed.
func forbidFieldsExcept(value any, allowed map[string]bool, detail string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	t, v := reflect.TypeOf(value), reflect.ValueOf(value)
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if allowed[f.Name] || v.Field(i).IsZero() {
			continue
		}
		r, n := utf8.DecodeRuneInString(f.Name)
		errs = append(errs, field.Forbidden(fldPath.Child(string(unicode.ToLower(r))+f.Name[n:]), detail))
	}
	return errs
}

// Small shared checks.

func nonNegative(value int64, fldPath *field.Path) field.ErrorList {
	return apimachineryvalidation.ValidateNonnegativeField(value, fldPath)
}

func immutable(newVal, oldVal any, fldPath *field.Path) field.ErrorList {
	if apiequality.Semantic.DeepEqual(oldVal, newVal) {
		return nil
	}
	return field.ErrorList{field.Invalid(fldPath, newVal, fieldImmutableErrorMsg)}
}

func messages(fldPath *field.Path, value any, msgs []string) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range msgs {
		errs = append(errs, field.Invalid(fldPath, value, msg))
	}
	return errs
}

func dns1123Label(value string, fldPath *field.Path) field.ErrorList {
	return messages(fldPath, value, validation.IsDNS1123Label(value))
}

func dns1123Subdomain(value string, fldPath *field.Path) field.ErrorList {
	return messages(fldPath, value, validation.IsDNS1123Subdomain(value))
}

func qualifiedName(value string, fldPath *field.Path) field.ErrorList {
	return messages(fldPath, value, validation.IsQualifiedName(value))
}

// objectName checks a reference to another object by its name rules.
func objectName(fn nameFunc, value string, fldPath *field.Path) field.ErrorList {
	return messages(fldPath, value, fn(value, false))
}

func oneOf[T ~string](fldPath *field.Path, value T, valid ...T) field.ErrorList {
	for _, v := range valid {
		if v == value {
			return nil
		}
	}
	return field.ErrorList{field.NotSupported(fldPath, value, valid)}
}

// requiredOneOf is oneOf with an empty value reported as Required.
func requiredOneOf[T ~string](fldPath *field.Path, value T, valid ...T) field.ErrorList {
	if value == "" {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	return oneOf(fldPath, value, valid...)
}

func labelSelector(sel *metav1.LabelSelector, fldPath *field.Path) field.ErrorList {
	return metav1validation.ValidateLabelSelector(sel, metav1validation.LabelSelectorValidationOptions{}, fldPath)
}

func deref[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}

// forbidSet reports each named child of fldPath whose flag is set, in name
// order.
func forbidSet(fldPath *field.Path, detail string, set map[string]bool) field.ErrorList {
	var errs field.ErrorList
	for _, name := range sortedKeys(set) {
		if set[name] {
			errs = append(errs, field.Forbidden(fldPath.Child(name), detail))
		}
	}
	return errs
}

// changedFields names the top-level fields (by JSON name) that differ
// between two structs of the same type.
func changedFields(a, b any) []string {
	var names []string
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	t := va.Type()
	for i := 0; i < t.NumField(); i++ {
		if apiequality.Semantic.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			continue
		}
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name == "" {
			name = t.Field(i).Name
		}
		names = append(names, name)
	}
	return names
}

func isIPv6(ip string) bool {
	parsed := net.ParseIP(ip)
	return parsed != nil && parsed.To4() == nil
}

func isIPv6CIDR(cidr string) bool {
	ip, _, err := net.ParseCIDR(cidr)
	return err == nil && ip.To4() == nil
}

// parseIPSloppy parses an IP after IsValidIPForLegacyField has accepted it.
func parseIPSloppy(ip string) net.IP { return net.ParseIP(ip) }

func containsSlash(s string) bool { return strings.Contains(s, "/") }

func toLower(s string) string { return strings.ToLower(s) }

func labelName(name string, fldPath *field.Path) field.ErrorList {
	return metav1validation.ValidateLabelName(name, fldPath)
}
