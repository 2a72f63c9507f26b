package conversion

import (
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/resource"
)

// checkNoAliasing fails the test if in and out share memory that a write
// through one of them could change in the other. It changes every value
// reachable from out and checks that in is unchanged, and then does the same
// with the roles reversed. Both objects are changed in the process.
func checkNoAliasing[I, O any](t *testing.T, in *I, out *O) {
	t.Helper()
	inBefore, outBefore := deepCopyOf(t, in), deepCopyOf(t, out)

	scribble(reflect.ValueOf(out))
	if diff := cmp.Diff(inBefore, in); diff != "" {
		t.Errorf("writing to the output changed the input (-before +after):\n%s", diff)
	}
	scribble(reflect.ValueOf(in))
	scribble(reflect.ValueOf(outBefore)) // what out is after the first scribble
	if diff := cmp.Diff(outBefore, out); diff != "" {
		t.Errorf("writing to the input changed the output (-want +got):\n%s", diff)
	}
}

func deepCopyOf[T any](t *testing.T, v *T) *T {
	t.Helper()
	type deepCopier[T any] interface{ DeepCopy() *T }
	c, ok := any(v).(deepCopier[T])
	if !ok {
		t.Fatalf("%T has no DeepCopy method", v)
	}
	return c.DeepCopy()
}

// scribble changes, in place, every exported value reachable from v through
// pointers, slices and maps. It changes each one in the same way every time,
// so two deep-equal values that share no memory stay deep-equal after
// scribble has run on both. If they share memory, the shared part is changed
// twice.
func scribble(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			scribble(v.Elem())
		}
		return
	case reflect.Slice:
		for i := range v.Len() {
			scribble(v.Index(i))
		}
		return
	case reflect.Map:
		for _, key := range v.MapKeys() {
			elem := reflect.New(v.Type().Elem()).Elem()
			elem.Set(v.MapIndex(key))
			scribble(elem)
			v.SetMapIndex(key, elem)
		}
		return
	}
	if !v.CanSet() {
		return
	}
	switch x := v.Addr().Interface().(type) {
	case *resource.Quantity:
		x.Add(resource.MustParse("1"))
		return
	case *time.Time:
		*x = x.Add(time.Hour)
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			scribble(v.Field(i))
		}
	case reflect.String:
		v.SetString(v.String() + "~")
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(v.Int() + 1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(v.Uint() + 1)
	}
}
