package printers

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func appsGK(kind string) schema.GroupKind { return schema.GroupKind{Group: "apps", Kind: kind} }

func template(names ...string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: containers(names...)}}
}

var webSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}

func TestDeploymentRow(t *testing.T) {
	runRows(t, appsGK("Deployment"), []rowCase{
		{
			name: "rolling",
			obj: &appsv1.Deployment{
				ObjectMeta: meta("web"),
				Spec:       appsv1.DeploymentSpec{Replicas: ptrTo(int32(3)), Selector: webSelector, Template: template("web", "proxy")},
				Status:     appsv1.DeploymentStatus{ReadyReplicas: 2, UpdatedReplicas: 1, AvailableReplicas: 2},
			},
			want: []any{"web", "2/3", int64(1), int64(2), "90m", "web,proxy", "web:1,proxy:1", "app=web"},
		},
		{
			name: "nil selector and replicas",
			obj:  &appsv1.Deployment{ObjectMeta: meta("d")},
			want: []any{"d", "0/0", int64(0), int64(0), "90m", "", "", ""},
		},
		{
			name: "invalid selector",
			obj: &appsv1.Deployment{ObjectMeta: meta("d"), Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{
				MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "a", Operator: "Bogus"}},
			}}},
			want: []any{"d", "0/0", int64(0), int64(0), "90m", "", "", "<invalid>"},
		},
	})
}

func TestReplicaSetRow(t *testing.T) {
	runRows(t, appsGK("ReplicaSet"), []rowCase{
		{
			name: "scaled",
			obj: &appsv1.ReplicaSet{
				ObjectMeta: meta("web-5d"),
				Spec:       appsv1.ReplicaSetSpec{Replicas: ptrTo(int32(2)), Selector: webSelector, Template: template("web")},
				Status:     appsv1.ReplicaSetStatus{Replicas: 2, ReadyReplicas: 1},
			},
			want: []any{"web-5d", int64(2), int64(2), int64(1), "90m", "web", "web:1", "app=web"},
		},
		{"empty", &appsv1.ReplicaSet{ObjectMeta: meta("rs")}, []any{"rs", int64(0), int64(0), int64(0), "90m", "", "", "<none>"}},
	})
}

func TestStatefulSetRow(t *testing.T) {
	runRows(t, appsGK("StatefulSet"), []rowCase{{
		name: "partly ready",
		obj: &appsv1.StatefulSet{
			ObjectMeta: meta("db"),
			Spec:       appsv1.StatefulSetSpec{Replicas: ptrTo(int32(3)), Template: template("db")},
			Status:     appsv1.StatefulSetStatus{ReadyReplicas: 1},
		},
		want: []any{"db", "1/3", "90m", "db", "db:1"},
	}})
}

func TestDaemonSetRow(t *testing.T) {
	tpl := template("agent")
	tpl.Spec.NodeSelector = map[string]string{"kubernetes.io/os": "linux"}
	runRows(t, appsGK("DaemonSet"), []rowCase{
		{
			name: "with node selector",
			obj: &appsv1.DaemonSet{
				ObjectMeta: meta("agent"),
				Spec:       appsv1.DaemonSetSpec{Selector: webSelector, Template: tpl},
				Status: appsv1.DaemonSetStatus{
					DesiredNumberScheduled: 5, CurrentNumberScheduled: 4, NumberReady: 3, UpdatedNumberScheduled: 2, NumberAvailable: 1,
				},
			},
			want: []any{"agent", int64(5), int64(4), int64(3), int64(2), int64(1), "kubernetes.io/os=linux", "90m", "agent", "agent:1", "app=web"},
		},
		{"empty", &appsv1.DaemonSet{ObjectMeta: meta("ds")}, []any{"ds", int64(0), int64(0), int64(0), int64(0), int64(0), "<none>", "90m", "", "", "<none>"}},
	})
}

func TestControllerRevisionRow(t *testing.T) {
	owned := func(apiVersion, kind string) metav1.ObjectMeta {
		m := meta("rev")
		m.OwnerReferences = []metav1.OwnerReference{
			{APIVersion: "v1", Kind: "ConfigMap", Name: "not-controller"},
			{APIVersion: apiVersion, Kind: kind, Name: "db", Controller: ptrTo(true)},
		}
		return m
	}
	runRows(t, appsGK("ControllerRevision"), []rowCase{
		{"stateful set", &appsv1.ControllerRevision{ObjectMeta: owned("apps/v1", "StatefulSet"), Revision: 4}, []any{"rev", "statefulset.apps/db", int64(4), "90m"}},
		{"core owner", &appsv1.ControllerRevision{ObjectMeta: owned("v1", "Pod"), Revision: 1}, []any{"rev", "pod/db", int64(1), "90m"}},
		{"no controller", &appsv1.ControllerRevision{ObjectMeta: meta("rev"), Revision: 2}, []any{"rev", "<none>", int64(2), "90m"}},
	})

	p, _ := For(appsGK("ControllerRevision"))
	bad := &appsv1.ControllerRevision{ObjectMeta: owned("a/b/c", "X")}
	if _, err := p.Row(bad, now); err == nil {
		t.Errorf("Row(controller revision owned by apiVersion %q) error = nil; want a parse error", "a/b/c")
	}
}

