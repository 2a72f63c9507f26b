package validation

import (
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// validJob is a Job after the strategy generated its selector and labels.
func validJob() *batchv1.Job {
	meta := objectMeta("default", "pi")
	uid := string(meta.UID)
	labels := map[string]string{
		batchv1.ControllerUidLabel: uid, batchv1.JobNameLabel: "pi",
		"controller-uid": uid, "job-name": "pi",
	}
	tmpl := podTemplate(labels)
	tmpl.Spec.RestartPolicy = corev1.RestartPolicyNever
	return &batchv1.Job{ObjectMeta: meta, Spec: batchv1.JobSpec{
		Parallelism: ptr[int32](1), Completions: ptr[int32](1), BackoffLimit: ptr[int32](6),
		CompletionMode: ptr(batchv1.NonIndexedCompletion), Suspend: ptr(false),
		PodReplacementPolicy: ptr(batchv1.TerminatingOrFailed), ManualSelector: nil,
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{batchv1.ControllerUidLabel: uid}},
		Template: tmpl,
	}}
}

func TestJob(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*batchv1.Job)
		wants  []want
	}{
		{"valid", func(*batchv1.Job) {}, nil},
		{"restartPolicy Always", func(j *batchv1.Job) { j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyAlways },
			[]want{required("spec.template.spec.restartPolicy").with(`valid values: "OnFailure", "Never"`)}},
		{"negative counts", func(j *batchv1.Job) {
			j.Spec.Parallelism, j.Spec.BackoffLimit, j.Spec.ActiveDeadlineSeconds = ptr[int32](-1), ptr[int32](-1), ptr[int64](-1)
		}, []want{invalid("spec.parallelism"), invalid("spec.backoffLimit"), invalid("spec.activeDeadlineSeconds")}},
		{"selector required", func(j *batchv1.Job) { j.Spec.Selector = nil },
			// As upstream: a nil selector also matches nothing.
			[]want{required("spec.selector"), invalid("spec.template.metadata.labels")}},
		{"generated labels missing", func(j *batchv1.Job) {
			delete(j.Spec.Template.Labels, batchv1.JobNameLabel)
		}, []want{required("spec.template.metadata.labels[batch.kubernetes.io/job-name]").with("must be 'pi'")}},
		{"manual selector must match template", func(j *batchv1.Job) {
			j.Spec.ManualSelector = ptr(true)
			j.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "pi"}}
		}, []want{invalid("spec.template.metadata.labels").with("`selector` does not match template `labels`")}},
		{"indexed needs completions", func(j *batchv1.Job) {
			j.Spec.CompletionMode = ptr(batchv1.IndexedCompletion)
			j.Spec.Completions = nil
		}, []want{required("spec.completions")}},
		{"backoffLimitPerIndex needs indexed", func(j *batchv1.Job) { j.Spec.BackoffLimitPerIndex = ptr[int32](1) },
			[]want{invalid("spec.backoffLimitPerIndex").with("requires indexed completion mode")}},
		{"indexed pod hostname too long", func(j *batchv1.Job) {
			j.Name = strings.Repeat("j", 62)
			j.Spec.CompletionMode = ptr(batchv1.IndexedCompletion)
			j.Spec.Completions = ptr[int32](10)
			j.Spec.Template.Labels[batchv1.JobNameLabel] = j.Name
			j.Spec.Template.Labels["job-name"] = j.Name
		}, []want{invalid("metadata.name").with("will not able to create pod with invalid DNS label")}},
		{"pod failure policy", func(j *batchv1.Job) {
			j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
				{Action: batchv1.PodFailurePolicyActionFailJob, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
					Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{3, 0, 3},
				}},
				{Action: "Retry"},
			}}
			j.Spec.PodReplacementPolicy = ptr(batchv1.Failed)
		}, []want{
			invalid("spec.podFailurePolicy.rules[0].onExitCodes.values[1]").with("must not be 0 for the In operator"),
			duplicate("spec.podFailurePolicy.rules[0].onExitCodes.values[2]"),
			invalid("spec.podFailurePolicy.rules[0].onExitCodes.values").with("must be ordered"),
			notSupported("spec.podFailurePolicy.rules[1].action"),
			invalid("spec.podFailurePolicy.rules[1]").with("specifying one of OnExitCodes and OnPodConditions is required"),
		}},
		{"pod failure policy needs Never", func(j *batchv1.Job) {
			j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
			j.Spec.PodReplacementPolicy = ptr(batchv1.Failed)
			j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
				Action:          batchv1.PodFailurePolicyActionIgnore,
				OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}},
			}}}
		}, []want{invalid("spec.template.spec.restartPolicy").with(`only "Never" is supported`)}},
		{"success policy needs indexed", func(j *batchv1.Job) {
			j.Spec.SuccessPolicy = &batchv1.SuccessPolicy{Rules: []batchv1.SuccessPolicyRule{{SucceededCount: ptr[int32](1)}}}
		}, []want{invalid("spec.successPolicy").with("requires indexed completion mode")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := validJob()
			tc.mutate(j)
			create(t, j, tc.wants...)
		})
	}

	old := validJob()
	changed := old.DeepCopy()
	changed.Spec.Template.Spec.Containers[0].Image = "registry.example/pi:2"
	changed.Spec.Completions = ptr[int32](2)
	update(t, changed, old, invalid("spec.template").with("field is immutable"), invalid("spec.completions"))
	unsuspended := old.DeepCopy()
	unsuspended.Spec.Suspend = ptr(true)
	unsuspended.Spec.Parallelism = ptr[int32](3)
	update(t, unsuspended, old)

	suspended := old.DeepCopy()
	suspended.Spec.Suspend = ptr(true)
	moved := suspended.DeepCopy()
	moved.Spec.Template.Spec.NodeSelector = map[string]string{"zone": "a"}
	update(t, moved, suspended) // scheduling directives of a never-started suspended job may change
}

