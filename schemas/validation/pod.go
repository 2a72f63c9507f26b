package validation

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const (
	maxDNSNameservers     = 3
	maxDNSSearchPaths     = 32
	maxDNSSearchListChars = 2048
	mirrorPodAnnotation   = "kubernetes.io/config.mirror"
	podDeletionCost       = "controller.kubernetes.io/pod-deletion-cost"
)

// podSpecOpts says where a pod spec appears.
type podSpecOpts struct {
	isPod bool
	// extraVolumes are volumes the controller adds at pod creation, as a
	// StatefulSet does for its volumeClaimTemplates.
	extraVolumes []corev1.Volume
}

// validatePodSpec checks a pod spec. podMeta is nil for templates.
func validatePodSpec(spec *corev1.PodSpec, podMeta *metav1.ObjectMeta, fldPath *field.Path, opts podSpecOpts) field.ErrorList {
	var errs field.ErrorList
	if spec.TerminationGracePeriodSeconds == nil {
		errs = append(errs, field.Required(fldPath.Child("terminationGracePeriodSeconds"), ""))
	} else if *spec.TerminationGracePeriodSeconds < 0 {
		errs = append(errs, field.Invalid(fldPath.Child("terminationGracePeriodSeconds"), *spec.TerminationGracePeriodSeconds, isNegativeErrorMsg))
	}
	hostUsers := spec.HostUsers == nil || *spec.HostUsers

	vols, volErrs := validateVolumes(spec.Volumes, podMeta, fldPath.Child("volumes"), opts.isPod)
	errs = append(errs, volErrs...)
	for _, v := range opts.extraVolumes {
		if _, ok := vols[v.Name]; !ok {
			vols[v.Name] = v.VolumeSource
		}
	}
	claimNames := sets.New[string]()
	for _, c := range spec.ResourceClaims {
		if c.Name != "" {
			claimNames.Insert(c.Name)
		}
	}
	errs = append(errs, validatePodResourceClaims(spec.ResourceClaims, fldPath.Child("resourceClaims"))...)
	ctx := &podCtx{
		volumes: vols, claimNames: claimNames,
		gracePeriod: spec.TerminationGracePeriodSeconds, restartPolicy: spec.RestartPolicy, hostUsers: hostUsers,
	}
	errs = append(errs, validateContainers(spec.Containers, ctx, fldPath.Child("containers"))...)
	errs = append(errs, validateInitContainers(spec.InitContainers, spec.Containers, ctx, fldPath.Child("initContainers"))...)
	errs = append(errs, validateEphemeralContainers(spec.EphemeralContainers, spec.Containers, spec.InitContainers, ctx, fldPath.Child("ephemeralContainers"))...)
	if spec.Resources != nil {
		rp := fldPath.Child("resources")
		if len(spec.Resources.Claims) > 0 {
			errs = append(errs, field.Forbidden(rp.Child("claims"), "claims cannot be set for Resources at pod-level"))
		}
		errs = append(errs, validateResourceRequirements(spec.Resources, validatePodResourceName, nil, rp)...)
	}
	errs = append(errs, validateHostNetworkPorts(spec, fldPath, opts.isPod)...)
	errs = append(errs, requiredOneOf(fldPath.Child("restartPolicy"), spec.RestartPolicy,
		corev1.RestartPolicyAlways, corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever)...)
	errs = append(errs, requiredOneOf(fldPath.Child("dnsPolicy"), spec.DNSPolicy,
		corev1.DNSClusterFirstWithHostNet, corev1.DNSClusterFirst, corev1.DNSDefault, corev1.DNSNone)...)
	errs = append(errs, metav1validation.ValidateLabels(spec.NodeSelector, fldPath.Child("nodeSelector"))...)
	errs = append(errs, validatePodSecurityContext(spec, fldPath.Child("securityContext"))...)
	for i, s := range spec.ImagePullSecrets {
		if s.Name == "" {
			errs = append(errs, field.Required(fldPath.Child("imagePullSecrets").Index(i).Child("name"), ""))
		}
	}
	errs = append(errs, validateAffinity(spec.Affinity, fldPath.Child("affinity"))...)
	errs = append(errs, validatePodDNSConfig(spec.DNSConfig, spec.DNSPolicy, fldPath.Child("dnsConfig"))...)
	for i, g := range spec.ReadinessGates {
		errs = append(errs, qualifiedName(string(g.ConditionType), fldPath.Child("readinessGates").Index(i).Child("conditionType"))...)
	}
	gates := sets.New[string]()
	for i, g := range spec.SchedulingGates {
		errs = append(errs, qualifiedName(g.Name, fldPath.Child("schedulingGates").Index(i))...)
		if gates.Has(g.Name) {
			errs = append(errs, field.Duplicate(fldPath.Child("schedulingGates").Index(i), g.Name))
		}
		gates.Insert(g.Name)
	}
	errs = append(errs, validateTopologySpreadConstraints(spec.TopologySpreadConstraints, fldPath.Child("topologySpreadConstraints"))...)
	if !hostUsers {
		errs = append(errs, forbidSet(fldPath, "when `pod.Spec.HostUsers` is false",
			map[string]bool{"hostNetwork": spec.HostNetwork, "hostPID": spec.HostPID, "hostIPC": spec.HostIPC})...)
	}
	if spec.ServiceAccountName != "" {
		errs = append(errs, objectName(nameIsDNSSubdomain, spec.ServiceAccountName, fldPath.Child("serviceAccountName"))...)
	}
	if spec.NodeName != "" {
		errs = append(errs, objectName(nameIsDNSSubdomain, spec.NodeName, fldPath.Child("nodeName"))...)
	}
	if spec.ActiveDeadlineSeconds != nil {
		if v := *spec.ActiveDeadlineSeconds; v < 1 || v > math.MaxInt32 {
			errs = append(errs, field.Invalid(fldPath.Child("activeDeadlineSeconds"), v, validation.InclusiveRangeError(1, math.MaxInt32)))
		}
	}
	if spec.Hostname != "" {
		errs = append(errs, dns1123Label(spec.Hostname, fldPath.Child("hostname"))...)
	}
	if spec.Subdomain != "" {
		errs = append(errs, dns1123Label(spec.Subdomain, fldPath.Child("subdomain"))...)
	}
	if spec.HostnameOverride != nil {
		errs = append(errs, dns1123Subdomain(*spec.HostnameOverride, fldPath.Child("hostnameOverride"))...)
	}
	errs = append(errs, validateTolerations(spec.Tolerations, fldPath.Child("tolerations"))...)
	for i, ha := range spec.HostAliases {
		p := fldPath.Child("hostAliases").Index(i)
		errs = append(errs, validation.IsValidIPForLegacyField(p.Child("ip"), ha.IP, true, nil)...)
		for j, h := range ha.Hostnames {
			errs = append(errs, dns1123Subdomain(h, p.Child("hostnames").Index(j))...)
		}
	}
	if spec.PriorityClassName != "" {
		errs = append(errs, objectName(nameIsDNSSubdomain, spec.PriorityClassName, fldPath.Child("priorityClassName"))...)
	}
	if spec.RuntimeClassName != nil {
		errs = append(errs, objectName(nameIsDNSSubdomain, *spec.RuntimeClassName, fldPath.Child("runtimeClassName"))...)
	}
	if spec.PreemptionPolicy != nil {
		errs = append(errs, requiredOneOf(fldPath.Child("preemptionPolicy"), *spec.PreemptionPolicy, corev1.PreemptLowerPriority, corev1.PreemptNever)...)
	}
	if spec.Overhead != nil {
		errs = append(errs, validateResourceRequirements(&corev1.ResourceRequirements{Limits: spec.Overhead}, validateContainerResourceName, nil, fldPath.Child("overhead"))...)
	}
	errs = append(errs, validatePodOS(spec, fldPath)...)
	return errs
}

