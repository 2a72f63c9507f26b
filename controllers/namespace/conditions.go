package namespace

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// content is what remains in a namespace after a pass: objects by resource
// ("pods.", "deployments.apps", as upstream writes them) and by finalizer.
type content struct {
	resources  map[string]int
	finalizers map[string]int
}

// conditionTypes are the namespace conditions the controller maintains, with
// the reason and message each has when all is well: upstream's. Discovery and
// group version parsing cannot fail here (the kinds are known up front), so
// theirs always say so.
var conditionTypes = []struct {
	typ             corev1.NamespaceConditionType
	reason, message string
}{
	{corev1.NamespaceDeletionDiscoveryFailure, "ResourcesDiscovered", "All resources successfully discovered"},
	{corev1.NamespaceDeletionGVParsingFailure, "ParsedGroupVersions", "All legacy kube types successfully parsed"},
	{corev1.NamespaceDeletionContentFailure, "ContentDeleted", "All content successfully deleted, may be waiting on finalization"},
	{corev1.NamespaceContentRemaining, "ContentRemoved", "All content successfully removed"},
	{corev1.NamespaceFinalizersRemaining, "ContentRemoved", "All content successfully removed"},
}

// conditionsFor returns the failing conditions (status True) a pass leads to:
// the errors of deleting content, and what remains. Types not returned are
// well.
func conditionsFor(errs []error, left content) []corev1.NamespaceCondition {
	var out []corev1.NamespaceCondition
	if len(errs) > 0 {
		msgs := make([]string, 0, len(errs))
		for _, err := range errs {
			msgs = append(msgs, err.Error())
		}
		sort.Strings(msgs)
		out = append(out, corev1.NamespaceCondition{
			Type: corev1.NamespaceDeletionContentFailure, Status: corev1.ConditionTrue, Reason: "ContentDeletionFailed",
			Message: fmt.Sprintf("Failed to delete all resource types, %d remaining: %v", len(errs), strings.Join(msgs, ", ")),
		})
	}
	if s := counted(left.resources, "%s has %d resource instances"); len(s) > 0 {
		out = append(out, corev1.NamespaceCondition{
			Type: corev1.NamespaceContentRemaining, Status: corev1.ConditionTrue, Reason: "SomeResourcesRemain",
			Message: fmt.Sprintf("Some resources are remaining: %s", strings.Join(s, ", ")),
		})
	}
	if s := counted(left.finalizers, "%s in %d resource instances"); len(s) > 0 {
		out = append(out, corev1.NamespaceCondition{
			Type: corev1.NamespaceFinalizersRemaining, Status: corev1.ConditionTrue, Reason: "SomeFinalizerRemain",
			Message: fmt.Sprintf("Some finalizers are remaining: %s", strings.Join(s, ", ")),
		})
	}
	return out
}

// counted formats the non-zero counts of m, sorted for stable messages.
func counted(m map[string]int, format string) []string {
	var out []string
	for k, n := range m {
		if n > 0 {
			out = append(out, fmt.Sprintf(format, k, n))
		}
	}
	sort.Strings(out)
	return out
}

// updateConditions sets every maintained condition type on status: the
// failing one of failing, or the all-is-well one. A condition's transition
// time changes only with its status. It reports whether status changed.
func updateConditions(status *corev1.NamespaceStatus, failing []corev1.NamespaceCondition, now metav1.Time) bool {
	changed := false
	for _, ct := range conditionTypes {
		want := corev1.NamespaceCondition{Type: ct.typ, Status: corev1.ConditionFalse, Reason: ct.reason, Message: ct.message}
		for _, f := range failing {
			if f.Type == ct.typ {
				want = f
			}
		}
		want.LastTransitionTime = now
		i := conditionIndex(status.Conditions, ct.typ)
		if i < 0 {
			status.Conditions = append(status.Conditions, want)
			changed = true
			continue
		}
		cur := &status.Conditions[i]
		if cur.Status == want.Status && cur.Reason == want.Reason && cur.Message == want.Message {
			continue
		}
		if cur.Status != want.Status {
			cur.LastTransitionTime = now
		}
		cur.Status, cur.Reason, cur.Message = want.Status, want.Reason, want.Message
		changed = true
	}
	return changed
}

func conditionIndex(conds []corev1.NamespaceCondition, t corev1.NamespaceConditionType) int {
	for i := range conds {
		if conds[i].Type == t {
			return i
		}
	}
	return -1
}
