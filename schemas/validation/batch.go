package validation

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const (
	maxParallelismForIndexedJob        = 100000
	maxFailedIndexesForIndexedJob      = 100_000
	completionsSoftLimit               = 100_000
	parallelismLimitForHighCompletions = 10_000
	maxFailedIndexesForHighCompletions = 10_000
	maxPodFailurePolicyRules           = 20
	maxPodFailurePolicyExitCodes       = 255
	maxPodFailurePolicyConditions      = 20
	maxManagedByLength                 = 63
	maxSuccessPolicyRules              = 20
	maxSucceededIndexesLength          = 64 * 1024
	// The cronjob controller appends an 11-character suffix to job names.
	maxCronJobNameLength = validation.DNS1035LabelMaxLength - 11

	// The unprefixed pod labels the job controller has always set.
	legacyControllerUIDLabel = "controller-uid"
	legacyJobNameLabel       = "job-name"
)

// Job.

func validateJob(job, old *batchv1.Job) field.ErrorList {
	specPath := field.NewPath("spec")
	var errs field.ErrorList
	if old == nil {
		errs = append(errs, validateGeneratedSelector(job, true)...)
		if deref(job.Spec.CompletionMode) == batchv1.IndexedCompletion && deref(job.Spec.Completions) > 0 {
			// Pod hostnames get a "-<index>" suffix; the largest must be a label.
			host := fmt.Sprintf("%s-%d", job.Name, *job.Spec.Completions-1)
			if msgs := validation.IsDNS1123Label(host); len(msgs) > 0 {
				errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), job.Name, fmt.Sprintf("will not able to create pod with invalid DNS label: %s", host)))
			}
		}
	}
	errs = append(errs, validateJobSpec(&job.Spec, specPath)...)
	if job.Spec.Selector == nil {
		errs = append(errs, field.Required(specPath.Child("selector"), ""))
	} else {
		errs = append(errs, labelSelector(job.Spec.Selector, specPath.Child("selector"))...)
	}
	if sel, err := metav1.LabelSelectorAsSelector(job.Spec.Selector); err == nil && !sel.Matches(labels.Set(job.Spec.Template.Labels)) {
		errs = append(errs, field.Invalid(specPath.Child("template", "metadata", "labels"), job.Spec.Template.Labels, "`selector` does not match template `labels`"))
	}
	if old == nil {
		return errs
	}
	return append(errs, validateJobSpecUpdate(&job.Spec, &old.Spec, old, specPath)...)
}

// validateGeneratedSelector: unless manualSelector is set, the Job strategy
// generates the selector and pod labels from the Job's uid and name; they
// must still be in place.
func validateGeneratedSelector(job *batchv1.Job, requirePrefixed bool) field.ErrorList {
	if deref(job.Spec.ManualSelector) || job.Spec.Selector == nil {
		return nil
	}
	var errs field.ErrorList
	if job.UID == "" {
		errs = append(errs, field.Required(field.NewPath("metadata", "uid"), ""))
	}
	metaPath := field.NewPath("spec", "template", "metadata")
	expected := map[string]string{
		legacyControllerUIDLabel: string(job.UID),
		legacyJobNameLabel:       job.Name,
	}
	if requirePrefixed {
		expected[batchv1.ControllerUidLabel] = string(job.UID)
		expected[batchv1.JobNameLabel] = job.Name
	}
	for _, k := range []string{legacyControllerUIDLabel, legacyJobNameLabel, batchv1.ControllerUidLabel, batchv1.JobNameLabel} {
		want, ok := expected[k]
		if !ok {
			continue
		}
		got, found := job.Spec.Template.Labels[k]
		switch {
		case !found:
			errs = append(errs, field.Required(metaPath.Child("labels").Key(k), fmt.Sprintf("must be '%s'", want)))
		case got != want:
			errs = append(errs, field.Invalid(metaPath.Child("labels").Key(k), got, fmt.Sprintf("must be '%s'", want)))
		}
	}
	if sel, err := metav1.LabelSelectorAsSelector(job.Spec.Selector); err == nil && !sel.Matches(labels.Set(expected)) {
		errs = append(errs, field.Invalid(field.NewPath("spec", "selector"), job.Spec.Selector, "`selector` not auto-generated"))
	}
	return errs
}

