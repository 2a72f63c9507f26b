package schemas

// Temporary: pins dependencies in go.mod until real code imports them.
import (
	_ "github.com/google/gnostic-models/openapiv2"
	_ "github.com/google/gnostic-models/openapiv3"
	_ "gopkg.in/evanphx/json-patch.v4"
	_ "k8s.io/api/apps/v1"
	_ "k8s.io/apimachinery/pkg/api/validation"
	_ "k8s.io/apimachinery/pkg/util/strategicpatch"
	_ "k8s.io/client-go/kubernetes"
	_ "k8s.io/kube-openapi/pkg/spec3"
	_ "k8s.io/kube-openapi/pkg/validation/spec"
	_ "sigs.k8s.io/yaml"
)