func validatePodResourceClaims(claims []corev1.PodResourceClaim, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := sets.New[string]()
	for i, c := range claims {
		p := fldPath.Index(i)
		switch {
		case c.Name == "":
			errs = append(errs, field.Required(p.Child("name"), ""))
		case names.Has(c.Name):
			errs = append(errs, field.Duplicate(p.Child("name"), c.Name))
		default:
			errs = append(errs, dns1123Label(c.Name, p.Child("name"))...)
			names.Insert(c.Name)
		}
		if c.ResourceClaimName != nil && c.ResourceClaimTemplateName != nil {
			errs = append(errs, field.Invalid(p, c.Name, "at most one of `resourceClaimName` or `resourceClaimTemplateName` may be specified"))
		}
		if c.ResourceClaimName == nil && c.ResourceClaimTemplateName == nil {
			errs = append(errs, field.Invalid(p, c.Name, "must specify one of: `resourceClaimName`, `resourceClaimTemplateName`"))
		}
		if c.ResourceClaimName != nil {
			errs = append(errs, objectName(nameIsDNSSubdomain, *c.ResourceClaimName, p.Child("resourceClaimName"))...)
		}
		if c.ResourceClaimTemplateName != nil {
			errs = append(errs, objectName(nameIsDNSSubdomain, *c.ResourceClaimTemplateName, p.Child("resourceClaimTemplateName"))...)
		}
	}
	return errs
}

