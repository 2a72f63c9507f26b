package defaults

import (
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"
)

// decode reads a manifest into its typed k8s.io/api object the way a request body arrives:
// client-go's scheme registers no defaulters, so nothing is filled in.
func decode(t *testing.T, manifest string) runtime.Object {
	t.Helper()
	obj, _, err := scheme.Codecs.UniversalDeserializer().Decode([]byte(manifest), nil, nil)
	if err != nil {
		t.Fatalf("decode(%q): %v", manifest, err)
	}
	return obj
}

// encode renders obj as `kubectl get -o yaml` would, which is what the package promises to
// match, so tests compare objects by this rendering.
func encode(t *testing.T, obj runtime.Object) string {
	t.Helper()
	b, err := yaml.Marshal(obj)
	if err != nil {
		t.Fatalf("encode(%T): %v", obj, err)
	}
	return string(b)
}

// canonical re-renders a hand-written manifest so that key order and spacing do not matter.
func canonical(t *testing.T, manifest string) string {
	t.Helper()
	return encode(t, decode(t, manifest))
}

// manifestCase is one table row: a manifest as a client sends it, and as upstream would
// serve it back after the step under test.
type manifestCase struct {
	name string
	in   string
	want string
}
