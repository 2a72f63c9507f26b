package printers

import (
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func running(name string, ready bool, restarts int32) corev1.ContainerStatus {
	return corev1.ContainerStatus{
		Name: name, Ready: ready, RestartCount: restarts,
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
	}
}

func waiting(name, reason string) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}}
}

func terminated(name, reason string, exitCode, signal int32) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{
		Terminated: &corev1.ContainerStateTerminated{Reason: reason, ExitCode: exitCode, Signal: signal},
	}}
}

func containers(names ...string) []corev1.Container {
	out := make([]corev1.Container, len(names))
	for i, n := range names {
		out[i] = corev1.Container{Name: n, Image: n + ":1"}
	}
	return out
}

func condition(t corev1.PodConditionType, s corev1.ConditionStatus) corev1.PodCondition {
	return corev1.PodCondition{Type: t, Status: s}
}

// podCells is the READY, STATUS and RESTARTS cells of a pod.
func podCells(t *testing.T, pod *corev1.Pod) []any {
	t.Helper()
	cells := rowFor(t, podGK, pod)
	return cells[1:4]
}

func TestPodStatus(t *testing.T) {
	sidecar := corev1.Container{Name: "sidecar", RestartPolicy: ptrTo(corev1.ContainerRestartPolicyAlways)}
	deleted := ptrTo(metav1.NewTime(now.Add(-time.Minute)))
	tests := []struct {
		name string
		pod  corev1.Pod
		want []any // READY, STATUS, RESTARTS
	}{
		{
			name: "running, one of two ready",
			pod: corev1.Pod{
				Spec:   corev1.PodSpec{Containers: containers("a", "b")},
				Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{running("a", true, 0), running("b", false, 0)}},
			},
			want: []any{"1/2", "Running", "0"},
		},
		{
			name: "pending without statuses",
			pod:  corev1.Pod{Spec: corev1.PodSpec{Containers: containers("a")}, Status: corev1.PodStatus{Phase: corev1.PodPending}},
			want: []any{"0/1", "Pending", "0"},
		},
		{
			name: "status reason wins over phase",
			pod:  corev1.Pod{Spec: corev1.PodSpec{Containers: containers("a")}, Status: corev1.PodStatus{Phase: corev1.PodFailed, Reason: "Evicted"}},
			want: []any{"0/1", "Evicted", "0"},
		},
		{
			name: "scheduling gated",
			pod: corev1.Pod{
				Spec: corev1.PodSpec{Containers: containers("a")},
				Status: corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{
					{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonSchedulingGated},
				}},
			},
			want: []any{"0/1", "SchedulingGated", "0"},
		},
		{
			name: "init container still initializing",
			pod: corev1.Pod{
				Spec: corev1.PodSpec{InitContainers: containers("init"), Containers: containers("a")},
				Status: corev1.PodStatus{
					Phase:                 corev1.PodPending,
					InitContainerStatuses: []corev1.ContainerStatus{waiting("init", "PodInitializing")},
					ContainerStatuses:     []corev1.ContainerStatus{waiting("a", "PodInitializing")},
				},
			},
			want: []any{"0/1", "Init:0/1", "0"},
		},
		{
			name: "second init container running",
			pod: corev1.Pod{
				Spec: corev1.PodSpec{InitContainers: containers("one", "two"), Containers: containers("a")},
				Status: corev1.PodStatus{
					Phase:                 corev1.PodPending,
					InitContainerStatuses: []corev1.ContainerStatus{terminated("one", "Completed", 0, 0), running("two", false, 0)},
				},
			},
			want: []any{"0/1", "Init:1/2", "0"},
		},
		{
			name: "init container crash looping",
			pod: corev1.Pod{
				Spec: corev1.PodSpec{InitContainers: containers("init"), Containers: containers("a")},
				Status: corev1.PodStatus{
					Phase: corev1.PodPending,
					InitContainerStatuses: []corev1.ContainerStatus{
						func() corev1.ContainerStatus { s := waiting("init", "CrashLoopBackOff"); s.RestartCount = 4; return s }(),
					},
				},
			},
			want: []any{"0/1", "Init:CrashLoopBackOff", "4"},
		},
		{
			name: "init container failed with reason",
			pod: corev1.Pod{
				Spec:   corev1.PodSpec{InitContainers: containers("init"), Containers: containers("a")},
				Status: corev1.PodStatus{Phase: corev1.PodFailed, InitContainerStatuses: []corev1.ContainerStatus{terminated("init", "Error", 1, 0)}},
			},
			want: []any{"0/1", "Init:Error", "0"},
		},
		{
			name: "init container exit code",
			pod: corev1.Pod{
				Spec:   corev1.PodSpec{InitContainers: containers("init"), Containers: containers("a")},
				Status: corev1.PodStatus{Phase: corev1.PodPending, InitContainerStatuses: []corev1.ContainerStatus{terminated("init", "", 2, 0)}},
			},
			want: []any{"0/1", "Init:ExitCode:2", "0"},
		},
		{
			name: "init container signal",
			pod: corev1.Pod{
				Spec:   corev1.PodSpec{InitContainers: containers("init"), Containers: containers("a")},
				Status: corev1.PodStatus{Phase: corev1.PodPending, InitContainerStatuses: []corev1.ContainerStatus{terminated("init", "", 137, 9)}},
			},
			want: []any{"0/1", "Init:Signal:9", "0"},
		},
		{
			name: "crash loop back off",
			pod: corev1.Pod{
				Spec: corev1.PodSpec{Containers: containers("a")},
				Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{
					func() corev1.ContainerStatus { s := waiting("a", "CrashLoopBackOff"); s.RestartCount = 7; return s }(),
				}},
			},
			want: []any{"0/1", "CrashLoopBackOff", "7"},
		},
		{
			name: "image pull back off",
			pod: corev1.Pod{
				Spec:   corev1.PodSpec{Containers: containers("a")},
				Status: corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{waiting("a", "ImagePullBackOff")}},
			},
			want: []any{"0/1", "ImagePullBackOff", "0"},
		},
		{
			name: "completed",
			pod: corev1.Pod{
				Spec:   corev1.PodSpec{Containers: containers("a")},
				Status: corev1.PodStatus{Phase: corev1.PodSucceeded, ContainerStatuses: []corev1.ContainerStatus{terminated("a", "Completed", 0, 0)}},
			},
			want: []any{"0/1", "Completed", "0"},
		},
		{
			name: "container exit code",
			pod: corev1.Pod{
				Spec:   corev1.PodSpec{Containers: containers("a")},
				Status: corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{terminated("a", "", 3, 0)}},
			},
			want: []any{"0/1", "ExitCode:3", "0"},
		},
		{
			name: "container signal",
			pod: corev1.Pod{
				Spec:   corev1.PodSpec{Containers: containers("a")},
				Status: corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{terminated("a", "", 0, 15)}},
			},
			want: []any{"0/1", "Signal:15", "0"},
		},
		{
			name: "first container wins: statuses are walked backwards",
			pod: corev1.Pod{
				Spec: corev1.PodSpec{Containers: containers("a", "b")},
				Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{
					waiting("a", "ErrImagePull"), waiting("b", "CrashLoopBackOff"),
				}},
			},
			want: []any{"0/2", "ErrImagePull", "0"},
		},
		{
			name: "completed container but another running and ready",
			pod: corev1.Pod{
				Spec: corev1.PodSpec{Containers: containers("a", "b")},
				Status: corev1.PodStatus{
					Phase:             corev1.PodRunning,
					Conditions:        []corev1.PodCondition{condition(corev1.PodReady, corev1.ConditionTrue)},
					ContainerStatuses: []corev1.ContainerStatus{terminated("a", "Completed", 0, 0), running("b", true, 0)},
				},
			},
			want: []any{"1/2", "Running", "0"},
		},
		{
			name: "completed container, another running, pod not ready",
			pod: corev1.Pod{
				Spec: corev1.PodSpec{Containers: containers("a", "b")},
				Status: corev1.PodStatus{
					Phase:             corev1.PodRunning,
					ContainerStatuses: []corev1.ContainerStatus{terminated("a", "Completed", 0, 0), running("b", true, 0)},
				},
			},
			want: []any{"1/2", "NotReady", "0"},
		},
		{
			name: "terminating",
			pod: corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: deleted},
				Spec:       corev1.PodSpec{Containers: containers("a")},
				Status:     corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{running("a", true, 0)}},
			},
			want: []any{"1/1", "Terminating", "0"},
		},
		{
			name: "deleted but already succeeded",
			pod: corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: deleted},
				Spec:       corev1.PodSpec{Containers: containers("a")},
				Status:     corev1.PodStatus{Phase: corev1.PodSucceeded, ContainerStatuses: []corev1.ContainerStatus{terminated("a", "Completed", 0, 0)}},
			},
			want: []any{"0/1", "Completed", "0"},
		},
		{
			name: "node lost",
			pod: corev1.Pod{
				Spec:   corev1.PodSpec{Containers: containers("a")},
				Status: corev1.PodStatus{Phase: corev1.PodRunning, Reason: "NodeLost"},
			},
			want: []any{"0/1", "NodeLost", "0"},
		},
		{
			name: "node lost and deleted",
			pod: corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: deleted},
				Spec:       corev1.PodSpec{Containers: containers("a")},
				Status:     corev1.PodStatus{Phase: corev1.PodRunning, Reason: "NodeLost"},
			},
			want: []any{"0/1", "Unknown", "0"},
		},
		{
			name: "restarts with last restart time",
			pod: corev1.Pod{
				Spec: corev1.PodSpec{Containers: containers("a", "b")},
				Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{
					func() corev1.ContainerStatus {
						s := running("a", true, 2)
						s.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{FinishedAt: ago(20 * time.Minute)}
						return s
					}(),
					func() corev1.ContainerStatus {
						s := running("b", true, 1)
						s.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{FinishedAt: ago(5 * time.Minute)}
						return s
					}(),
				}},
			},
			want: []any{"2/2", "Running", "3 (5m ago)"},
		},
		{
			name: "sidecar started and ready counts, its restarts too",
			pod: corev1.Pod{
				Spec: corev1.PodSpec{InitContainers: []corev1.Container{sidecar}, Containers: containers("a")},
				Status: corev1.PodStatus{
					Phase:      corev1.PodRunning,
					Conditions: []corev1.PodCondition{condition(corev1.PodInitialized, corev1.ConditionTrue)},
					InitContainerStatuses: []corev1.ContainerStatus{func() corev1.ContainerStatus {
						s := running("sidecar", true, 2)
						s.Started = ptrTo(true)
						s.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{FinishedAt: ago(10 * time.Minute)}
						return s
					}()},
					ContainerStatuses: []corev1.ContainerStatus{running("a", true, 1)},
				},
			},
			want: []any{"2/2", "Running", "3 (10m ago)"},
		},
		{
			name: "sidecar not yet started blocks initialization",
			pod: corev1.Pod{
				Spec: corev1.PodSpec{InitContainers: []corev1.Container{sidecar}, Containers: containers("a")},
				Status: corev1.PodStatus{
					Phase:                 corev1.PodPending,
					InitContainerStatuses: []corev1.ContainerStatus{running("sidecar", false, 0)},
				},
			},
			want: []any{"0/2", "Init:0/1", "0"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.pod.Name = "p"
			if got := podCells(t, &tc.pod); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("pod %q READY,STATUS,RESTARTS = %#v; want %#v", tc.name, got, tc.want)
			}
		})
	}
}