func TestJobStatus(t *testing.T) {
	old := validJob()
	old.Status = batchv1.JobStatus{Active: 1, Failed: 2}
	for _, tc := range []struct {
		name   string
		mutate func(*batchv1.Job)
		wants  []want
	}{
		{"progress", func(j *batchv1.Job) { j.Status.Active, j.Status.Failed = 0, 3 }, nil},
		{"failed decreased", func(j *batchv1.Job) { j.Status.Failed = 1 }, []want{invalid("status.failed").with("cannot decrease the failed counter")}},
		{"ready above active", func(j *batchv1.Job) { j.Status.Ready = ptr[int32](2) }, []want{invalid("status.ready")}},
		{"completion time without Complete", func(j *batchv1.Job) { now := metav1.Now(); j.Status.CompletionTime = &now },
			[]want{invalid("status.completionTime").with("no Complete=True condition")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := old.DeepCopy()
			tc.mutate(j)
			statusUpdate(t, j, old, tc.wants...)
		})
	}
}

func validCronJob() *batchv1.CronJob {
	tmpl := podTemplate(nil)
	tmpl.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
	return &batchv1.CronJob{ObjectMeta: objectMeta("default", "nightly"), Spec: batchv1.CronJobSpec{
		Schedule:                   "0 3 * * *",
		ConcurrencyPolicy:          batchv1.AllowConcurrent,
		Suspend:                    ptr(false),
		SuccessfulJobsHistoryLimit: ptr[int32](3),
		FailedJobsHistoryLimit:     ptr[int32](1),
		JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{
			BackoffLimit: ptr[int32](6), CompletionMode: ptr(batchv1.NonIndexedCompletion), Template: tmpl,
		}},
	}}
}