func TestJobRow(t *testing.T) {
	gk := schema.GroupKind{Group: "batch", Kind: "Job"}
	cond := func(t batchv1.JobConditionType, s corev1.ConditionStatus) []batchv1.JobCondition {
		return []batchv1.JobCondition{{Type: t, Status: s}}
	}
	started := ago(10 * time.Minute)
	finished := ago(7 * time.Minute)
	deleted := metav1.NewTime(now)
	tests := []struct {
		name        string
		job         batchv1.Job
		status      string
		completions string
		duration    string
	}{
		{"not started", batchv1.Job{}, "Running", "0/1", ""},
		{
			"running with completions",
			batchv1.Job{Spec: batchv1.JobSpec{Completions: ptrTo(int32(5))}, Status: batchv1.JobStatus{Succeeded: 2, StartTime: &started}},
			"Running", "2/5", "10m",
		},
		{
			"work queue with parallelism",
			batchv1.Job{Spec: batchv1.JobSpec{Parallelism: ptrTo(int32(3))}, Status: batchv1.JobStatus{Succeeded: 1}},
			"Running", "1/1 of 3", "",
		},
		{
			"complete",
			batchv1.Job{
				Spec:   batchv1.JobSpec{Completions: ptrTo(int32(1))},
				Status: batchv1.JobStatus{Succeeded: 1, StartTime: &started, CompletionTime: &finished, Conditions: cond(batchv1.JobComplete, corev1.ConditionTrue)},
			},
			"Complete", "1/1", "3m",
		},
		{"failed", batchv1.Job{Status: batchv1.JobStatus{Conditions: cond(batchv1.JobFailed, corev1.ConditionTrue)}}, "Failed", "0/1", ""},
		{
			"terminating",
			batchv1.Job{ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: &deleted}, Status: batchv1.JobStatus{Conditions: cond(batchv1.JobSuspended, corev1.ConditionTrue)}},
			"Terminating", "0/1", "",
		},
		{"suspended", batchv1.Job{Status: batchv1.JobStatus{Conditions: cond(batchv1.JobSuspended, corev1.ConditionTrue)}}, "Suspended", "0/1", ""},
		{"failure target", batchv1.Job{Status: batchv1.JobStatus{Conditions: cond(batchv1.JobFailureTarget, corev1.ConditionTrue)}}, "FailureTarget", "0/1", ""},
		{"false condition ignored", batchv1.Job{Status: batchv1.JobStatus{Conditions: cond(batchv1.JobComplete, corev1.ConditionFalse)}}, "Running", "0/1", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.job.Name, tc.job.CreationTimestamp = "j", created
			tc.job.Spec.Selector = webSelector
			tc.job.Spec.Template = template("work")
			got := rowFor(t, gk, &tc.job)
			want := []any{"j", tc.status, tc.completions, tc.duration, "90m", "work", "work:1", "app=web"}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("job %q cell %d = %#v; want %#v", tc.name, i, got[i], want[i])
				}
			}
		})
	}
}

func TestCronJobRow(t *testing.T) {
	last := ago(4 * time.Minute)
	runRows(t, schema.GroupKind{Group: "batch", Kind: "CronJob"}, []rowCase{
		{
			name: "scheduled",
			obj: &batchv1.CronJob{
				ObjectMeta: meta("nightly"),
				Spec: batchv1.CronJobSpec{
					Schedule: "0 3 * * *", TimeZone: ptrTo("Europe/Paris"), Suspend: ptrTo(false),
					JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Selector: webSelector, Template: template("backup")}},
				},
				Status: batchv1.CronJobStatus{Active: []corev1.ObjectReference{{Name: "a"}, {Name: "b"}}, LastScheduleTime: &last},
			},
			want: []any{"nightly", "0 3 * * *", "Europe/Paris", "False", int64(2), "4m", "90m", "backup", "backup:1", "app=web"},
		},
		{
			name: "never scheduled, suspend unset",
			obj:  &batchv1.CronJob{ObjectMeta: meta("c"), Spec: batchv1.CronJobSpec{Schedule: "@hourly"}},
			want: []any{"c", "@hourly", "<none>", "<unset>", int64(0), "<none>", "90m", "", "", "<none>"},
		},
		{
			name: "suspended",
			obj:  &batchv1.CronJob{ObjectMeta: meta("c"), Spec: batchv1.CronJobSpec{Schedule: "@daily", Suspend: ptrTo(true)}},
			want: []any{"c", "@daily", "<none>", "True", int64(0), "<none>", "90m", "", "", "<none>"},
		},
	})
}