// validateHostNetworkPorts: with hostNetwork, hostPort must equal
// containerPort. Templates may leave hostPort 0; it is defaulted on the pod.
func validateHostNetworkPorts(spec *corev1.PodSpec, fldPath *field.Path, isPod bool) field.ErrorList {
	if !spec.HostNetwork {
		return nil
	}
	var errs field.ErrorList
	for i, c := range spec.Containers {
		for j, port := range c.Ports {
			if (isPod || port.HostPort != 0) && port.HostPort != port.ContainerPort {
				errs = append(errs, field.Invalid(fldPath.Child("containers").Index(i).Child("ports").Index(j).Child("hostPort"),
					port.HostPort, "must match `containerPort` when `hostNetwork` is true"))
			}
		}
	}
	return errs
}

func validatePodDNSConfig(cfg *corev1.PodDNSConfig, policy corev1.DNSPolicy, fldPath *field.Path) field.ErrorList {
	if policy == corev1.DNSNone {
		if cfg == nil {
			return field.ErrorList{field.Required(fldPath, fmt.Sprintf("must provide `dnsConfig` when `dnsPolicy` is %s", corev1.DNSNone))}
		}
		if len(cfg.Nameservers) == 0 {
			return field.ErrorList{field.Required(fldPath.Child("nameservers"), fmt.Sprintf("must provide at least one DNS nameserver when `dnsPolicy` is %s", corev1.DNSNone))}
		}
	}
	if cfg == nil {
		return nil
	}
	var errs field.ErrorList
	if len(cfg.Nameservers) > maxDNSNameservers {
		errs = append(errs, field.Invalid(fldPath.Child("nameservers"), cfg.Nameservers, fmt.Sprintf("must not have more than %v nameservers", maxDNSNameservers)))
	}
	for i, ns := range cfg.Nameservers {
		errs = append(errs, validation.IsValidIPForLegacyField(fldPath.Child("nameservers").Index(i), ns, true, nil)...)
	}
	if len(cfg.Searches) > maxDNSSearchPaths {
		errs = append(errs, field.Invalid(fldPath.Child("searches"), cfg.Searches, fmt.Sprintf("must not have more than %v search paths", maxDNSSearchPaths)))
	}
	if len(strings.Join(cfg.Searches, " ")) > maxDNSSearchListChars {
		errs = append(errs, field.Invalid(fldPath.Child("searches"), cfg.Searches, fmt.Sprintf("must not have more than %v characters (including spaces) in the search list", maxDNSSearchListChars)))
	}
	for i, s := range cfg.Searches {
		// A lone "." and underscores are allowed since RelaxedDNSSearchValidation.
		if s != "." {
			errs = append(errs, messages(fldPath.Child("searches").Index(i), strings.TrimSuffix(s, "."), validation.IsDNS1123SubdomainWithUnderscore(strings.TrimSuffix(s, ".")))...)
		}
	}
	for i, o := range cfg.Options {
		if o.Name == "" {
			errs = append(errs, field.Required(fldPath.Child("options").Index(i), "must not be empty"))
		}
	}
	return errs
}