func TestCronJob(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*batchv1.CronJob)
		wants  []want
	}{
		{"valid", func(*batchv1.CronJob) {}, nil},
		{"descriptor", func(c *batchv1.CronJob) { c.Spec.Schedule = "@hourly" }, nil},
		{"schedule required", func(c *batchv1.CronJob) { c.Spec.Schedule = "" }, []want{required("spec.schedule")}},
		{"schedule unparsable", func(c *batchv1.CronJob) { c.Spec.Schedule = "every day" },
			[]want{invalid("spec.schedule").with("expected exactly 5 fields, found 2: [every day]")}},
		{"schedule out of range", func(c *batchv1.CronJob) { c.Spec.Schedule = "61 * * * *" },
			[]want{invalid("spec.schedule").with("end of range (61) above maximum (59): 61")}},
		{"TZ in schedule", func(c *batchv1.CronJob) { c.Spec.Schedule = "TZ=UTC 0 3 * * *" },
			[]want{invalid("spec.schedule").with("cannot use TZ or CRON_TZ in schedule, use timeZone field instead")}},
		{"timeZone", func(c *batchv1.CronJob) { c.Spec.TimeZone = ptr("Europe/Paris") }, nil},
		{"unknown timeZone", func(c *batchv1.CronJob) { c.Spec.TimeZone = ptr("Mars/Olympus") }, []want{invalid("spec.timeZone")}},
		{"empty timeZone", func(c *batchv1.CronJob) { c.Spec.TimeZone = ptr("") },
			[]want{invalid("spec.timeZone").with("timeZone must be nil or non-empty string")}},
		{"local timeZone", func(c *batchv1.CronJob) { c.Spec.TimeZone = ptr("Local") },
			[]want{invalid("spec.timeZone").with("timeZone must be an explicit time zone")}},
		{"concurrencyPolicy", func(c *batchv1.CronJob) { c.Spec.ConcurrencyPolicy = "Sometimes" }, []want{notSupported("spec.concurrencyPolicy")}},
		{"history limits", func(c *batchv1.CronJob) { c.Spec.FailedJobsHistoryLimit = ptr[int32](-1) }, []want{invalid("spec.failedJobsHistoryLimit")}},
		{"name too long", func(c *batchv1.CronJob) { c.Name = strings.Repeat("n", 53) },
			[]want{invalid("metadata.name").with("must be no more than 52 characters")}},
		{"job template selector", func(c *batchv1.CronJob) {
			c.Spec.JobTemplate.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"a": "b"}}
		}, []want{invalid("spec.jobTemplate.spec.selector").with("`selector` will be auto-generated")}},
		{"job template pod", func(c *batchv1.CronJob) {
			c.Spec.JobTemplate.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyAlways
		},
			[]want{required("spec.jobTemplate.spec.template.spec.restartPolicy")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := validCronJob()
			tc.mutate(c)
			create(t, c, tc.wants...)
		})
	}
	// Existing objects keep a TZ= schedule and an over-long name.
	old := validCronJob()
	old.Name = strings.Repeat("n", 60)
	old.Spec.Schedule = "TZ=UTC 0 3 * * *"
	update(t, old.DeepCopy(), old)
}

func TestParseCronSchedule(t *testing.T) {
	for _, tc := range []struct {
		spec, err string
	}{
		{"*/5 * * * *", ""},
		{"0 0 1,15 * mon-fri", ""},
		{"30 2 * jan,jul sun", ""},
		{"? ? ? ? ?", ""},
		{"@every 1h30m", ""},
		{"CRON_TZ=Asia/Tokyo 0 9 * * *", ""},
		{"", "empty spec string"},
		{"* * * *", "expected exactly 5 fields, found 4: [* * * *]"},
		{"* * * * * *", "expected exactly 5 fields, found 6"},
		{"0 24 * * *", "end of range (24) above maximum (23): 24"},
		{"0 0 0 * *", "beginning of range (0) below minimum (1): 0"},
		{"5-1 * * * *", "beginning of range (5) beyond end of range (1): 5-1"},
		{"1-2-3 * * * *", "too many hyphens: 1-2-3"},
		{"*/2/3 * * * *", "too many slashes: */2/3"},
		{"*/0 * * * *", "step of range should be a positive number: */0"},
		{"x * * * *", "failed to parse int from x"},
		{"* * * * 7", "end of range (7) above maximum (6): 7"},
		{"@fortnightly", "unrecognized descriptor: @fortnightly"},
		{"@every soon", "failed to parse duration @every soon"},
		{"TZ=Nowhere/City 0 0 * * *", "provided bad location Nowhere/City"},
	} {
		err := parseCronSchedule(tc.spec)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("parseCronSchedule(%q) = %v; want nil", tc.spec, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("parseCronSchedule(%q) = %v; want error containing %q", tc.spec, err, tc.err)
		}
	}
}
