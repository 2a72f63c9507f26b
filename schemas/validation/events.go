package validation

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const (
	reportingInstanceLengthLimit = 128
	actionLengthLimit            = 128
	reasonLengthLimit            = 128
	noteLengthLimit              = 1024
)

// eventFields are the parts of an Event both API versions share, with the
// field names each version uses for them.
type eventFields struct {
	namespace           string
	involvedNamespace   string
	eventTime           metav1.MicroTime
	reportingController string
	reportingInstance   string
	action              string
	reason              string
	message             string
	names               eventFieldNames
}

type eventFieldNames struct {
	involvedObject, message string
}

var (
	coreEventNames   = eventFieldNames{involvedObject: "involvedObject", message: "message"}
	eventsEventNames = eventFieldNames{involvedObject: "regarding", message: "note"}
)

// validateEventLegacy is upstream's legacyValidateEvent: the rules every
// Event passes whichever API it comes through. core/v1 Events get only these.
func validateEventLegacy(e eventFields) field.ErrorList {
	var errs field.ErrorList
	involvedNS := field.NewPath(e.names.involvedObject, "namespace")
	if e.eventTime.IsZero() {
		// Old-style events: the namespace must agree with the involved object's.
		if e.involvedNamespace == "" {
			if e.namespace != metav1.NamespaceNone && e.namespace != metav1.NamespaceDefault {
				errs = append(errs, field.Invalid(involvedNS, e.involvedNamespace, "does not match event.namespace"))
			}
		} else if e.namespace != e.involvedNamespace {
			errs = append(errs, field.Invalid(involvedNS, e.involvedNamespace, "does not match event.namespace"))
		}
	} else {
		if e.involvedNamespace == "" && e.namespace != metav1.NamespaceDefault && e.namespace != metav1.NamespaceSystem {
			errs = append(errs, field.Invalid(involvedNS, e.involvedNamespace, "does not match event.namespace"))
		}
		if e.reportingController == "" {
			errs = append(errs, field.Required(field.NewPath("reportingController"), ""))
		}
		errs = append(errs, qualifiedName(e.reportingController, field.NewPath("reportingController"))...)
		errs = append(errs, limitedString(e.reportingInstance, reportingInstanceLengthLimit, true, field.NewPath("reportingInstance"))...)
		errs = append(errs, limitedString(e.action, actionLengthLimit, true, field.NewPath("action"))...)
		errs = append(errs, limitedString(e.reason, reasonLengthLimit, true, field.NewPath("reason"))...)
		errs = append(errs, limitedString(e.message, noteLengthLimit, false, field.NewPath(e.names.message))...)
	}
	return append(errs, messages(field.NewPath("metadata", "namespace"), e.namespace, validation.IsDNS1123Subdomain(e.namespace))...)
}

func limitedString(value string, limit int, required bool, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if required && value == "" {
		errs = append(errs, field.Required(fldPath, ""))
	}
	if len(value) > limit {
		errs = append(errs, field.Invalid(fldPath, "", fmt.Sprintf("can have at most %v characters", limit)))
	}
	return errs
}

func validateCoreEvent(ev, old *corev1.Event) field.ErrorList {
	return validateEventLegacy(eventFields{
		namespace: ev.Namespace, involvedNamespace: ev.InvolvedObject.Namespace, eventTime: ev.EventTime,
		reportingController: ev.ReportingController, reportingInstance: ev.ReportingInstance,
		action: ev.Action, reason: ev.Reason, message: ev.Message, names: coreEventNames,
	})
}

// validateEventsEvent applies the strict events.k8s.io/v1 rules. Field
// paths use the events.k8s.io/v1 names (regarding, note, deprecated*),
// where upstream reports the internal core names.
func validateEventsEvent(ev, old *eventsv1.Event) field.ErrorList {
	errs := validateEventLegacy(eventFields{
		namespace: ev.Namespace, involvedNamespace: ev.Regarding.Namespace, eventTime: ev.EventTime,
		reportingController: ev.ReportingController, reportingInstance: ev.ReportingInstance,
		action: ev.Action, reason: ev.Reason, message: ev.Note, names: eventsEventNames,
	})
	if old == nil || !equalSeries(ev.Series, old.Series) {
		if s := ev.Series; s != nil {
			if s.Count < 2 {
				errs = append(errs, field.Invalid(field.NewPath("series", "count"), "", "should be at least 2"))
			}
			if s.LastObservedTime.IsZero() {
				errs = append(errs, field.Required(field.NewPath("series", "lastObservedTime"), ""))
			}
		}
	}
	if old != nil {
		for _, f := range []struct {
			name     string
			new, old any
		}{
			{"regarding", ev.Regarding, old.Regarding},
			{"reason", ev.Reason, old.Reason},
			{"note", ev.Note, old.Note},
			{"deprecatedSource", ev.DeprecatedSource, old.DeprecatedSource},
			{"deprecatedFirstTimestamp", ev.DeprecatedFirstTimestamp, old.DeprecatedFirstTimestamp},
			{"deprecatedLastTimestamp", ev.DeprecatedLastTimestamp, old.DeprecatedLastTimestamp},
			{"deprecatedCount", ev.DeprecatedCount, old.DeprecatedCount},
			{"type", ev.Type, old.Type},
			{"eventTime", ev.EventTime, old.EventTime},
			{"action", ev.Action, old.Action},
			{"related", ev.Related, old.Related},
			{"reportingController", ev.ReportingController, old.ReportingController},
			{"reportingInstance", ev.ReportingInstance, old.ReportingInstance},
		} {
			errs = append(errs, immutable(f.new, f.old, field.NewPath(f.name))...)
		}
		return errs
	}
	if ev.EventTime.IsZero() {
		errs = append(errs, field.Required(field.NewPath("eventTime"), ""))
	}
	if ev.Type != corev1.EventTypeNormal && ev.Type != corev1.EventTypeWarning {
		errs = append(errs, field.Invalid(field.NewPath("type"), "", fmt.Sprintf("has invalid value: %v", ev.Type)))
	}
	if !ev.DeprecatedFirstTimestamp.IsZero() {
		errs = append(errs, field.Invalid(field.NewPath("deprecatedFirstTimestamp"), "", "needs to be unset"))
	}
	if !ev.DeprecatedLastTimestamp.IsZero() {
		errs = append(errs, field.Invalid(field.NewPath("deprecatedLastTimestamp"), "", "needs to be unset"))
	}
	if ev.DeprecatedCount != 0 {
		errs = append(errs, field.Invalid(field.NewPath("deprecatedCount"), "", "needs to be unset"))
	}
	if ev.DeprecatedSource.Component != "" || ev.DeprecatedSource.Host != "" {
		errs = append(errs, field.Invalid(field.NewPath("deprecatedSource"), "", "needs to be unset"))
	}
	return errs
}

func equalSeries(a, b *eventsv1.EventSeries) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Count == b.Count && a.LastObservedTime.Equal(&b.LastObservedTime)
}