func validatePodOS(spec *corev1.PodSpec, fldPath *field.Path) field.ErrorList {
	if spec.OS == nil {
		return nil
	}
	osPath := fldPath.Child("os")
	if spec.OS.Name == "" {
		return field.ErrorList{field.Required(osPath.Child("name"), "cannot be empty")}
	}
	if errs := oneOf(osPath, spec.OS.Name, corev1.Linux, corev1.Windows); len(errs) > 0 {
		return errs
	}
	var errs field.ErrorList
	sc := spec.SecurityContext
	visit := func(f func(c *corev1.Container, p *field.Path)) {
		for i := range spec.InitContainers {
			f(&spec.InitContainers[i], fldPath.Child("initContainers").Index(i))
		}
		for i := range spec.Containers {
			f(&spec.Containers[i], fldPath.Child("containers").Index(i))
		}
	}
	if spec.OS.Name == corev1.Linux {
		const msg = "windows options cannot be set for a linux pod"
		if sc != nil && sc.WindowsOptions != nil {
			errs = append(errs, field.Forbidden(fldPath.Child("securityContext", "windowsOptions"), msg))
		}
		visit(func(c *corev1.Container, p *field.Path) {
			if c.SecurityContext != nil && c.SecurityContext.WindowsOptions != nil {
				errs = append(errs, field.Forbidden(p.Child("securityContext", "windowsOptions"), msg))
			}
		})
		return errs
	}
	const msg = "cannot be set for a windows pod"
	if spec.HostPID {
		errs = append(errs, field.Forbidden(fldPath.Child("hostPID"), msg))
	}
	if spec.HostIPC {
		errs = append(errs, field.Forbidden(fldPath.Child("hostIPC"), msg))
	}
	if spec.HostUsers != nil {
		errs = append(errs, field.Forbidden(fldPath.Child("hostUsers"), msg))
	}
	if sc != nil {
		errs = append(errs, forbidSet(fldPath.Child("securityContext"), msg, map[string]bool{
			"appArmorProfile": sc.AppArmorProfile != nil, "seLinuxOptions": sc.SELinuxOptions != nil,
			"seccompProfile": sc.SeccompProfile != nil, "fsGroup": sc.FSGroup != nil,
			"fsGroupChangePolicy": sc.FSGroupChangePolicy != nil, "sysctls": len(sc.Sysctls) > 0,
			"runAsUser": sc.RunAsUser != nil, "runAsGroup": sc.RunAsGroup != nil,
			"supplementalGroups": sc.SupplementalGroups != nil, "supplementalGroupsPolicy": sc.SupplementalGroupsPolicy != nil,
			"seLinuxChangePolicy": sc.SELinuxChangePolicy != nil,
		})...)
	}
	visit(func(c *corev1.Container, p *field.Path) {
		csc := c.SecurityContext
		if csc == nil {
			return
		}
		errs = append(errs, forbidSet(p.Child("securityContext"), msg, map[string]bool{
			"appArmorProfile": csc.AppArmorProfile != nil, "seLinuxOptions": csc.SELinuxOptions != nil,
			"seccompProfile": csc.SeccompProfile != nil, "capabilities": csc.Capabilities != nil,
			"readOnlyRootFilesystem": csc.ReadOnlyRootFilesystem != nil, "privileged": csc.Privileged != nil,
			"allowPrivilegeEscalation": csc.AllowPrivilegeEscalation != nil, "procMount": csc.ProcMount != nil,
			"runAsUser": csc.RunAsUser != nil, "runAsGroup": csc.RunAsGroup != nil,
		})...)
	})
	return errs
}

// validatePodSpecificAnnotations checks the annotations the kubelet and the
// controllers interpret.
func validatePodSpecificAnnotations(annotations map[string]string, spec *corev1.PodSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if v, ok := annotations[mirrorPodAnnotation]; ok && spec.NodeName == "" {
		errs = append(errs, field.Invalid(fldPath.Key(mirrorPodAnnotation), v, "must set spec.nodeName if mirror pod annotation is set"))
	}
	if v, ok := annotations[podDeletionCost]; ok {
		if _, err := strconv.ParseInt(v, 10, 32); err != nil {
			errs = append(errs, field.Invalid(fldPath.Key(podDeletionCost), v, "must be a 32bit integer"))
		}
	}
	for _, k := range sortedKeys(annotations) {
		if k == corev1.SeccompPodAnnotationKey || strings.HasPrefix(k, corev1.SeccompContainerAnnotationKeyPrefix) {
			errs = append(errs, validateSeccompAnnotation(annotations[k], fldPath.Child(k))...)
		}
	}
	return errs
}

