package validation

import (
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// maxObjectDataSize bounds Secret and ConfigMap data (upstream MaxSecretSize).
const maxObjectDataSize = 1 * 1024 * 1024

// Namespace.

func validateNamespace(ns, old *corev1.Namespace) field.ErrorList {
	var errs field.ErrorList
	for i, f := range ns.Spec.Finalizers {
		errs = append(errs, validateFinalizerName(string(f), field.NewPath("spec", "finalizers").Index(i))...)
	}
	return errs
}

func validateNamespaceStatus(ns, old *corev1.Namespace) field.ErrorList {
	p := field.NewPath("status", "phase")
	if ns.DeletionTimestamp.IsZero() {
		if ns.Status.Phase != corev1.NamespaceActive {
			return field.ErrorList{field.Invalid(p, ns.Status.Phase, "may only be 'Active' if `deletionTimestamp` is empty")}
		}
	} else if ns.Status.Phase != corev1.NamespaceTerminating {
		return field.ErrorList{field.Invalid(p, ns.Status.Phase, "may only be 'Terminating' if `deletionTimestamp` is not empty")}
	}
	return nil
}

// Node.

func validateNode(node, old *corev1.Node) field.ErrorList {
	specPath := field.NewPath("spec")
	errs := validateTaints(node.Spec.Taints, specPath.Child("taints"))
	errs = append(errs, validateNodeResources(node)...)
	if cidrs := node.Spec.PodCIDRs; len(cidrs) > 0 {
		p := specPath.Child("podCIDRs")
		valid := true
		for i, c := range cidrs {
			if e := validation.IsValidCIDR(p.Index(i), c); len(e) > 0 {
				errs = append(errs, e...)
				valid = false
			}
		}
		if valid && len(cidrs) > 1 {
			if len(cidrs) > 2 || isIPv6CIDR(cidrs[0]) == isIPv6CIDR(cidrs[1]) {
				errs = append(errs, field.Invalid(p, cidrs, "may specify no more than one CIDR for each IP family"))
			}
			seen := sets.New[string]()
			for i, c := range cidrs {
				if seen.Has(c) {
					errs = append(errs, field.Duplicate(p.Index(i), c))
				}
				seen.Insert(c)
			}
		}
	}
	if old == nil {
		return errs
	}
	if len(old.Spec.PodCIDRs) > 0 && !apiequality.Semantic.DeepEqual(old.Spec.PodCIDRs, node.Spec.PodCIDRs) {
		errs = append(errs, field.Forbidden(specPath.Child("podCIDRs"), "node updates may not change podCIDR except from \"\" to valid"))
	}
	if old.Spec.ProviderID != "" && old.Spec.ProviderID != node.Spec.ProviderID {
		errs = append(errs, field.Forbidden(specPath.Child("providerID"), "node updates may not change providerID except from \"\" to valid"))
	}
	if node.Spec.DoNotUseExternalID != old.Spec.DoNotUseExternalID {
		errs = append(errs, field.Forbidden(specPath.Child("externalID"), "may not be updated"))
	}
	return append(errs, validateNodeAddresses(node)...)
}

// validateNodeStatus: upstream lets anyone with access update node status,
// so only the values themselves are checked.
func validateNodeStatus(node, old *corev1.Node) field.ErrorList {
	return append(validateNodeResources(node), validateNodeAddresses(node)...)
}

func validateNodeAddresses(node *corev1.Node) field.ErrorList {
	var errs field.ErrorList
	seen := map[corev1.NodeAddress]bool{}
	for i, a := range node.Status.Addresses {
		if seen[a] {
			errs = append(errs, field.Duplicate(field.NewPath("status", "addresses").Index(i), a))
		}
		seen[a] = true
	}
	return errs
}

func validateNodeResources(node *corev1.Node) field.ErrorList {
	var errs field.ErrorList
	for _, name := range sortedResourceNames(node.Status.Capacity) {
		errs = append(errs, validateResourceQuantity(name, node.Status.Capacity[name], field.NewPath("status", "capacity").Key(string(name)))...)
	}
	for _, name := range sortedResourceNames(node.Status.Allocatable) {
		errs = append(errs, validateResourceQuantity(name, node.Status.Allocatable[name], field.NewPath("status", "allocatable").Key(string(name)))...)
	}
	return errs
}

// ConfigMap and Secret.

func validateConfigMap(cm, old *corev1.ConfigMap) field.ErrorList {
	var errs field.ErrorList
	total := 0
	for _, k := range sortedKeys(cm.Data) {
		p := field.NewPath("data").Key(k)
		errs = append(errs, messages(p, k, validation.IsConfigMapKey(k))...)
		if _, dup := cm.BinaryData[k]; dup {
			errs = append(errs, field.Invalid(p, k, "duplicate of key present in binaryData"))
		}
		total += len(cm.Data[k])
	}
	for _, k := range sortedKeys(cm.BinaryData) {
		errs = append(errs, messages(field.NewPath("binaryData").Key(k), k, validation.IsConfigMapKey(k))...)
		total += len(cm.BinaryData[k])
	}
	if total > maxObjectDataSize {
		errs = append(errs, field.TooLong(field.NewPath(""), "", maxObjectDataSize))
	}
	if old != nil && deref(old.Immutable) {
		if !deref(cm.Immutable) {
			errs = append(errs, field.Forbidden(field.NewPath("immutable"), "field is immutable when `immutable` is set"))
		}
		if !apiequality.Semantic.DeepEqual(cm.Data, old.Data) {
			errs = append(errs, field.Forbidden(field.NewPath("data"), "field is immutable when `immutable` is set"))
		}
		if !apiequality.Semantic.DeepEqual(cm.BinaryData, old.BinaryData) {
			errs = append(errs, field.Forbidden(field.NewPath("binaryData"), "field is immutable when `immutable` is set"))
		}
	}
	return errs
}

func validateSecret(s, old *corev1.Secret) field.ErrorList {
	var errs field.ErrorList
	dataPath := field.NewPath("data")
	total := 0
	for _, k := range sortedKeys(s.Data) {
		errs = append(errs, messages(dataPath.Key(k), k, validation.IsConfigMapKey(k))...)
		total += len(s.Data[k])
	}
	if total > maxObjectDataSize {
		errs = append(errs, field.TooLong(dataPath, "", maxObjectDataSize))
	}
	switch s.Type {
	case corev1.SecretTypeServiceAccountToken:
		if s.Annotations[corev1.ServiceAccountNameKey] == "" {
			errs = append(errs, field.Required(field.NewPath("metadata", "annotations").Key(corev1.ServiceAccountNameKey), ""))
		}
	case corev1.SecretTypeDockercfg:
		errs = append(errs, requireJSONKey(s.Data, corev1.DockerConfigKey, dataPath)...)
	case corev1.SecretTypeDockerConfigJson:
		errs = append(errs, requireJSONKey(s.Data, corev1.DockerConfigJsonKey, dataPath)...)
	case corev1.SecretTypeBasicAuth:
		_, hasUser := s.Data[corev1.BasicAuthUsernameKey]
		_, hasPassword := s.Data[corev1.BasicAuthPasswordKey]
		if !hasUser && !hasPassword {
			errs = append(errs, field.Required(dataPath.Key(corev1.BasicAuthUsernameKey), ""))
			errs = append(errs, field.Required(dataPath.Key(corev1.BasicAuthPasswordKey), ""))
		}
	case corev1.SecretTypeSSHAuth:
		if len(s.Data[corev1.SSHAuthPrivateKey]) == 0 {
			errs = append(errs, field.Required(dataPath.Key(corev1.SSHAuthPrivateKey), ""))
		}
	case corev1.SecretTypeTLS:
		if _, ok := s.Data[corev1.TLSCertKey]; !ok {
			errs = append(errs, field.Required(dataPath.Key(corev1.TLSCertKey), ""))
		}
		if _, ok := s.Data[corev1.TLSPrivateKeyKey]; !ok {
			errs = append(errs, field.Required(dataPath.Key(corev1.TLSPrivateKeyKey), ""))
		}
	}
	if old == nil {
		return errs
	}
	errs = append(errs, immutable(s.Type, old.Type, field.NewPath("type"))...)
	if deref(old.Immutable) {
		if !deref(s.Immutable) {
			errs = append(errs, field.Forbidden(field.NewPath("immutable"), "field is immutable when `immutable` is set"))
		}
		if !apiequality.Semantic.DeepEqual(s.Data, old.Data) {
			errs = append(errs, field.Forbidden(dataPath, "field is immutable when `immutable` is set"))
		}
	}
	return errs
}

func requireJSONKey(data map[string][]byte, key string, dataPath *field.Path) field.ErrorList {
	raw, ok := data[key]
	if !ok {
		return field.ErrorList{field.Required(dataPath.Key(key), "")}
	}
	if err := json.Unmarshal(raw, &map[string]any{}); err != nil {
		return field.ErrorList{field.Invalid(dataPath.Key(key), "<secret contents redacted>", err.Error())}
	}
	return nil
}

func validateServiceAccount(sa, old *corev1.ServiceAccount) field.ErrorList {
	var errs field.ErrorList
	for i, s := range sa.ImagePullSecrets {
		if s.Name == "" {
			errs = append(errs, field.Required(field.NewPath("imagePullSecrets").Index(i).Child("name"), ""))
		}
	}
	return errs
}

// Endpoints.

func validateEndpoints(ep, old *corev1.Endpoints) field.ErrorList {
	var errs field.ErrorList
	for i := range ep.Subsets {
		ss := &ep.Subsets[i]
		p := field.NewPath("subsets").Index(i)
		if len(ss.Addresses) == 0 && len(ss.NotReadyAddresses) == 0 {
			errs = append(errs, field.Required(p, "must specify `addresses` or `notReadyAddresses`"))
		}
		for j := range ss.Addresses {
			errs = append(errs, validateEndpointAddress(&ss.Addresses[j], p.Child("addresses").Index(j))...)
		}
		for j := range ss.NotReadyAddresses {
			errs = append(errs, validateEndpointAddress(&ss.NotReadyAddresses[j], p.Child("notReadyAddresses").Index(j))...)
		}
		for j, port := range ss.Ports {
			pp := p.Child("ports").Index(j)
			if len(ss.Ports) > 1 && port.Name == "" {
				errs = append(errs, field.Required(pp.Child("name"), ""))
			} else if port.Name != "" {
				errs = append(errs, dns1123Label(port.Name, pp.Child("name"))...)
			}
			errs = append(errs, messages(pp.Child("port"), port.Port, validation.IsValidPortNum(int(port.Port)))...)
			errs = append(errs, requiredOneOf(pp.Child("protocol"), port.Protocol, supportedPortProtocols...)...)
			if port.AppProtocol != nil {
				errs = append(errs, qualifiedName(*port.AppProtocol, pp.Child("appProtocol"))...)
			}
		}
	}
	return errs
}

func validateEndpointAddress(a *corev1.EndpointAddress, fldPath *field.Path) field.ErrorList {
	errs := validation.IsValidIPForLegacyField(fldPath.Child("ip"), a.IP, true, nil)
	if a.Hostname != "" {
		errs = append(errs, dns1123Label(a.Hostname, fldPath.Child("hostname"))...)
	}
	if a.NodeName != nil {
		errs = append(errs, objectName(nameIsDNSSubdomain, *a.NodeName, fldPath.Child("nodeName"))...)
	}
	if len(errs) == 0 {
		errs = append(errs, validateNonSpecialIP(a.IP, fldPath.Child("ip"))...)
	}
	return errs
}

// validateNonSpecialIP rejects addresses that make no sense as endpoints.
func validateNonSpecialIP(ip string, fldPath *field.Path) field.ErrorList {
	parsed := parseIPSloppy(ip)
	if parsed == nil {
		return field.ErrorList{field.Invalid(fldPath, ip, "must be a valid IP address")}
	}
	var errs field.ErrorList
	if parsed.IsUnspecified() {
		errs = append(errs, field.Invalid(fldPath, ip, fmt.Sprintf("may not be unspecified (%v)", ip)))
	}
	if parsed.IsLoopback() {
		errs = append(errs, field.Invalid(fldPath, ip, "may not be in the loopback range (127.0.0.0/8, ::1/128)"))
	}
	if parsed.IsLinkLocalUnicast() {
		errs = append(errs, field.Invalid(fldPath, ip, "may not be in the link-local range (169.254.0.0/16, fe80::/10)"))
	}
	if parsed.IsLinkLocalMulticast() {
		errs = append(errs, field.Invalid(fldPath, ip, "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"))
	}
	return errs
}

// ResourceQuota.

var quotaScopes = []corev1.ResourceQuotaScope{
	corev1.ResourceQuotaScopeBestEffort, corev1.ResourceQuotaScopeCrossNamespacePodAffinity,
	corev1.ResourceQuotaScopeNotBestEffort, corev1.ResourceQuotaScopeNotTerminating,
	corev1.ResourceQuotaScopePriorityClass, corev1.ResourceQuotaScopeTerminating,
	corev1.ResourceQuotaScopeVolumeAttributesClass,
}

var podQuotaResources = sets.New(corev1.ResourcePods, corev1.ResourceCPU, corev1.ResourceMemory,
	corev1.ResourceLimitsCPU, corev1.ResourceLimitsMemory, corev1.ResourceRequestsCPU, corev1.ResourceRequestsMemory)

// quotaScopeAllows reports whether a standard resource may be limited by a
// quota with the given scope.
func quotaScopeAllows(scope corev1.ResourceQuotaScope, name corev1.ResourceName) bool {
	switch scope {
	case corev1.ResourceQuotaScopeTerminating, corev1.ResourceQuotaScopeNotTerminating, corev1.ResourceQuotaScopeNotBestEffort,
		corev1.ResourceQuotaScopePriorityClass, corev1.ResourceQuotaScopeCrossNamespacePodAffinity:
		return podQuotaResources.Has(name)
	case corev1.ResourceQuotaScopeBestEffort:
		return name == corev1.ResourcePods
	case corev1.ResourceQuotaScopeVolumeAttributesClass:
		return name == corev1.ResourcePersistentVolumeClaims || name == corev1.ResourceRequestsStorage
	}
	return true
}

func validateResourceQuota(rq, old *corev1.ResourceQuota) field.ErrorList {
	specPath := field.NewPath("spec")
	errs := validateQuotaList(rq.Spec.Hard, specPath.Child("hard"))
	hard := sortedResourceNames(rq.Spec.Hard)
	scopeSet := sets.New[corev1.ResourceQuotaScope]()
	scopesPath := specPath.Child("scopes")
	for _, scope := range rq.Spec.Scopes {
		if len(oneOf(scopesPath, scope, quotaScopes...)) > 0 {
			errs = append(errs, field.Invalid(scopesPath, rq.Spec.Scopes, "unsupported scope"))
		}
		for _, name := range hard {
			if standardQuotaResources.Has(name) && !quotaScopeAllows(scope, name) {
				errs = append(errs, field.Invalid(scopesPath, rq.Spec.Scopes, "unsupported scope applied to resource"))
			}
		}
		scopeSet.Insert(scope)
	}
	errs = append(errs, conflictingScopes(scopeSet, scopesPath, rq.Spec.Scopes)...)
	if sel := rq.Spec.ScopeSelector; sel != nil {
		p := specPath.Child("scopeSelector", "matchExpressions")
		selected := sets.New[corev1.ResourceQuotaScope]()
		for _, req := range sel.MatchExpressions {
			if len(oneOf(p, req.ScopeName, quotaScopes...)) > 0 {
				errs = append(errs, field.Invalid(p.Child("scopeName"), req.ScopeName, "unsupported scope"))
			}
			for _, name := range hard {
				if standardQuotaResources.Has(name) && !quotaScopeAllows(req.ScopeName, name) {
					errs = append(errs, field.Invalid(p, sel, "unsupported scope applied to resource"))
				}
			}
			switch req.ScopeName {
			case corev1.ResourceQuotaScopeBestEffort, corev1.ResourceQuotaScopeNotBestEffort, corev1.ResourceQuotaScopeTerminating,
				corev1.ResourceQuotaScopeNotTerminating, corev1.ResourceQuotaScopeCrossNamespacePodAffinity:
				if req.Operator != corev1.ScopeSelectorOpExists {
					errs = append(errs, field.Invalid(p.Child("operator"), req.Operator,
						"must be 'Exists' when scope is any of ResourceQuotaScopeTerminating, ResourceQuotaScopeNotTerminating, ResourceQuotaScopeBestEffort, ResourceQuotaScopeNotBestEffort or ResourceQuotaScopeCrossNamespacePodAffinity"))
				}
			}
			switch req.Operator {
			case corev1.ScopeSelectorOpIn, corev1.ScopeSelectorOpNotIn:
				if len(req.Values) == 0 {
					errs = append(errs, field.Required(p.Child("values"), "must be at least one value when `operator` is 'In' or 'NotIn' for scope selector"))
				}
			case corev1.ScopeSelectorOpExists, corev1.ScopeSelectorOpDoesNotExist:
				if len(req.Values) != 0 {
					errs = append(errs, field.Invalid(p.Child("values"), req.Values, "must be no value when `operator` is 'Exist' or 'DoesNotExist' for scope selector"))
				}
			default:
				errs = append(errs, field.Invalid(p.Child("operator"), req.Operator, "not a valid selector operator"))
			}
			selected.Insert(req.ScopeName)
		}
		errs = append(errs, conflictingScopes(selected, p, rq.Spec.Scopes)...)
	}
	if old == nil {
		return append(errs, validateResourceQuotaStatus(rq, nil)...)
	}
	oldScopes, newScopes := sets.New[corev1.ResourceQuotaScope](), sets.New(rq.Spec.Scopes...)
	oldScopes.Insert(old.Spec.Scopes...)
	if !oldScopes.Equal(newScopes) {
		errs = append(errs, field.Invalid(scopesPath, rq.Spec.Scopes, fieldImmutableErrorMsg))
	}
	return errs
}

func conflictingScopes(scopes sets.Set[corev1.ResourceQuotaScope], fldPath *field.Path, value any) field.ErrorList {
	var errs field.ErrorList
	for _, pair := range [][2]corev1.ResourceQuotaScope{
		{corev1.ResourceQuotaScopeBestEffort, corev1.ResourceQuotaScopeNotBestEffort},
		{corev1.ResourceQuotaScopeTerminating, corev1.ResourceQuotaScopeNotTerminating},
	} {
		if scopes.HasAll(pair[0], pair[1]) {
			errs = append(errs, field.Invalid(fldPath, value, "conflicting scopes"))
		}
	}
	return errs
}

func validateQuotaList(list corev1.ResourceList, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, name := range sortedResourceNames(list) {
		p := fldPath.Key(string(name))
		errs = append(errs, validateQuotaResourceName(name, p)...)
		errs = append(errs, validateResourceQuantity(name, list[name], p)...)
	}
	return errs
}

func validateResourceQuotaStatus(rq, old *corev1.ResourceQuota) field.ErrorList {
	errs := validateQuotaList(rq.Status.Hard, field.NewPath("status", "hard"))
	return append(errs, validateQuotaList(rq.Status.Used, field.NewPath("status", "used"))...)
}

// LimitRange.

func validateLimitRange(lr, old *corev1.LimitRange) field.ErrorList {
	var errs field.ErrorList
	types := sets.New[corev1.LimitType]()
	for i := range lr.Spec.Limits {
		item := &lr.Spec.Limits[i]
		p := field.NewPath("spec", "limits").Index(i)
		errs = append(errs, validateLimitType(item.Type, p.Child("type"))...)
		if types.Has(item.Type) {
			errs = append(errs, field.Duplicate(p.Child("type"), item.Type))
		}
		types.Insert(item.Type)

		nameFn := validateResourceName
		if item.Type == corev1.LimitTypePod || item.Type == corev1.LimitTypeContainer {
			nameFn = validateContainerResourceName
		}
		keys := sets.New[corev1.ResourceName]()
		check := func(list corev1.ResourceList, child string) {
			for _, name := range sortedResourceNames(list) {
				errs = append(errs, nameFn(name, p.Child(child).Key(string(name)))...)
				keys.Insert(name)
			}
		}
		check(item.Max, "max")
		check(item.Min, "min")
		if item.Type == corev1.LimitTypePod {
			if len(item.Default) > 0 {
				errs = append(errs, field.Forbidden(p.Child("default"), "may not be specified when `type` is 'Pod'"))
			}
			if len(item.DefaultRequest) > 0 {
				errs = append(errs, field.Forbidden(p.Child("defaultRequest"), "may not be specified when `type` is 'Pod'"))
			}
		} else {
			check(item.Default, "default")
			check(item.DefaultRequest, "defaultRequest")
		}
		if item.Type == corev1.LimitTypePersistentVolumeClaim {
			_, hasMin := item.Min[corev1.ResourceStorage]
			_, hasMax := item.Max[corev1.ResourceStorage]
			if !hasMin && !hasMax {
				errs = append(errs, field.Required(p.Child("limits"), "either minimum or maximum storage value is required, but neither was provided"))
			}
		}
		check(item.MaxLimitRequestRatio, "maxLimitRequestRatio")
		for _, k := range sets.List(keys) {
			errs = append(errs, validateLimitRangeBounds(item, k, p)...)
		}
	}
	return errs
}

func validateLimitType(t corev1.LimitType, fldPath *field.Path) field.ErrorList {
	if errs := qualifiedName(string(t), fldPath); len(errs) > 0 {
		return errs
	}
	switch t {
	case corev1.LimitTypePod, corev1.LimitTypeContainer, corev1.LimitTypePersistentVolumeClaim:
		return nil
	}
	if !containsSlash(string(t)) {
		return field.ErrorList{field.Invalid(fldPath, t, "must be a standard limit type or fully qualified")}
	}
	return nil
}

func validateLimitRangeBounds(item *corev1.LimitRangeItem, k corev1.ResourceName, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	key := string(k)
	minQ, hasMin := item.Min[k]
	maxQ, hasMax := item.Max[k]
	def, hasDef := item.Default[k]
	defReq, hasDefReq := item.DefaultRequest[k]
	ratio, hasRatio := item.MaxLimitRequestRatio[k]
	if hasMin && hasMax && minQ.Cmp(maxQ) > 0 {
		errs = append(errs, field.Invalid(p.Child("min").Key(key), minQ.String(), fmt.Sprintf("min value %s is greater than max value %s", minQ.String(), maxQ.String())))
	}
	if hasDefReq && hasMin && minQ.Cmp(defReq) > 0 {
		errs = append(errs, field.Invalid(p.Child("defaultRequest").Key(key), defReq.String(), fmt.Sprintf("min value %s is greater than default request value %s", minQ.String(), defReq.String())))
	}
	if hasDefReq && hasMax && defReq.Cmp(maxQ) > 0 {
		errs = append(errs, field.Invalid(p.Child("defaultRequest").Key(key), defReq.String(), fmt.Sprintf("default request value %s is greater than max value %s", defReq.String(), maxQ.String())))
	}
	if hasDefReq && hasDef && defReq.Cmp(def) > 0 {
		errs = append(errs, field.Invalid(p.Child("defaultRequest").Key(key), defReq.String(), fmt.Sprintf("default request value %s is greater than default limit value %s", defReq.String(), def.String())))
	}
	if hasDef && hasMin && minQ.Cmp(def) > 0 {
		errs = append(errs, field.Invalid(p.Child("default").Key(key), minQ.String(), fmt.Sprintf("min value %s is greater than default value %s", minQ.String(), def.String())))
	}
	if hasDef && hasMax && def.Cmp(maxQ) > 0 {
		errs = append(errs, field.Invalid(p.Child("default").Key(key), maxQ.String(), fmt.Sprintf("default value %s is greater than max value %s", def.String(), maxQ.String())))
	}
	if hasRatio && ratio.Cmp(*resource.NewQuantity(1, resource.DecimalSI)) < 0 {
		errs = append(errs, field.Invalid(p.Child("maxLimitRequestRatio").Key(key), ratio.String(), fmt.Sprintf("ratio %s is less than 1", ratio.String())))
	}
	if hasRatio && hasMin && hasMax && minQ.Sign() > 0 {
		limit := float64(maxQ.MilliValue()) / float64(minQ.MilliValue())
		if float64(ratio.MilliValue())/1000 > limit {
			errs = append(errs, field.Invalid(p.Child("maxLimitRequestRatio").Key(key), ratio.String(), fmt.Sprintf("ratio %s is greater than max/min = %f", ratio.String(), limit)))
		}
	}
	if !isOvercommitAllowed(k) && hasDef && hasDefReq && def.Cmp(defReq) != 0 {
		errs = append(errs, field.Invalid(p.Child("defaultRequest").Key(key), defReq.String(), fmt.Sprintf("default value %s must equal to defaultRequest value %s in %s", def.String(), defReq.String(), k)))
	}
	return errs
}

// ReplicationController and PodTemplate.

func validateReplicationController(rc, old *corev1.ReplicationController) field.ErrorList {
	specPath := field.NewPath("spec")
	errs := nonNegative(int64(rc.Spec.MinReadySeconds), specPath.Child("minReadySeconds"))
	selector := labels.Set(rc.Spec.Selector).AsSelector()
	if selector.Empty() {
		errs = append(errs, field.Required(specPath.Child("selector"), ""))
	}
	errs = append(errs, nonNegative(int64(deref(rc.Spec.Replicas)), specPath.Child("replicas"))...)
	t := rc.Spec.Template
	tp := specPath.Child("template")
	if t == nil {
		return append(errs, field.Required(tp, ""))
	}
	if !selector.Empty() && !selector.Matches(labels.Set(t.Labels)) {
		errs = append(errs, field.Invalid(tp.Child("metadata", "labels"), t.Labels, "`selector` does not match template `labels`"))
	}
	errs = append(errs, validatePodTemplateSpec(t, tp, podSpecOpts{})...)
	errs = append(errs, validateAlwaysRestart(&t.Spec, tp.Child("spec"), "ReplicationController")...)
	return errs
}

// validateAlwaysRestart: controllers that keep pods running need
// restartPolicy Always and no activeDeadlineSeconds.
func validateAlwaysRestart(spec *corev1.PodSpec, fldPath *field.Path, kind string) field.ErrorList {
	var errs field.ErrorList
	if spec.RestartPolicy != corev1.RestartPolicyAlways {
		errs = append(errs, field.NotSupported(fldPath.Child("restartPolicy"), spec.RestartPolicy, []corev1.RestartPolicy{corev1.RestartPolicyAlways}))
	}
	if spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Forbidden(fldPath.Child("activeDeadlineSeconds"), fmt.Sprintf("activeDeadlineSeconds in %s is not Supported", kind)))
	}
	return errs
}