func validateJobSpec(spec *batchv1.JobSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, f := range []struct {
		name  string
		value *int32
	}{
		{"parallelism", spec.Parallelism}, {"completions", spec.Completions},
		{"backoffLimit", spec.BackoffLimit}, {"ttlSecondsAfterFinished", spec.TTLSecondsAfterFinished},
		{"backoffLimitPerIndex", spec.BackoffLimitPerIndex}, {"maxFailedIndexes", spec.MaxFailedIndexes},
	} {
		if f.value != nil {
			errs = append(errs, nonNegative(int64(*f.value), fldPath.Child(f.name))...)
		}
	}
	if spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, nonNegative(*spec.ActiveDeadlineSeconds, fldPath.Child("activeDeadlineSeconds"))...)
	}
	if spec.MaxFailedIndexes != nil && spec.BackoffLimitPerIndex == nil {
		errs = append(errs, field.Required(fldPath.Child("backoffLimitPerIndex"), "when maxFailedIndexes is specified"))
	}
	if spec.ManagedBy != nil {
		errs = append(errs, validation.IsDomainPrefixedPath(fldPath.Child("managedBy"), *spec.ManagedBy)...)
		if len(*spec.ManagedBy) > maxManagedByLength {
			errs = append(errs, field.TooLong(fldPath.Child("managedBy"), "", maxManagedByLength))
		}
	}
	indexed := deref(spec.CompletionMode) == batchv1.IndexedCompletion
	if spec.CompletionMode != nil {
		errs = append(errs, oneOf(fldPath.Child("completionMode"), *spec.CompletionMode, batchv1.NonIndexedCompletion, batchv1.IndexedCompletion)...)
	}
	if indexed {
		if spec.Completions == nil {
			errs = append(errs, field.Required(fldPath.Child("completions"), fmt.Sprintf("when completion mode is %s", batchv1.IndexedCompletion)))
		}
		if p := deref(spec.Parallelism); p > maxParallelismForIndexedJob {
			errs = append(errs, field.Invalid(fldPath.Child("parallelism"), p, fmt.Sprintf("must be less than or equal to %d when completion mode is %s", maxParallelismForIndexedJob, batchv1.IndexedCompletion)))
		}
		if spec.Completions != nil && spec.MaxFailedIndexes != nil && *spec.MaxFailedIndexes > *spec.Completions {
			errs = append(errs, field.Invalid(fldPath.Child("maxFailedIndexes"), *spec.MaxFailedIndexes, "must be less than or equal to completions"))
		}
		if m := deref(spec.MaxFailedIndexes); m > maxFailedIndexesForIndexedJob {
			errs = append(errs, field.Invalid(fldPath.Child("maxFailedIndexes"), m, fmt.Sprintf("must be less than or equal to %d", maxFailedIndexesForIndexedJob)))
		}
		if deref(spec.Completions) > completionsSoftLimit && spec.BackoffLimitPerIndex != nil {
			if spec.MaxFailedIndexes == nil {
				errs = append(errs, field.Required(fldPath.Child("maxFailedIndexes"), fmt.Sprintf("must be specified when completions is above %d", completionsSoftLimit)))
			}
			if p := deref(spec.Parallelism); p > parallelismLimitForHighCompletions {
				errs = append(errs, field.Invalid(fldPath.Child("parallelism"), p, fmt.Sprintf("must be less than or equal to %d when completions are above %d and used with backoff limit per index", parallelismLimitForHighCompletions, completionsSoftLimit)))
			}
			if m := deref(spec.MaxFailedIndexes); m > maxFailedIndexesForHighCompletions {
				errs = append(errs, field.Invalid(fldPath.Child("maxFailedIndexes"), m, fmt.Sprintf("must be less than or equal to %d when completions are above %d and used with backoff limit per index", maxFailedIndexesForHighCompletions, completionsSoftLimit)))
			}
		}
	} else {
		if spec.BackoffLimitPerIndex != nil {
			errs = append(errs, field.Invalid(fldPath.Child("backoffLimitPerIndex"), *spec.BackoffLimitPerIndex, "requires indexed completion mode"))
		}
		if spec.MaxFailedIndexes != nil {
			errs = append(errs, field.Invalid(fldPath.Child("maxFailedIndexes"), *spec.MaxFailedIndexes, "requires indexed completion mode"))
		}
	}
	if spec.PodFailurePolicy != nil {
		errs = append(errs, validatePodFailurePolicy(spec, fldPath.Child("podFailurePolicy"))...)
	}
	if spec.SuccessPolicy != nil {
		if !indexed {
			errs = append(errs, field.Invalid(fldPath.Child("successPolicy"), *spec.SuccessPolicy, "requires indexed completion mode"))
		} else {
			errs = append(errs, validateSuccessPolicy(spec, fldPath.Child("successPolicy"))...)
		}
	}
	if rp := spec.PodReplacementPolicy; rp != nil {
		if spec.PodFailurePolicy != nil {
			errs = append(errs, oneOf(fldPath.Child("podReplacementPolicy"), *rp, batchv1.Failed)...)
		} else {
			errs = append(errs, oneOf(fldPath.Child("podReplacementPolicy"), *rp, batchv1.Failed, batchv1.TerminatingOrFailed)...)
		}
	}
	errs = append(errs, validatePodTemplateSpec(&spec.Template, fldPath.Child("template"), podSpecOpts{})...)
	rpPath := fldPath.Child("template", "spec", "restartPolicy")
	switch policy := spec.Template.Spec.RestartPolicy; {
	case policy == corev1.RestartPolicyAlways || policy == "":
		errs = append(errs, field.Required(rpPath, fmt.Sprintf("valid values: %q, %q", corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever)))
	case policy != corev1.RestartPolicyOnFailure && policy != corev1.RestartPolicyNever:
		errs = append(errs, field.NotSupported(rpPath, policy, []corev1.RestartPolicy{corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever}))
	case spec.PodFailurePolicy != nil && policy != corev1.RestartPolicyNever:
		errs = append(errs, field.Invalid(rpPath, policy, fmt.Sprintf("only %q is supported when podFailurePolicy is specified", corev1.RestartPolicyNever)))
	}
	return errs
}