func validateSeccompAnnotation(p string, fldPath *field.Path) field.ErrorList {
	switch {
	case p == corev1.SeccompProfileRuntimeDefault, p == corev1.DeprecatedSeccompProfileDockerDefault, p == corev1.SeccompProfileNameUnconfined:
		return nil
	case strings.HasPrefix(p, corev1.SeccompLocalhostProfileNamePrefix):
		return validateLocalDescendingPath(strings.TrimPrefix(p, corev1.SeccompLocalhostProfileNamePrefix), fldPath)
	}
	return field.ErrorList{field.Invalid(fldPath, p, "must be a valid seccomp profile")}
}

// validatePodTemplateSpec checks the template of a workload.
func validatePodTemplateSpec(t *corev1.PodTemplateSpec, fldPath *field.Path, opts podSpecOpts) field.ErrorList {
	errs := metav1validation.ValidateLabels(t.Labels, fldPath.Child("labels"))
	errs = append(errs, apimachineryvalidation.ValidateAnnotations(t.Annotations, fldPath.Child("annotations"))...)
	errs = append(errs, validatePodSpecificAnnotations(t.Annotations, &t.Spec, fldPath.Child("annotations"))...)
	errs = append(errs, validatePodSpec(&t.Spec, nil, fldPath.Child("spec"), opts)...)
	if len(t.Spec.EphemeralContainers) > 0 {
		errs = append(errs, field.Forbidden(fldPath.Child("spec", "ephemeralContainers"), "ephemeral containers not allowed in pod template"))
	}
	return errs
}

// Pod.

func validatePod(pod, old *corev1.Pod) field.ErrorList {
	specPath := field.NewPath("spec")
	errs := validatePodSpecificAnnotations(pod.Annotations, &pod.Spec, field.NewPath("metadata", "annotations"))
	errs = append(errs, validatePodSpec(&pod.Spec, &pod.ObjectMeta, specPath, podSpecOpts{isPod: true})...)
	if pod.Spec.ServiceAccountName == "" {
		for vi, v := range pod.Spec.Volumes {
			if v.Projected == nil {
				continue
			}
			for si, src := range v.Projected.Sources {
				if src.ServiceAccountToken != nil {
					errs = append(errs, field.Forbidden(specPath.Child("volumes").Index(vi).Child("projected", "sources").Index(si).Child("serviceAccountToken"),
						"must not be specified when serviceAccountName is not set"))
				}
			}
		}
	}
	for i, c := range pod.Spec.Containers {
		errs = append(errs, validateImageWhitespace(c.Image, specPath.Child("containers").Index(i).Child("image"))...)
	}
	for i, c := range pod.Spec.InitContainers {
		errs = append(errs, validateImageWhitespace(c.Image, specPath.Child("initContainers").Index(i).Child("image"))...)
	}
	if old == nil {
		if len(pod.Spec.EphemeralContainers) > 0 {
			errs = append(errs, field.Forbidden(specPath.Child("ephemeralContainers"), "cannot be set on create"))
		}
		if pod.Spec.NodeName != "" && len(pod.Spec.SchedulingGates) != 0 {
			errs = append(errs, field.Forbidden(specPath.Child("nodeName"), "cannot be set until all schedulingGates have been cleared"))
		}
		return errs
	}
	return append(errs, validatePodUpdate(pod, old)...)
}

var updatablePodSpecFields = []string{
	"`spec.containers[*].image`",
	"`spec.initContainers[*].image`",
	"`spec.activeDeadlineSeconds`",
	"`spec.tolerations` (only additions to existing tolerations)",
	"`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
}

