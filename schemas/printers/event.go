package printers

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// addEvents registers core/v1 and events.k8s.io/v1 Event. Upstream stores both as
// the same internal type and prints them with one handler; here each GroupKind
// accepts either Go type, so a caller may hand over whichever version it holds.
func addEvents(m map[schema.GroupKind]Printer) {
	doc := corev1.Event{}.SwaggerDoc()
	columns := []metav1.TableColumnDefinition{
		{Name: "Last Seen", Type: "string", Description: doc["lastTimestamp"]},
		{Name: "Type", Type: "string", Description: doc["type"]},
		{Name: "Reason", Type: "string", Description: doc["reason"]},
		{Name: "Object", Type: "string", Description: doc["involvedObject"]},
		{Name: "Subobject", Type: "string", Priority: 1, Description: corev1.ObjectReference{}.SwaggerDoc()["fieldPath"]},
		{Name: "Source", Type: "string", Priority: 1, Description: doc["source"]},
		{Name: "Message", Type: "string", Description: doc["message"]},
		{Name: "First Seen", Type: "string", Priority: 1, Description: doc["firstTimestamp"]},
		{Name: "Count", Type: "string", Priority: 1, Description: doc["count"]},
		{Name: "Name", Type: "string", Priority: 1, Format: "name", Description: objectMetaDoc["name"]},
	}
	m[schema.GroupKind{Kind: "Event"}] = Printer{Columns: columns, Row: printAnyEvent}
	m[schema.GroupKind{Group: "events.k8s.io", Kind: "Event"}] = Printer{Columns: columns, Row: printAnyEvent}
}

func printAnyEvent(obj runtime.Object, now time.Time) ([]any, error) {
	switch e := obj.(type) {
	case *corev1.Event:
		if e != nil {
			return printEvent(e, now), nil
		}
	case *eventsv1.Event:
		if e != nil {
			return printEvent(coreEventFromEventsV1(e), now), nil
		}
	}
	return nil, fmt.Errorf("printers: cannot print %T as an Event", obj)
}

// coreEventFromEventsV1 maps the fields the printer reads the way the
// events.k8s.io/v1 to internal conversion does.
func coreEventFromEventsV1(e *eventsv1.Event) *corev1.Event {
	out := &corev1.Event{
		ObjectMeta:          e.ObjectMeta,
		InvolvedObject:      e.Regarding,
		Reason:              e.Reason,
		Message:             e.Note,
		Source:              e.DeprecatedSource,
		FirstTimestamp:      e.DeprecatedFirstTimestamp,
		LastTimestamp:       e.DeprecatedLastTimestamp,
		Count:               e.DeprecatedCount,
		Type:                e.Type,
		EventTime:           e.EventTime,
		ReportingController: e.ReportingController,
		ReportingInstance:   e.ReportingInstance,
	}
	if e.Series != nil {
		out.Series = &corev1.EventSeries{Count: e.Series.Count, LastObservedTime: e.Series.LastObservedTime}
	}
	return out
}

func printEvent(e *corev1.Event, now time.Time) []any {
	firstSeen := translateTimestampSince(e.FirstTimestamp, now)
	if e.FirstTimestamp.IsZero() {
		firstSeen = translateMicroTimestampSince(e.EventTime, now)
	}
	lastSeen := translateTimestampSince(e.LastTimestamp, now)
	if e.LastTimestamp.IsZero() {
		lastSeen = firstSeen
	}
	count := e.Count
	if e.Series != nil {
		lastSeen = translateMicroTimestampSince(e.Series.LastObservedTime, now)
		count = e.Series.Count
	} else if count == 0 {
		// Singleton events of the new API carry no count.
		count = 1
	}

	object := strings.ToLower(e.InvolvedObject.Kind)
	if e.InvolvedObject.Name != "" {
		object += "/" + e.InvolvedObject.Name
	}
	return []any{
		lastSeen, e.Type, e.Reason, object, e.InvolvedObject.FieldPath,
		formatEventSource(e.Source, e.ReportingController, e.ReportingInstance),
		strings.TrimSpace(e.Message), firstSeen, int64(count), e.Name,
	}
}

// formatEventSource is "component, host", falling back to the reporting controller
// and instance of the new API; the host part is dropped when empty.
func formatEventSource(es corev1.EventSource, reportingController, reportingInstance string) string {
	component := es.Component
	if component == "" {
		component = reportingController
	}
	host := es.Host
	if host == "" {
		host = reportingInstance
	}
	if host == "" {
		return component
	}
	return component + ", " + host
}