var podFailurePolicyActions = []batchv1.PodFailurePolicyAction{
	batchv1.PodFailurePolicyActionCount, batchv1.PodFailurePolicyActionFailIndex,
	batchv1.PodFailurePolicyActionFailJob, batchv1.PodFailurePolicyActionIgnore,
}

func validatePodFailurePolicy(spec *batchv1.JobSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	rulesPath := fldPath.Child("rules")
	if len(spec.PodFailurePolicy.Rules) > maxPodFailurePolicyRules {
		errs = append(errs, field.TooMany(rulesPath, len(spec.PodFailurePolicy.Rules), maxPodFailurePolicyRules))
	}
	containers := sets.New[string]()
	for _, c := range spec.Template.Spec.Containers {
		containers.Insert(c.Name)
	}
	for _, c := range spec.Template.Spec.InitContainers {
		containers.Insert(c.Name)
	}
	for i, rule := range spec.PodFailurePolicy.Rules {
		p := rulesPath.Index(i)
		actionPath := p.Child("action")
		switch {
		case rule.Action == "":
			errs = append(errs, field.Required(actionPath, fmt.Sprintf("valid values: %q", podFailurePolicyActions)))
		case rule.Action == batchv1.PodFailurePolicyActionFailIndex:
			if spec.BackoffLimitPerIndex == nil {
				errs = append(errs, field.Invalid(actionPath, rule.Action, "requires the backoffLimitPerIndex to be set"))
			}
		default:
			errs = append(errs, oneOf(actionPath, rule.Action, podFailurePolicyActions...)...)
		}
		if oe := rule.OnExitCodes; oe != nil {
			errs = append(errs, validateOnExitCodes(oe, containers, p.Child("onExitCodes"))...)
		}
		if len(rule.OnPodConditions) > maxPodFailurePolicyConditions {
			errs = append(errs, field.TooMany(p.Child("onPodConditions"), len(rule.OnPodConditions), maxPodFailurePolicyConditions))
		}
		for j, pattern := range rule.OnPodConditions {
			cp := p.Child("onPodConditions").Index(j)
			errs = append(errs, qualifiedName(string(pattern.Type), cp.Child("type"))...)
			errs = append(errs, requiredOneOf(cp.Child("status"), pattern.Status, corev1.ConditionFalse, corev1.ConditionTrue, corev1.ConditionUnknown)...)
		}
		switch {
		case rule.OnExitCodes != nil && len(rule.OnPodConditions) > 0:
			errs = append(errs, field.Invalid(p, field.OmitValueType{}, "specifying both OnExitCodes and OnPodConditions is not supported"))
		case rule.OnExitCodes == nil && len(rule.OnPodConditions) == 0:
			errs = append(errs, field.Invalid(p, field.OmitValueType{}, "specifying one of OnExitCodes and OnPodConditions is required"))
		}
	}
	return errs
}

