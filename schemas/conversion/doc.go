// Package conversion converts resources between the version tend stores and
// the other versions it serves, with the results kube-apiserver gives when it
// converts through its internal types.
//
//   - HorizontalPodAutoscaler is stored as autoscaling/v2 and also served as
//     autoscaling/v1: [HPAToV1] and [HPAFromV1], after upstream's
//     pkg/apis/autoscaling/v1/conversion.go.
//   - Event is stored as core/v1 and also served as events.k8s.io/v1:
//     [EventToEventsV1] and [EventFromEventsV1], after upstream's
//     pkg/apis/events/v1/conversion.go.
//
// Every function here:
//
//   - returns nil for a nil input;
//   - sets apiVersion and kind on the output to the target version, whatever
//     the input's TypeMeta says;
//   - leaves its input unchanged, and returns an output that shares no
//     pointer, map or slice with it, so the caller may later change either one
//     without affecting the other;
//   - converts and nothing else: no defaulting and no validation. Upstream
//     defaults a v1 HPA when it decodes a request (minReplicas=1) and a v2 HPA
//     when it reads one from storage (minReplicas, the implicit CPU metric, the
//     behavior's rules). Callers that need those defaults apply them.
//
// Events convert both ways without loss. The HPA round trip v2 → v1 → v2
// keeps everything that upstream's round trip keeps; [HPAToV1] lists the
// places where upstream's round trip loses or changes data.
package conversion
