package conversion

import (
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// EventToEventsV1 converts a core/v1 Event into an events.k8s.io/v1 Event.
// No data is lost, and EventFromEventsV1 reverses the conversion exactly.
// These fields are renamed:
//
//	core/v1          events.k8s.io/v1
//	involvedObject   regarding
//	message          note
//	source           deprecatedSource
//	firstTimestamp   deprecatedFirstTimestamp
//	lastTimestamp    deprecatedLastTimestamp
//	count            deprecatedCount
//
// core/v1's Go field ReportingController is "reportingComponent" in JSON. It
// maps to events.k8s.io/v1's reportingController. The remaining fields
// (eventTime, series, action, related, reportingInstance, type, reason) keep
// their names.
func EventToEventsV1(in *corev1.Event) *eventsv1.Event {
	if in == nil {
		return nil
	}
	in = in.DeepCopy()
	out := &eventsv1.Event{
		TypeMeta:                 metav1.TypeMeta{APIVersion: eventsv1.SchemeGroupVersion.String(), Kind: "Event"},
		ObjectMeta:               in.ObjectMeta,
		EventTime:                in.EventTime,
		ReportingController:      in.ReportingController,
		ReportingInstance:        in.ReportingInstance,
		Action:                   in.Action,
		Reason:                   in.Reason,
		Regarding:                in.InvolvedObject,
		Related:                  in.Related,
		Note:                     in.Message,
		Type:                     in.Type,
		DeprecatedSource:         in.Source,
		DeprecatedFirstTimestamp: in.FirstTimestamp,
		DeprecatedLastTimestamp:  in.LastTimestamp,
		DeprecatedCount:          in.Count,
	}
	if in.Series != nil {
		series := eventsv1.EventSeries(*in.Series)
		out.Series = &series
	}
	return out
}

// EventFromEventsV1 converts an events.k8s.io/v1 Event into a core/v1 Event.
// It is the exact inverse of EventToEventsV1.
func EventFromEventsV1(in *eventsv1.Event) *corev1.Event {
	if in == nil {
		return nil
	}
	in = in.DeepCopy()
	out := &corev1.Event{
		TypeMeta:            metav1.TypeMeta{APIVersion: corev1.SchemeGroupVersion.String(), Kind: "Event"},
		ObjectMeta:          in.ObjectMeta,
		InvolvedObject:      in.Regarding,
		Reason:              in.Reason,
		Message:             in.Note,
		Source:              in.DeprecatedSource,
		FirstTimestamp:      in.DeprecatedFirstTimestamp,
		LastTimestamp:       in.DeprecatedLastTimestamp,
		Count:               in.DeprecatedCount,
		Type:                in.Type,
		EventTime:           in.EventTime,
		Action:              in.Action,
		Related:             in.Related,
		ReportingController: in.ReportingController,
		ReportingInstance:   in.ReportingInstance,
	}
	if in.Series != nil {
		series := corev1.EventSeries(*in.Series)
		out.Series = &series
	}
	return out
}