func TestPodRow(t *testing.T) {
	runRows(t, podGK, []rowCase{
		{
			name: "wide columns",
			obj: &corev1.Pod{
				ObjectMeta: meta("web-0"),
				Spec: corev1.PodSpec{
					NodeName:   "node-1",
					Containers: containers("a"),
					ReadinessGates: []corev1.PodReadinessGate{
						{ConditionType: "example.com/lb"}, {ConditionType: "example.com/dns"},
					},
				},
				Status: corev1.PodStatus{
					Phase:             corev1.PodRunning,
					PodIPs:            []corev1.PodIP{{IP: "10.0.0.5"}, {IP: "fd00::5"}},
					NominatedNodeName: "node-2",
					Conditions: []corev1.PodCondition{
						condition("example.com/lb", corev1.ConditionTrue), condition("example.com/dns", corev1.ConditionFalse),
					},
					ContainerStatuses: []corev1.ContainerStatus{running("a", true, 0)},
				},
			},
			want: []any{"web-0", "1/1", "Running", "0", "90m", "10.0.0.5", "node-1", "node-2", "1/2"},
		},
		{
			name: "unscheduled",
			obj:  &corev1.Pod{ObjectMeta: meta("p"), Spec: corev1.PodSpec{Containers: containers("a")}, Status: corev1.PodStatus{Phase: corev1.PodPending}},
			want: []any{"p", "0/1", "Pending", "0", "90m", "<none>", "<none>", "<none>", "<none>"},
		},
		{
			name: "PodIP is authoritative over PodIPs",
			obj: &corev1.Pod{
				ObjectMeta: meta("p"),
				Status:     corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.9", PodIPs: []corev1.PodIP{{IP: "10.0.0.5"}}},
			},
			want: []any{"p", "0/0", "Running", "0", "90m", "10.0.0.9", "<none>", "<none>", "<none>"},
		},
		{
			name: "no creation timestamp",
			obj:  &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}},
			want: []any{"p", "0/0", "", "0", "<unknown>", "<none>", "<none>", "<none>", "<none>"},
		},
	})
}

func TestRowConditions(t *testing.T) {
	tests := []struct {
		phase corev1.PodPhase
		want  string
	}{
		{corev1.PodSucceeded, "Succeeded"},
		{corev1.PodFailed, "Failed"},
		{corev1.PodRunning, ""},
	}
	for _, tc := range tests {
		conds := RowConditions(&corev1.Pod{Status: corev1.PodStatus{Phase: tc.phase}})
		got := ""
		if len(conds) == 1 && conds[0].Type == metav1.RowCompleted && conds[0].Status == metav1.ConditionTrue {
			got = conds[0].Reason
		}
		if got != tc.want {
			t.Errorf("RowConditions(pod %s) = %#v; want a Completed condition with reason %q", tc.phase, conds, tc.want)
		}
	}
	if got := RowConditions(&corev1.Service{}); got != nil {
		t.Errorf("RowConditions(service) = %#v; want nil", got)
	}
}
