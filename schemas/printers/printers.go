// Package printers turns built-in Kubernetes objects into meta.k8s.io/v1 Table rows,
// the way the upstream apiserver does for `kubectl get`.
//
// The contract is upstream's: for every kind upstream registers a print handler for
// (k8s.io/kubernetes/pkg/printers/internalversion, AddHandlers), For returns the same
// column definitions (names, types, formats, descriptions, priorities) and Row returns
// cells of the same Go types and formatting. Rows are always the server-side "wide"
// rows: the apiserver prints with Wide set and lets kubectl hide priority>0 columns,
// so every Row returns exactly one cell per column.
//
// Kinds upstream has no handler for (Role, ClusterRole, LimitRange, custom resources)
// are not in For; upstream serves them with the apiserver's default table convertor,
// which Default reproduces.
//
// Row never mutates the object it is given. Ages are computed against the now
// argument, never the wall clock.
package printers

import (
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/duration"
)

// Printer turns objects of one kind into Table rows.
type Printer struct {
	Columns []metav1.TableColumnDefinition
	// Row returns the cells of one object, one per column, in column order. now is the
	// time ages are computed against (injected so tests are deterministic).
	Row func(obj runtime.Object, now time.Time) ([]any, error)
}

// For returns the printer for a kind, or false when upstream has none (the caller
// then falls back to Default). The returned Columns are the caller's to modify.
func For(gk schema.GroupKind) (Printer, bool) {
	p, ok := registry[gk]
	if !ok {
		return Printer{}, false
	}
	p.Columns = slices.Clone(p.Columns)
	return p, true
}

// Default is upstream's default table convertor (k8s.io/apiserver
// pkg/registry/rest/table.go): NAME and CREATED AT, the latter an RFC 3339 UTC
// timestamp in a column of type "date" that kubectl prints verbatim. It accepts any
// object with ObjectMeta.
func Default() Printer {
	return Printer{
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			{Name: "Created At", Type: "date", Description: objectMetaDoc["creationTimestamp"]},
		},
		Row: func(obj runtime.Object, _ time.Time) ([]any, error) {
			m, ok := obj.(metav1.Object)
			if !ok {
				return nil, fmt.Errorf("printers: %T has no object metadata", obj)
			}
			return []any{m.GetName(), m.GetCreationTimestamp().UTC().Format(time.RFC3339)}, nil
		},
	}
}

// RowConditions returns the conditions upstream attaches to an object's row: a
// Completed condition for pods that succeeded or failed, nothing otherwise.
func RowConditions(obj runtime.Object) []metav1.TableRowCondition {
	return podRowConditions(obj)
}

// registry is filled once at package initialisation and never written afterwards.
var registry = func() map[schema.GroupKind]Printer {
	m := map[schema.GroupKind]Printer{}
	for _, add := range []func(map[schema.GroupKind]Printer){
		addCore, addPod, addEvents, addApps, addBatch, addAutoscaling,
		addNetworking, addStorage, addCluster,
	} {
		add(m)
	}
	return m
}()

// rowOf adapts a print function over one concrete type to Printer.Row.
func rowOf[T any](f func(*T, time.Time) []any) func(runtime.Object, time.Time) ([]any, error) {
	return rowOfErr(func(obj *T, now time.Time) ([]any, error) { return f(obj, now), nil })
}

// rowOfErr is rowOf for print functions that can fail.
func rowOfErr[T any](f func(*T, time.Time) ([]any, error)) func(runtime.Object, time.Time) ([]any, error) {
	return func(obj runtime.Object, now time.Time) ([]any, error) {
		t, ok := any(obj).(*T)
		if !ok || t == nil {
			return nil, fmt.Errorf("printers: cannot print %T as %T", obj, t)
		}
		return f(t, now)
	}
}

var objectMetaDoc = metav1.ObjectMeta{}.SwaggerDoc()

func nameColumn() metav1.TableColumnDefinition {
	return metav1.TableColumnDefinition{Name: "Name", Type: "string", Format: "name", Description: objectMetaDoc["name"]}
}

func ageColumn() metav1.TableColumnDefinition {
	return metav1.TableColumnDefinition{Name: "Age", Type: "string", Description: objectMetaDoc["creationTimestamp"]}
}

// Descriptions upstream shares between the container columns of workload kinds.
const (
	containersDoc = "Names of each container in the template."
	imagesDoc     = "Images referenced by each container in the template."
)

// translateTimestampSince is upstream's age formatting.
func translateTimestampSince(ts metav1.Time, now time.Time) string {
	if ts.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(ts.Time))
}

func translateMicroTimestampSince(ts metav1.MicroTime, now time.Time) string {
	if ts.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(ts.Time))
}

func printBoolPtr(v *bool) string {
	if v == nil {
		return "<unset>"
	}
	if *v {
		return "True"
	}
	return "False"
}

// quantityString formats a quantity without touching it: Quantity.String caches
// its result in the receiver, which would write to the caller's object.
func quantityString(q *resource.Quantity) string {
	if q == nil {
		return "<nil>"
	}
	c := *q
	return c.String()
}

// listWithMore joins at most max items and summarises the rest as " + N more...";
// an empty list is "<unset>".
func listWithMore(all []string, max int) string {
	if len(all) > max {
		return fmt.Sprintf("%s + %d more...", strings.Join(all[:max], ","), len(all)-max)
	}
	if len(all) == 0 {
		return "<unset>"
	}
	return strings.Join(all, ",")
}

// layoutContainerCells is the CONTAINERS and IMAGES cells of workload kinds.
func layoutContainerCells(containers []corev1.Container) (names, images string) {
	n := make([]string, len(containers))
	im := make([]string, len(containers))
	for i, c := range containers {
		n[i], im[i] = c.Name, c.Image
	}
	return strings.Join(n, ","), strings.Join(im, ",")
}