func validateOnExitCodes(oe *batchv1.PodFailurePolicyOnExitCodesRequirement, containers sets.Set[string], fldPath *field.Path) field.ErrorList {
	errs := requiredOneOf(fldPath.Child("operator"), oe.Operator, batchv1.PodFailurePolicyOnExitCodesOpIn, batchv1.PodFailurePolicyOnExitCodesOpNotIn)
	if oe.ContainerName != nil && !containers.Has(*oe.ContainerName) {
		errs = append(errs, field.Invalid(fldPath.Child("containerName"), *oe.ContainerName, "must be one of the container or initContainer names in the pod template"))
	}
	valuesPath := fldPath.Child("values")
	if len(oe.Values) == 0 {
		errs = append(errs, field.Invalid(valuesPath, oe.Values, "at least one value is required"))
	} else if len(oe.Values) > maxPodFailurePolicyExitCodes {
		errs = append(errs, field.TooMany(valuesPath, len(oe.Values), maxPodFailurePolicyExitCodes))
	}
	seen := sets.New[int32]()
	ordered := true
	for j, v := range oe.Values {
		if oe.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn && v == 0 {
			errs = append(errs, field.Invalid(valuesPath.Index(j), v, "must not be 0 for the In operator"))
		}
		if seen.Has(v) {
			errs = append(errs, field.Duplicate(valuesPath.Index(j), v))
		}
		seen.Insert(v)
		if j > 0 && oe.Values[j-1] > v {
			ordered = false
		}
	}
	if !ordered {
		errs = append(errs, field.Invalid(valuesPath, oe.Values, "must be ordered"))
	}
	return errs
}

func validateSuccessPolicy(spec *batchv1.JobSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	rulesPath := fldPath.Child("rules")
	rules := spec.SuccessPolicy.Rules
	if len(rules) == 0 {
		errs = append(errs, field.Required(rulesPath, "at least one rules must be specified when the successPolicy is specified"))
	}
	if len(rules) > maxSuccessPolicyRules {
		errs = append(errs, field.TooMany(rulesPath, len(rules), maxSuccessPolicyRules))
	}
	completions := deref(spec.Completions)
	for i, rule := range rules {
		p := rulesPath.Index(i)
		if rule.SucceededCount == nil && rule.SucceededIndexes == nil {
			errs = append(errs, field.Required(p, "at least one of succeededCount or succeededIndexes must be specified"))
		}
		var total int32
		if rule.SucceededIndexes != nil {
			ip := p.Child("succeededIndexes")
			if len(*rule.SucceededIndexes) > maxSucceededIndexesLength {
				errs = append(errs, field.TooLong(ip, "", maxSucceededIndexesLength))
			}
			var err error
			if total, err = validateIndexesFormat(*rule.SucceededIndexes, completions); err != nil {
				errs = append(errs, field.Invalid(ip, *rule.SucceededIndexes, fmt.Sprintf("error parsing succeededIndexes: %s", err.Error())))
			}
		}
		if c := rule.SucceededCount; c != nil {
			cp := p.Child("succeededCount")
			errs = append(errs, nonNegative(int64(*c), cp)...)
			if *c > completions {
				errs = append(errs, field.Invalid(cp, *c, fmt.Sprintf("must be less than or equal to %d (the number of specified completions)", completions)))
			}
			if rule.SucceededIndexes != nil && *c > total {
				errs = append(errs, field.Invalid(cp, *c, fmt.Sprintf("must be less than or equal to %d (the number of indexes in the specified succeededIndexes field)", total)))
			}
		}
	}
	return errs
}