func validateReplicationControllerStatus(rc, old *corev1.ReplicationController) field.ErrorList {
	s := rc.Status
	return validateReplicaCounts(field.NewPath("status"), s.Replicas, s.ObservedGeneration, map[string]int32{
		"fullyLabeledReplicas": s.FullyLabeledReplicas, "readyReplicas": s.ReadyReplicas, "availableReplicas": s.AvailableReplicas,
	}, s.ReadyReplicas, s.AvailableReplicas)
}

// validateReplicaCounts checks workload status counters: none negative, none
// above replicas, and available not above ready.
func validateReplicaCounts(fldPath *field.Path, replicas int32, observedGeneration int64, counts map[string]int32, ready, available int32) field.ErrorList {
	errs := nonNegative(int64(replicas), fldPath.Child("replicas"))
	errs = append(errs, nonNegative(observedGeneration, fldPath.Child("observedGeneration"))...)
	for _, name := range sortedKeys(counts) {
		errs = append(errs, nonNegative(int64(counts[name]), fldPath.Child(name))...)
	}
	for _, name := range sortedKeys(counts) {
		if counts[name] > replicas {
			errs = append(errs, field.Invalid(fldPath.Child(name), counts[name], "cannot be greater than status.replicas"))
		}
	}
	if available > ready {
		errs = append(errs, field.Invalid(fldPath.Child("availableReplicas"), available, "cannot be greater than readyReplicas"))
	}
	return errs
}

func validatePodTemplate(pt, old *corev1.PodTemplate) field.ErrorList {
	return validatePodTemplateSpec(&pt.Template, field.NewPath("template"), podSpecOpts{})
}
