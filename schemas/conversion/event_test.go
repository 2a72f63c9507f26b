package conversion

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/randfill"
)

var (
	eventMeta  = metav1.ObjectMeta{Namespace: "shop", Name: "web-7d9f.17a1b2c3", Labels: map[string]string{"app": "web"}}
	pod        = corev1.ObjectReference{Kind: "Pod", Namespace: "shop", Name: "web-7d9f", UID: "6a1f", APIVersion: "v1", ResourceVersion: "42", FieldPath: "spec.containers{app}"}
	node       = &corev1.ObjectReference{Kind: "Node", Name: "worker-1", APIVersion: "v1"}
	kubelet    = corev1.EventSource{Component: "kubelet", Host: "worker-1"}
	first      = metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	last       = metav1.NewTime(time.Date(2026, 1, 2, 3, 9, 5, 0, time.UTC))
	eventTime  = metav1.NewMicroTime(time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC))
	observedAt = metav1.NewMicroTime(time.Date(2026, 1, 2, 3, 9, 5, 654321000, time.UTC))
)

func TestEventToEventsV1(t *testing.T) {
	tests := []struct {
		name string
		in   *corev1.Event
		want *eventsv1.Event
	}{{
		name: "nil",
	}, {
		name: "every field",
		in: &corev1.Event{
			TypeMeta:            metav1.TypeMeta{APIVersion: "v1", Kind: "Event"},
			ObjectMeta:          eventMeta,
			InvolvedObject:      pod,
			Reason:              "BackOff",
			Message:             "Back-off restarting failed container app",
			Source:              kubelet,
			FirstTimestamp:      first,
			LastTimestamp:       last,
			Count:               7,
			Type:                corev1.EventTypeWarning,
			EventTime:           eventTime,
			Series:              &corev1.EventSeries{Count: 6, LastObservedTime: observedAt},
			Action:              "Restarting",
			Related:             node,
			ReportingController: "kubelet",
			ReportingInstance:   "kubelet-worker-1",
		},
		want: &eventsv1.Event{
			TypeMeta:                 metav1.TypeMeta{APIVersion: "events.k8s.io/v1", Kind: "Event"},
			ObjectMeta:               eventMeta,
			EventTime:                eventTime,
			Series:                   &eventsv1.EventSeries{Count: 6, LastObservedTime: observedAt},
			ReportingController:      "kubelet",
			ReportingInstance:        "kubelet-worker-1",
			Action:                   "Restarting",
			Reason:                   "BackOff",
			Regarding:                pod,
			Related:                  node,
			Note:                     "Back-off restarting failed container app",
			Type:                     corev1.EventTypeWarning,
			DeprecatedSource:         kubelet,
			DeprecatedFirstTimestamp: first,
			DeprecatedLastTimestamp:  last,
			DeprecatedCount:          7,
		},
	}, {
		name: "empty, with whatever TypeMeta",
		in:   &corev1.Event{TypeMeta: metav1.TypeMeta{APIVersion: "wrong/v9", Kind: "Wrong"}},
		want: &eventsv1.Event{TypeMeta: metav1.TypeMeta{APIVersion: "events.k8s.io/v1", Kind: "Event"}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := EventToEventsV1(tt.in)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("EventToEventsV1() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEventFromEventsV1(t *testing.T) {
	tests := []struct {
		name string
		in   *eventsv1.Event
		want *corev1.Event
	}{{
		name: "nil",
	}, {
		name: "every field",
		in: &eventsv1.Event{
			TypeMeta:                 metav1.TypeMeta{APIVersion: "events.k8s.io/v1", Kind: "Event"},
			ObjectMeta:               eventMeta,
			EventTime:                eventTime,
			Series:                   &eventsv1.EventSeries{Count: 2, LastObservedTime: observedAt},
			ReportingController:      "example.com/scheduler",
			ReportingInstance:        "scheduler-0",
			Action:                   "Binding",
			Reason:                   "Scheduled",
			Regarding:                pod,
			Related:                  node,
			Note:                     "Successfully assigned shop/web-7d9f to worker-1",
			Type:                     corev1.EventTypeNormal,
			DeprecatedSource:         corev1.EventSource{Component: "default-scheduler"},
			DeprecatedFirstTimestamp: first,
			DeprecatedLastTimestamp:  last,
			DeprecatedCount:          3,
		},
		want: &corev1.Event{
			TypeMeta:            metav1.TypeMeta{APIVersion: "v1", Kind: "Event"},
			ObjectMeta:          eventMeta,
			InvolvedObject:      pod,
			Reason:              "Scheduled",
			Message:             "Successfully assigned shop/web-7d9f to worker-1",
			Source:              corev1.EventSource{Component: "default-scheduler"},
			FirstTimestamp:      first,
			LastTimestamp:       last,
			Count:               3,
			Type:                corev1.EventTypeNormal,
			EventTime:           eventTime,
			Series:              &corev1.EventSeries{Count: 2, LastObservedTime: observedAt},
			Action:              "Binding",
			Related:             node,
			ReportingController: "example.com/scheduler",
			ReportingInstance:   "scheduler-0",
		},
	}, {
		name: "empty, with whatever TypeMeta",
		in:   &eventsv1.Event{TypeMeta: metav1.TypeMeta{APIVersion: "wrong/v9", Kind: "Wrong"}},
		want: &corev1.Event{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Event"}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := EventFromEventsV1(tt.in)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("EventFromEventsV1() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestEventRoundTrip fills every field at random and checks that both round
// trips give back the input. A field that k8s.io/api adds to either Event
// and that the conversion does not carry fails this test.
func TestEventRoundTrip(t *testing.T) {
	filler := randfill.NewWithSeed(1).NilChance(0.2).NumElements(0, 3)
	for i := range 200 {
		core := &corev1.Event{}
		filler.Fill(core)
		core.TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "Event"}
		if diff := cmp.Diff(core, EventFromEventsV1(EventToEventsV1(core))); diff != "" {
			t.Fatalf("case %d: EventFromEventsV1(EventToEventsV1(in)) mismatch (-in +got):\n%s", i, diff)
		}

		events := &eventsv1.Event{}
		filler.Fill(events)
		events.TypeMeta = metav1.TypeMeta{APIVersion: "events.k8s.io/v1", Kind: "Event"}
		if diff := cmp.Diff(events, EventToEventsV1(EventFromEventsV1(events))); diff != "" {
			t.Fatalf("case %d: EventToEventsV1(EventFromEventsV1(in)) mismatch (-in +got):\n%s", i, diff)
		}
	}
}

func TestEventNoAliasing(t *testing.T) {
	filler := randfill.NewWithSeed(2).NilChance(0).NumElements(1, 2)
	t.Run("EventToEventsV1", func(t *testing.T) {
		in := &corev1.Event{}
		filler.Fill(in)
		checkNoAliasing(t, in, EventToEventsV1(in))
	})
	t.Run("EventFromEventsV1", func(t *testing.T) {
		in := &eventsv1.Event{}
		filler.Fill(in)
		checkNoAliasing(t, in, EventFromEventsV1(in))
	})
}
