package validation

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// want is one expected error: its type, its field path and, optionally, a
// substring of its detail.
type want struct {
	typ    field.ErrorType
	field  string
	detail string
}

func required(f string) want     { return want{typ: field.ErrorTypeRequired, field: f} }
func invalid(f string) want      { return want{typ: field.ErrorTypeInvalid, field: f} }
func notSupported(f string) want { return want{typ: field.ErrorTypeNotSupported, field: f} }
func duplicate(f string) want    { return want{typ: field.ErrorTypeDuplicate, field: f} }
func forbidden(f string) want    { return want{typ: field.ErrorTypeForbidden, field: f} }
func notFound(f string) want     { return want{typ: field.ErrorTypeNotFound, field: f} }
func tooLong(f string) want      { return want{typ: field.ErrorTypeTooLong, field: f} }
func tooMany(f string) want      { return want{typ: field.ErrorTypeTooMany, field: f} }

func (w want) with(detail string) want { w.detail = detail; return w }

func (w want) String() string { return fmt.Sprintf("%s %s", w.typ, w.field) }

// checkErrors fails unless errs holds exactly the wanted (type, field)
// pairs, in any order, with the wanted details.
func checkErrors(t *testing.T, call string, errs field.ErrorList, wants ...want) {
	t.Helper()
	got := make([]string, len(errs))
	for i, e := range errs {
		got[i] = want{typ: e.Type, field: e.Field}.String()
	}
	exp := make([]string, len(wants))
	for i, w := range wants {
		exp[i] = w.String()
	}
	sort.Strings(got)
	sort.Strings(exp)
	if strings.Join(got, "\n") != strings.Join(exp, "\n") {
		t.Errorf("%s = %s\nwant %v", call, describe(errs), exp)
		return
	}
	for _, w := range wants {
		if w.detail == "" {
			continue
		}
		found := false
		for _, e := range errs {
			if e.Type == w.typ && e.Field == w.field && strings.Contains(e.Detail, w.detail) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s = %s\nwant %v with detail %q", call, describe(errs), w, w.detail)
		}
	}
}

func describe(errs field.ErrorList) string {
	if len(errs) == 0 {
		return "[]"
	}
	lines := make([]string, len(errs))
	for i, e := range errs {
		lines[i] = "  " + e.Error()
	}
	return "[\n" + strings.Join(lines, "\n") + "\n]"
}

// create validates obj as a new object; update validates obj replacing old.
func create(t *testing.T, obj runtime.Object, wants ...want) {
	t.Helper()
	checkErrors(t, fmt.Sprintf("Validate(%T)", obj), Validate(obj), wants...)
}

func update(t *testing.T, obj, old runtime.Object, wants ...want) {
	t.Helper()
	checkErrors(t, fmt.Sprintf("ValidateUpdate(%T)", obj), ValidateUpdate(obj, old), wants...)
}

func statusUpdate(t *testing.T, obj, old runtime.Object, wants ...want) {
	t.Helper()
	checkErrors(t, fmt.Sprintf("ValidateStatusUpdate(%T)", obj), ValidateStatusUpdate(obj, old), wants...)
}

// Fixtures: defaulted objects as they reach validation.

var created = metav1.NewTime(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))

func objectMeta(namespace, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Namespace: namespace, Name: name,
		UID:               types.UID("6c9a5c4e-2a4f-4c8e-9f57-1f7f1b7c0a01"),
		CreationTimestamp: created,
		ResourceVersion:   "1",
	}
}

func ptr[T any](v T) *T { return &v }

func qty(s string) resource.Quantity { return resource.MustParse(s) }

func container(name string) corev1.Container {
	return corev1.Container{
		Name:                     name,
		Image:                    "registry.example/app:1.0",
		ImagePullPolicy:          corev1.PullIfNotPresent,
		TerminationMessagePath:   corev1.TerminationMessagePathDefault,
		TerminationMessagePolicy: corev1.TerminationMessageReadFile,
	}
}

func podSpec() corev1.PodSpec {
	c := container("app")
	c.Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}}
	return corev1.PodSpec{
		Containers:                    []corev1.Container{c},
		RestartPolicy:                 corev1.RestartPolicyAlways,
		DNSPolicy:                     corev1.DNSClusterFirst,
		TerminationGracePeriodSeconds: ptr[int64](30),
		SchedulerName:                 corev1.DefaultSchedulerName,
		SecurityContext:               &corev1.PodSecurityContext{},
	}
}

func validPod() *corev1.Pod {
	return &corev1.Pod{ObjectMeta: objectMeta("default", "web"), Spec: podSpec()}
}

func podTemplate(labels map[string]string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: podSpec()}
}

var appLabels = map[string]string{"app": "web"}

func intOrStr(s string) *intstr.IntOrString { v := intstr.Parse(s); return &v }
