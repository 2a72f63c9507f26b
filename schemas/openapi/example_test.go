package openapi_test

import (
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"reflect"

	corev1 "k8s.io/api/core/v1"

	"github.com/tendhq/tend/schemas/openapi"
)

func Example() {
	h, err := openapi.New("v1.37.0", []openapi.Resource{{
		Version: "v1", Resource: "configmaps", Kind: "ConfigMap", Namespaced: true,
		Type:     reflect.TypeFor[corev1.ConfigMap](),
		ListType: reflect.TypeFor[corev1.ConfigMapList](),
		Verbs:    []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"},
	}})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/openapi/", h) // /openapi/v2, /openapi/v3 and below

	// What an openapi3 client does: read the index, follow a link.
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest("GET", "/openapi/v3", nil))
	var index struct {
		Paths map[string]struct{ ServerRelativeURL string }
	}
	if err := json.Unmarshal(w.Body.Bytes(), &index); err != nil {
		log.Fatal(err)
	}
	w = httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest("GET", index.Paths["api/v1"].ServerRelativeURL, nil))
	fmt.Println(len(index.Paths), w.Code, w.Header().Get("Cache-Control"))
	// Output: 1 200 public, immutable
}