// validateIndexesFormat parses "1,3-5,7" and returns how many indexes it holds.
func validateIndexesFormat(indexes string, completions int32) (int32, error) {
	if indexes == "" {
		return 0, nil
	}
	var last *int32
	var total int32
	for _, interval := range strings.Split(indexes, ",") {
		limits := strings.Split(interval, "-")
		if len(limits) > 2 {
			return 0, fmt.Errorf("the fragment %q violates the requirement that an index interval can have at most two parts separated by '-'", interval)
		}
		var bounds [2]int32
		for i, l := range limits {
			n, err := strconv.Atoi(l)
			if err != nil {
				return 0, fmt.Errorf("cannot convert string to integer for index: %q", l)
			}
			if n >= int(completions) {
				return 0, fmt.Errorf("too large index: %q", l)
			}
			bounds[i] = int32(n)
		}
		x, y := bounds[0], bounds[0]
		if len(limits) == 2 {
			y = bounds[1]
			if x >= y {
				return 0, fmt.Errorf("non-increasing order, previous: %d, current: %d", x, y)
			}
		}
		if last != nil && *last >= x {
			return 0, fmt.Errorf("non-increasing order, previous: %d, current: %d", *last, x)
		}
		total += y - x + 1
		last = &y
	}
	return total, nil
}

func validateJobSpecUpdate(spec, old *batchv1.JobSpec, oldJob *batchv1.Job, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	indexed := deref(spec.CompletionMode) == batchv1.IndexedCompletion
	if !indexed || spec.Completions == nil {
		errs = append(errs, immutable(spec.Completions, old.Completions, fldPath.Child("completions"))...)
	} else if !apiequality.Semantic.DeepEqual(spec.Completions, old.Completions) && *spec.Completions != deref(spec.Parallelism) {
		// Elastic indexed jobs: completions change together with parallelism.
		errs = append(errs, field.Invalid(fldPath.Child("completions"), *spec.Completions, "can only be modified in tandem with spec.parallelism"))
	}
	errs = append(errs, immutable(spec.Selector, old.Selector, fldPath.Child("selector"))...)
	oldTemplate := &old.Template
	if deref(old.Suspend) && oldJob.Status.StartTime == nil {
		// A suspended Job that never started may still change where its
		// pods will be scheduled.
		oldTemplate = old.Template.DeepCopy()
		if spec.Template.Spec.Affinity == nil {
			if a := oldTemplate.Spec.Affinity; a != nil {
				a.NodeAffinity = nil
				if *a == (corev1.Affinity{}) {
					oldTemplate.Spec.Affinity = nil
				}
			}
		} else if oldTemplate.Spec.Affinity == nil {
			oldTemplate.Spec.Affinity = &corev1.Affinity{NodeAffinity: spec.Template.Spec.Affinity.NodeAffinity}
		} else {
			oldTemplate.Spec.Affinity.NodeAffinity = spec.Template.Spec.Affinity.NodeAffinity
		}
		oldTemplate.Spec.NodeSelector = spec.Template.Spec.NodeSelector
		oldTemplate.Spec.Tolerations = spec.Template.Spec.Tolerations
		oldTemplate.Annotations = spec.Template.Annotations
		oldTemplate.Labels = spec.Template.Labels
		oldTemplate.Spec.SchedulingGates = spec.Template.Spec.SchedulingGates
	}
	errs = append(errs, immutable(spec.Template, *oldTemplate, fldPath.Child("template"))...)
	for _, f := range []struct {
		name     string
		new, old any
	}{
		{"completionMode", spec.CompletionMode, old.CompletionMode},
		{"podFailurePolicy", spec.PodFailurePolicy, old.PodFailurePolicy},
		{"backoffLimitPerIndex", spec.BackoffLimitPerIndex, old.BackoffLimitPerIndex},
		{"managedBy", spec.ManagedBy, old.ManagedBy},
		{"successPolicy", spec.SuccessPolicy, old.SuccessPolicy},
	} {
		errs = append(errs, immutable(f.new, f.old, fldPath.Child(f.name))...)
	}
	return errs
}