func validatePodUpdate(pod, old *corev1.Pod) field.ErrorList {
	var errs field.ErrorList
	specPath := field.NewPath("spec")
	annPath := field.NewPath("metadata", "annotations")
	if old.Annotations[mirrorPodAnnotation] != pod.Annotations[mirrorPodAnnotation] {
		_, had := old.Annotations[mirrorPodAnnotation]
		if had {
			errs = append(errs, field.Forbidden(annPath.Key(mirrorPodAnnotation), "may not remove or update mirror pod annotation"))
		} else {
			errs = append(errs, field.Forbidden(annPath.Key(mirrorPodAnnotation), "may not add mirror pod annotation"))
		}
	}
	if len(pod.Spec.Containers) != len(old.Spec.Containers) {
		return append(errs, field.Forbidden(specPath.Child("containers"), "pod updates may not add or remove containers"))
	}
	if len(pod.Spec.InitContainers) != len(old.Spec.InitContainers) {
		return append(errs, field.Forbidden(specPath.Child("initContainers"), "pod updates may not add or remove containers"))
	}
	if ads := pod.Spec.ActiveDeadlineSeconds; ads != nil {
		if *ads < 0 || *ads > math.MaxInt32 {
			return append(errs, field.Invalid(specPath.Child("activeDeadlineSeconds"), *ads, validation.InclusiveRangeError(0, math.MaxInt32)))
		}
		if prev := old.Spec.ActiveDeadlineSeconds; prev != nil && *prev < *ads {
			return append(errs, field.Invalid(specPath.Child("activeDeadlineSeconds"), *ads, "must be less than or equal to previous value"))
		}
	} else if old.Spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Invalid(specPath.Child("activeDeadlineSeconds"), pod.Spec.ActiveDeadlineSeconds, "must not update from a positive integer to nil value"))
	}
	errs = append(errs, validateOnlyAddedTolerations(pod.Spec.Tolerations, old.Spec.Tolerations, specPath.Child("tolerations"))...)
	errs = append(errs, validateOnlyDeletedSchedulingGates(pod.Spec.SchedulingGates, old.Spec.SchedulingGates, specPath.Child("schedulingGates"))...)
	if apiequality.Semantic.DeepEqual(pod.Spec, old.Spec) {
		return errs
	}
	// Copy the fields that may change from old, then anything left differs.
	munged := pod.Spec.DeepCopy()
	for i := range munged.Containers {
		munged.Containers[i].Image = old.Spec.Containers[i].Image
	}
	for i := range munged.InitContainers {
		munged.InitContainers[i].Image = old.Spec.InitContainers[i].Image
	}
	munged.ActiveDeadlineSeconds = old.Spec.ActiveDeadlineSeconds
	munged.SchedulingGates = old.Spec.SchedulingGates
	munged.Tolerations = old.Spec.Tolerations
	if prev := old.Spec.TerminationGracePeriodSeconds; prev != nil && *prev < 0 && deref(munged.TerminationGracePeriodSeconds) == 1 {
		munged.TerminationGracePeriodSeconds = prev
	}
	if len(old.Spec.SchedulingGates) > 0 {
		// Gated pods may gain node selectors and node affinity terms.
		if !apiequality.Semantic.DeepEqual(munged.NodeSelector, old.Spec.NodeSelector) {
			for k, v := range old.Spec.NodeSelector {
				if nv, ok := munged.NodeSelector[k]; !ok || nv != v {
					errs = append(errs, field.Invalid(specPath.Child("nodeSelector"), munged.NodeSelector, "only additions to spec.nodeSelector are allowed (no mutations or deletions)"))
					break
				}
			}
			munged.NodeSelector = old.Spec.NodeSelector
		}
	}
	if !apiequality.Semantic.DeepEqual(*munged, old.Spec) {
		errs = append(errs, field.Forbidden(specPath, fmt.Sprintf("pod updates may not change fields other than %s\n(changed: %s)",
			strings.Join(updatablePodSpecFields, ","), strings.Join(changedFields(*munged, old.Spec), ", "))))
	}
	return errs
}

func validateOnlyAddedTolerations(tolerations, old []corev1.Toleration, fldPath *field.Path) field.ErrorList {
	for _, o := range old {
		found := false
		for _, n := range tolerations {
			o.TolerationSeconds = n.TolerationSeconds
			if apiequality.Semantic.DeepEqual(o, n) {
				found = true
				break
			}
		}
		if !found {
			return field.ErrorList{field.Forbidden(fldPath, "existing toleration can not be modified except its tolerationSeconds")}
		}
	}
	return nil
}

func validateOnlyDeletedSchedulingGates(gates, old []corev1.PodSchedulingGate, fldPath *field.Path) field.ErrorList {
	oldNames := sets.New[string]()
	for _, g := range old {
		oldNames.Insert(g.Name)
	}
	var errs field.ErrorList
	for i, g := range gates {
		if !oldNames.Has(g.Name) {
			errs = append(errs, field.Forbidden(fldPath.Index(i).Child("name"), fmt.Sprintf("only deletion is allowed, but found new scheduling gate '%s'", g.Name)))
		}
	}
	return errs
}

