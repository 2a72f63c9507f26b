package validation

import (
	"fmt"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const sysctlSegmentFmt = "[a-z0-9]([-_a-z0-9]*[a-z0-9])?"

var sysctlRegexp = regexp.MustCompile("^(" + sysctlSegmentFmt + "[\\./])*" + sysctlSegmentFmt + "$")

func validatePodSecurityContext(spec *corev1.PodSpec, fldPath *field.Path) field.ErrorList {
	sc := spec.SecurityContext
	var errs field.ErrorList
	if sc != nil {
		if sc.FSGroup != nil {
			errs = append(errs, messages(fldPath.Child("fsGroup"), *sc.FSGroup, validation.IsValidGroupID(*sc.FSGroup))...)
		}
		if sc.RunAsUser != nil {
			errs = append(errs, messages(fldPath.Child("runAsUser"), *sc.RunAsUser, validation.IsValidUserID(*sc.RunAsUser))...)
		}
		if sc.RunAsGroup != nil {
			errs = append(errs, messages(fldPath.Child("runAsGroup"), *sc.RunAsGroup, validation.IsValidGroupID(*sc.RunAsGroup))...)
		}
		for i, g := range sc.SupplementalGroups {
			errs = append(errs, messages(fldPath.Child("supplementalGroups").Index(i), g, validation.IsValidGroupID(g))...)
		}
		names := sets.New[string]()
		for i, s := range sc.Sysctls {
			p := fldPath.Child("sysctls").Index(i).Child("name")
			switch {
			case s.Name == "":
				errs = append(errs, field.Required(p, ""))
			case len(s.Name) > 253 || !sysctlRegexp.MatchString(s.Name):
				errs = append(errs, field.Invalid(p, s.Name, fmt.Sprintf("must have at most %d characters and match regex %s", 253, sysctlRegexp)))
			case names.Has(s.Name):
				errs = append(errs, field.Duplicate(p, s.Name))
			}
			names.Insert(s.Name)
			switch ns := sysctlNamespace(s.Name); {
			case spec.HostNetwork && ns == "net":
				errs = append(errs, field.Invalid(p, s.Name, "may not be specified when 'hostNetwork' is true"))
			case spec.HostIPC && ns == "ipc":
				errs = append(errs, field.Invalid(p, s.Name, "may not be specified when 'hostIPC' is true"))
			}
		}
		if sc.FSGroupChangePolicy != nil {
			errs = append(errs, oneOf(fldPath.Child("fsGroupChangePolicy"), *sc.FSGroupChangePolicy, corev1.FSGroupChangeAlways, corev1.FSGroupChangeOnRootMismatch)...)
		}
		errs = append(errs, validateSeccompProfile(sc.SeccompProfile, fldPath.Child("seccompProfile"))...)
		errs = append(errs, validateWindowsOptions(sc.WindowsOptions, fldPath.Child("windowsOptions"))...)
		errs = append(errs, validateAppArmorProfile(sc.AppArmorProfile, fldPath.Child("appArmorProfile"))...)
		if sc.SupplementalGroupsPolicy != nil {
			errs = append(errs, oneOf(fldPath.Child("supplementalGroupsPolicy"), *sc.SupplementalGroupsPolicy, corev1.SupplementalGroupsPolicyMerge, corev1.SupplementalGroupsPolicyStrict)...)
		}
		if sc.SELinuxChangePolicy != nil {
			errs = append(errs, oneOf(fldPath.Child("seLinuxChangePolicy"), *sc.SELinuxChangePolicy, corev1.SELinuxChangePolicyMountOption, corev1.SELinuxChangePolicyRecursive)...)
		}
	}
	if spec.ShareProcessNamespace != nil && *spec.ShareProcessNamespace && spec.HostPID {
		errs = append(errs, field.Invalid(fldPath.Child("shareProcessNamespace"), true, "ShareProcessNamespace and HostPID cannot both be enabled"))
	}
	return errs
}

// sysctlNamespace tells which Linux namespace a namespaced sysctl belongs to.
func sysctlNamespace(name string) string {
	name = strings.ReplaceAll(name, "/", ".")
	switch {
	case strings.HasPrefix(name, "net."):
		return "net"
	case name == "kernel.sem" || strings.HasPrefix(name, "kernel.shm") || strings.HasPrefix(name, "kernel.msg") || strings.HasPrefix(name, "fs.mqueue."):
		return "ipc"
	}
	return ""
}

// Security contexts.

func validateSecurityContext(sc *corev1.SecurityContext, hostUsers bool, fldPath *field.Path) field.ErrorList {
	if sc == nil {
		return nil
	}
	var errs field.ErrorList
	if sc.RunAsUser != nil {
		errs = append(errs, messages(fldPath.Child("runAsUser"), *sc.RunAsUser, validation.IsValidUserID(*sc.RunAsUser))...)
	}
	if sc.RunAsGroup != nil {
		errs = append(errs, messages(fldPath.Child("runAsGroup"), *sc.RunAsGroup, validation.IsValidGroupID(*sc.RunAsGroup))...)
	}
	if sc.ProcMount != nil {
		errs = append(errs, oneOf(fldPath.Child("procMount"), *sc.ProcMount, corev1.DefaultProcMount, corev1.UnmaskedProcMount)...)
		if hostUsers && *sc.ProcMount == corev1.UnmaskedProcMount {
			errs = append(errs, field.Invalid(fldPath.Child("procMount"), *sc.ProcMount, "`hostUsers` must be false to use `Unmasked`"))
		}
	}
	errs = append(errs, validateSeccompProfile(sc.SeccompProfile, fldPath.Child("seccompProfile"))...)
	if sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation {
		if deref(sc.Privileged) {
			errs = append(errs, field.Invalid(fldPath, "", "cannot set `allowPrivilegeEscalation` to false and `privileged` to true"))
		}
		if sc.Capabilities != nil {
			for _, c := range sc.Capabilities.Add {
				if c == "CAP_SYS_ADMIN" {
					errs = append(errs, field.Invalid(fldPath, "", "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN"))
				}
			}
		}
	}
	errs = append(errs, validateWindowsOptions(sc.WindowsOptions, fldPath.Child("windowsOptions"))...)
	errs = append(errs, validateAppArmorProfile(sc.AppArmorProfile, fldPath.Child("appArmorProfile"))...)
	return errs
}

func validateSeccompProfile(sp *corev1.SeccompProfile, fldPath *field.Path) field.ErrorList {
	if sp == nil {
		return nil
	}
	errs := requiredOneOf(fldPath.Child("type"), sp.Type,
		corev1.SeccompProfileTypeLocalhost, corev1.SeccompProfileTypeRuntimeDefault, corev1.SeccompProfileTypeUnconfined)
	if len(errs) > 0 && errs[0].Type == field.ErrorTypeRequired {
		errs[0].Detail = "type is required when seccompProfile is set"
	}
	if sp.Type == corev1.SeccompProfileTypeLocalhost {
		if sp.LocalhostProfile == nil {
			errs = append(errs, field.Required(fldPath.Child("localhostProfile"), "must be set when seccomp type is Localhost"))
		} else {
			errs = append(errs, validateLocalDescendingPath(*sp.LocalhostProfile, fldPath.Child("localhostProfile"))...)
		}
	} else if sp.LocalhostProfile != nil {
		errs = append(errs, field.Invalid(fldPath.Child("localhostProfile"), *sp.LocalhostProfile, "can only be set when seccomp type is Localhost"))
	}
	return errs
}

func validateAppArmorProfile(p *corev1.AppArmorProfile, fldPath *field.Path) field.ErrorList {
	if p == nil {
		return nil
	}
	var errs field.ErrorList
	switch p.Type {
	case corev1.AppArmorProfileTypeLocalhost:
		switch {
		case p.LocalhostProfile == nil || *p.LocalhostProfile == "":
			errs = append(errs, field.Required(fldPath.Child("localhostProfile"), "must be set when AppArmor type is Localhost"))
		case strings.TrimSpace(*p.LocalhostProfile) != *p.LocalhostProfile:
			errs = append(errs, field.Invalid(fldPath.Child("localhostProfile"), *p.LocalhostProfile, "must not be padded with whitespace"))
		case len(*p.LocalhostProfile) > 4095:
			errs = append(errs, field.TooLong(fldPath.Child("localhostProfile"), "", 4095))
		}
	case corev1.AppArmorProfileTypeRuntimeDefault, corev1.AppArmorProfileTypeUnconfined:
		if p.LocalhostProfile != nil {
			errs = append(errs, field.Invalid(fldPath.Child("localhostProfile"), *p.LocalhostProfile, "can only be set when AppArmor type is Localhost"))
		}
	case "":
		errs = append(errs, field.Required(fldPath.Child("type"), "type is required when appArmorProfile is set"))
	default:
		errs = append(errs, field.NotSupported(fldPath.Child("type"), p.Type,
			[]corev1.AppArmorProfileType{corev1.AppArmorProfileTypeLocalhost, corev1.AppArmorProfileTypeRuntimeDefault, corev1.AppArmorProfileTypeUnconfined}))
	}
	return errs
}

func validateWindowsOptions(w *corev1.WindowsSecurityContextOptions, fldPath *field.Path) field.ErrorList {
	if w == nil {
		return nil
	}
	var errs field.ErrorList
	if w.GMSACredentialSpecName != nil {
		errs = append(errs, dns1123Subdomain(*w.GMSACredentialSpecName, fldPath.Child("gmsaCredentialSpecName"))...)
	}
	if w.GMSACredentialSpec != nil {
		if l := len(*w.GMSACredentialSpec); l == 0 {
			errs = append(errs, field.Invalid(fldPath.Child("gmsaCredentialSpec"), "", "gmsaCredentialSpec cannot be an empty string"))
		} else if l > 64*1024 {
			errs = append(errs, field.Invalid(fldPath.Child("gmsaCredentialSpec"), "", "gmsaCredentialSpec size must be under 64 KiB"))
		}
	}
	if w.RunAsUserName != nil {
		name := *w.RunAsUserName
		switch {
		case name == "":
			errs = append(errs, field.Invalid(fldPath.Child("runAsUserName"), name, "runAsUserName cannot be an empty string"))
		case strings.IndexFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0:
			errs = append(errs, field.Invalid(fldPath.Child("runAsUserName"), name, "runAsUserName cannot contain control characters"))
		case strings.Count(name, `\`) > 1:
			errs = append(errs, field.Invalid(fldPath.Child("runAsUserName"), name, "runAsUserName cannot contain more than one backslash"))
		}
	}
	return errs
}