func jobCondition(job *batchv1.Job, t batchv1.JobConditionType) bool {
	for _, c := range job.Status.Conditions {
		if c.Type == t && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// validateJobStatus checks updates through jobs/status.
func validateJobStatus(job, old *batchv1.Job) field.ErrorList {
	p := field.NewPath("status")
	s := job.Status
	errs := nonNegative(int64(s.Active), p.Child("active"))
	errs = append(errs, nonNegative(int64(s.Succeeded), p.Child("succeeded"))...)
	errs = append(errs, nonNegative(int64(s.Failed), p.Child("failed"))...)
	if s.Ready != nil {
		errs = append(errs, nonNegative(int64(*s.Ready), p.Child("ready"))...)
		if *s.Ready > s.Active {
			errs = append(errs, field.Invalid(p.Child("ready"), *s.Ready, "cannot set more ready pods than active"))
		}
	}
	if s.Terminating != nil {
		errs = append(errs, nonNegative(int64(*s.Terminating), p.Child("terminating"))...)
	}
	if u := s.UncountedTerminatedPods; u != nil {
		seen := sets.New[types.UID]()
		for _, list := range []struct {
			name string
			uids []types.UID
		}{{"succeeded", u.Succeeded}, {"failed", u.Failed}} {
			for i, uid := range list.uids {
				up := p.Child("uncountedTerminatedPods", list.name).Index(i)
				switch {
				case uid == "":
					errs = append(errs, field.Invalid(up, uid, "must not be empty"))
				case seen.Has(uid):
					errs = append(errs, field.Duplicate(up, uid))
				}
				seen.Insert(uid)
			}
		}
	}
	complete, failed := jobCondition(job, batchv1.JobComplete), jobCondition(job, batchv1.JobFailed)
	if complete && failed {
		errs = append(errs, field.Invalid(p.Child("conditions"), field.OmitValueType{}, "cannot set Complete=True and Failed=true conditions"))
	}
	if s.CompletionTime != nil && !complete {
		errs = append(errs, field.Invalid(p.Child("completionTime"), s.CompletionTime, "cannot set completionTime when there is no Complete=True condition"))
	}
	if s.StartTime != nil && s.CompletionTime != nil && s.CompletionTime.Before(s.StartTime) {
		errs = append(errs, field.Invalid(p.Child("completionTime"), s.CompletionTime, "completionTime cannot be set before startTime"))
	}
	if (complete || failed) && s.Active > 0 {
		errs = append(errs, field.Invalid(p.Child("active"), s.Active, "active>0 is invalid for finished job"))
	}
	if c := job.Spec.Completions; c != nil && deref(job.Spec.CompletionMode) == batchv1.IndexedCompletion {
		if _, err := validateIndexesFormat(s.CompletedIndexes, *c); err != nil {
			errs = append(errs, field.Invalid(p.Child("completedIndexes"), s.CompletedIndexes, fmt.Sprintf("error parsing completedIndexes: %s", err.Error())))
		}
	} else if s.CompletedIndexes != "" {
		errs = append(errs, field.Invalid(p.Child("completedIndexes"), s.CompletedIndexes, "cannot set non-empty completedIndexes when non-indexed completion mode"))
	}
	for _, t := range []batchv1.JobConditionType{batchv1.JobFailed, batchv1.JobComplete, batchv1.JobFailureTarget} {
		if jobCondition(old, t) && !jobCondition(job, t) {
			errs = append(errs, field.Invalid(p.Child("conditions"), field.OmitValueType{}, fmt.Sprintf("cannot disable the terminal %s=True condition", t)))
		}
	}
	if s.Failed < old.Status.Failed {
		errs = append(errs, field.Invalid(p.Child("failed"), s.Failed, "cannot decrease the failed counter"))
	}
	if s.Succeeded < old.Status.Succeeded {
		errs = append(errs, field.Invalid(p.Child("succeeded"), s.Succeeded, "cannot decrease the succeeded counter"))
	}
	if s.CompletionTime != nil && old.Status.CompletionTime != nil && !s.CompletionTime.Equal(old.Status.CompletionTime) {
		errs = append(errs, field.Invalid(p.Child("completionTime"), s.CompletionTime, "completionTime cannot be mutated"))
	}
	return errs
}

// CronJob.

func validateCronJob(cj, old *batchv1.CronJob) field.ErrorList {
	specPath := field.NewPath("spec")
	spec := &cj.Spec
	var errs field.ErrorList
	if old == nil && len(cj.Name) > maxCronJobNameLength {
		errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), cj.Name, fmt.Sprintf("must be no more than %d characters", maxCronJobNameLength)))
	}
	schedPath := specPath.Child("schedule")
	if spec.Schedule == "" {
		errs = append(errs, field.Required(schedPath, ""))
	} else {
		if err := parseCronSchedule(spec.Schedule); err != nil {
			errs = append(errs, field.Invalid(schedPath, spec.Schedule, err.Error()))
		}
		// TZ in the schedule is only tolerated on objects that already had it.
		allowTZ := old != nil && strings.Contains(old.Spec.Schedule, "TZ")
		switch {
		case allowTZ && strings.Contains(spec.Schedule, "TZ") && spec.TimeZone != nil:
			errs = append(errs, field.Invalid(schedPath, spec.Schedule, "cannot use both timeZone field and TZ or CRON_TZ in schedule"))
		case !allowTZ && strings.Contains(spec.Schedule, "TZ"):
			errs = append(errs, field.Invalid(schedPath, spec.Schedule, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"))
		}
	}
	if spec.StartingDeadlineSeconds != nil {
		errs = append(errs, nonNegative(*spec.StartingDeadlineSeconds, specPath.Child("startingDeadlineSeconds"))...)
	}
	if old == nil || deref(old.Spec.TimeZone) != deref(spec.TimeZone) || (old.Spec.TimeZone == nil) != (spec.TimeZone == nil) {
		errs = append(errs, validateTimeZone(spec.TimeZone, specPath.Child("timeZone"))...)
	}
	errs = append(errs, requiredOneOf(specPath.Child("concurrencyPolicy"), spec.ConcurrencyPolicy,
		batchv1.AllowConcurrent, batchv1.ForbidConcurrent, batchv1.ReplaceConcurrent)...)
	jt := specPath.Child("jobTemplate")
	errs = append(errs, metav1validation.ValidateLabels(spec.JobTemplate.Labels, jt.Child("metadata", "labels"))...)
	errs = append(errs, apimachineryvalidation.ValidateAnnotations(spec.JobTemplate.Annotations, jt.Child("metadata", "annotations"))...)
	errs = append(errs, validateJobSpec(&spec.JobTemplate.Spec, jt.Child("spec"))...)
	if spec.JobTemplate.Spec.Selector != nil {
		errs = append(errs, field.Invalid(jt.Child("spec", "selector"), spec.JobTemplate.Spec.Selector, "`selector` will be auto-generated"))
	}
	if deref(spec.JobTemplate.Spec.ManualSelector) {
		errs = append(errs, field.NotSupported(jt.Child("spec", "manualSelector"), spec.JobTemplate.Spec.ManualSelector, []string{"nil", "false"}))
	}
	if spec.SuccessfulJobsHistoryLimit != nil {
		errs = append(errs, nonNegative(int64(*spec.SuccessfulJobsHistoryLimit), specPath.Child("successfulJobsHistoryLimit"))...)
	}
	if spec.FailedJobsHistoryLimit != nil {
		errs = append(errs, nonNegative(int64(*spec.FailedJobsHistoryLimit), specPath.Child("failedJobsHistoryLimit"))...)
	}
	return errs
}

// validTimeZoneCharacters follows https://data.iana.org/time-zones/theory.html#naming,
// tolerating digits and '+' for legacy names.
var validTimeZoneCharacters = regexp.MustCompile(`^[A-Za-z\.\-_0-9+]{1,14}$`)

func validateTimeZone(tz *string, fldPath *field.Path) field.ErrorList {
	if tz == nil {
		return nil
	}
	if *tz == "" {
		return field.ErrorList{field.Invalid(fldPath, *tz, "timeZone must be nil or non-empty string")}
	}
	for _, part := range strings.Split(*tz, "/") {
		if part == "." || part == ".." || strings.HasPrefix(part, "-") || !validTimeZoneCharacters.MatchString(part) {
			return field.ErrorList{field.Invalid(fldPath, *tz, fmt.Sprintf("unknown time zone %s", *tz))}
		}
	}
	var errs field.ErrorList
	if strings.EqualFold(*tz, "Local") {
		errs = append(errs, field.Invalid(fldPath, *tz, "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"))
	}
	if _, err := time.LoadLocation(*tz); err != nil {
		errs = append(errs, field.Invalid(fldPath, *tz, err.Error()))
	}
	return errs
}