// validatePodStatus checks an update through pods/status.
func validatePodStatus(pod, old *corev1.Pod) field.ErrorList {
	statusPath := field.NewPath("status")
	var errs field.ErrorList
	for i, c := range pod.Status.Conditions {
		switch c.Type {
		case corev1.PodScheduled, corev1.PodReady, corev1.PodInitialized:
		default:
			errs = append(errs, qualifiedName(string(c.Type), statusPath.Child("conditions").Index(i).Child("type"))...)
		}
	}
	if pod.Spec.NodeName != old.Spec.NodeName {
		errs = append(errs, field.Forbidden(statusPath.Child("nodeName"), "may not be changed directly"))
	}
	if n := pod.Status.NominatedNodeName; n != old.Status.NominatedNodeName && n != "" {
		errs = append(errs, objectName(nameIsDNSSubdomain, n, statusPath.Child("nominatedNodeName"))...)
	}
	errs = append(errs, immutable(pod.Status.QOSClass, old.Status.QOSClass, statusPath.Child("qosClass"))...)
	errs = append(errs, validateContainerStateTransition(pod.Status.ContainerStatuses, old.Status.ContainerStatuses, statusPath.Child("containerStatuses"), old.Spec.RestartPolicy, nil)...)
	errs = append(errs, validateContainerStateTransition(pod.Status.InitContainerStatuses, old.Status.InitContainerStatuses, statusPath.Child("initContainerStatuses"), old.Spec.RestartPolicy, old.Spec.InitContainers)...)
	errs = append(errs, validateContainerStateTransition(pod.Status.EphemeralContainerStatuses, old.Status.EphemeralContainerStatuses, statusPath.Child("ephemeralContainerStatuses"), corev1.RestartPolicyNever, nil)...)
	podIPs := make([]string, len(pod.Status.PodIPs))
	for i, ip := range pod.Status.PodIPs {
		podIPs[i] = ip.IP
	}
	errs = append(errs, validateIPList(podIPs, statusPath.Child("podIPs"))...)
	if len(pod.Status.HostIPs) > 0 {
		hostIPs := make([]string, len(pod.Status.HostIPs))
		for i, ip := range pod.Status.HostIPs {
			hostIPs[i] = ip.IP
		}
		if pod.Status.HostIP != hostIPs[0] {
			errs = append(errs, field.Invalid(statusPath.Child("hostIPs").Index(0).Child("ip"), hostIPs[0], "must be equal to `hostIP`"))
		}
		errs = append(errs, validateIPList(hostIPs, statusPath.Child("hostIPs"))...)
	}
	return errs
}

// validateContainerStateTransition: a terminated container of a pod that
// does not restart it may not become non-terminated again.
func validateContainerStateTransition(statuses, old []corev1.ContainerStatus, fldPath *field.Path, policy corev1.RestartPolicy, inits []corev1.Container) field.ErrorList {
	if policy == corev1.RestartPolicyAlways {
		return nil
	}
	var errs field.ErrorList
	for i, o := range old {
		if o.State.Terminated == nil || (o.State.Terminated.ExitCode != 0 && policy == corev1.RestartPolicyOnFailure) {
			continue
		}
		restartable := false
		for _, c := range inits {
			if c.Name == o.Name && c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
				restartable = true
			}
		}
		if restartable {
			continue
		}
		for _, n := range statuses {
			if n.Name == o.Name && n.State.Terminated == nil {
				errs = append(errs, field.Forbidden(fldPath.Index(i).Child("state"), "may not be transitioned to non-terminated state"))
			}
		}
	}
	return errs
}

// validateIPList: valid IPs, at most one per family, no duplicates.
func validateIPList(ips []string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	valid := true
	for i, ip := range ips {
		if e := validation.IsValidIPForLegacyField(fldPath.Index(i), ip, true, nil); len(e) > 0 {
			errs = append(errs, e...)
			valid = false
		}
	}
	if len(ips) < 2 || !valid {
		return errs
	}
	if len(ips) > 2 || isIPv6(ips[0]) == isIPv6(ips[1]) {
		errs = append(errs, field.Invalid(fldPath, ips, "may specify no more than one IP for each IP family"))
	}
	seen := sets.New[string]()
	for i, ip := range ips {
		if seen.Has(ip) {
			errs = append(errs, field.Duplicate(fldPath.Index(i), ip))
		}
		seen.Insert(ip)
	}
	return errs
}
