package openapi

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"
)

// fakeAPIServer serves legacy discovery for resources, the OpenAPI handler,
// and just enough of deployments for kubectl create and apply: it records
// writes and answers them with the object sent.
type fakeAPIServer struct {
	mux      *http.ServeMux
	mu       sync.Mutex
	requests []recorded
	existing []byte // GET of deployments/web answers this, or 404 when nil
}

type recorded struct {
	method, url, contentType, body string
}

func newFakeAPIServer(t *testing.T, resources []Resource) *fakeAPIServer {
	t.Helper()
	h, err := New("v1.37.0", resources)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	f := &fakeAPIServer{mux: http.NewServeMux()}
	f.mux.Handle("/openapi/", h)

	byGV := map[schema.GroupVersion][]metav1.APIResource{}
	var groups metav1.APIGroupList
	for _, r := range resources {
		gv := schema.GroupVersion{Group: r.Group, Version: r.Version}
		if _, ok := byGV[gv]; !ok && gv.Group != "" {
			v := metav1.GroupVersionForDiscovery{GroupVersion: gv.String(), Version: gv.Version}
			groups.Groups = append(groups.Groups, metav1.APIGroup{Name: gv.Group, Versions: []metav1.GroupVersionForDiscovery{v}, PreferredVersion: v})
		}
		byGV[gv] = append(byGV[gv], metav1.APIResource{Name: r.Resource, Namespaced: r.Namespaced, Kind: r.Kind, Verbs: r.Verbs})
		for _, s := range r.Subresources {
			byGV[gv] = append(byGV[gv], metav1.APIResource{Name: r.Resource + "/" + s.Name, Namespaced: r.Namespaced, Kind: r.Kind, Verbs: s.verbs()})
		}
	}
	writeJSON := func(w http.ResponseWriter, code int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(v) //nolint:errcheck
	}
	f.mux.HandleFunc("GET /api", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, metav1.APIVersions{TypeMeta: metav1.TypeMeta{Kind: "APIVersions"}, Versions: []string{"v1"}})
	})
	f.mux.HandleFunc("GET /apis", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, groups)
	})
	for gv, list := range byGV {
		f.mux.HandleFunc("GET "+pathPrefix(gv), func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 200, metav1.APIResourceList{GroupVersion: gv.String(), APIResources: list})
		})
	}
	record := func(r *http.Request) []byte {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.requests = append(f.requests, recorded{r.Method, r.URL.String(), r.Header.Get("Content-Type"), string(body)})
		f.mu.Unlock()
		return body
	}
	f.mux.HandleFunc("GET /apis/apps/v1/namespaces/default/deployments/web", func(w http.ResponseWriter, r *http.Request) {
		if f.existing == nil {
			writeJSON(w, 404, metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: "Failure", Reason: metav1.StatusReasonNotFound, Code: 404,
				Details: &metav1.StatusDetails{Name: "web", Group: "apps", Kind: "deployments"}})
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(f.existing) //nolint:errcheck
	})
	f.mux.HandleFunc("POST /apis/apps/v1/namespaces/default/deployments", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(201)
		w.Write(record(r)) //nolint:errcheck
	})
	f.mux.HandleFunc("PATCH /apis/apps/v1/namespaces/default/deployments/web", func(w http.ResponseWriter, r *http.Request) {
		record(r)
		w.Header().Set("Content-Type", "application/json")
		w.Write(f.existing) //nolint:errcheck
	})
	return f
}

func (f *fakeAPIServer) writes() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.requests...)
}

// kubectl runs the real kubectl against url, with a fresh cache.
func kubectl(t *testing.T, url string, stdin string, args ...string) (stdout, stderr string) {
	t.Helper()
	home := t.TempDir()
	cmd := exec.Command("kubectl", append([]string{"--server", url, "--cache-dir", filepath.Join(home, "cache")}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+home, "KUBECONFIG="+filepath.Join(home, "none"))
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("kubectl %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out.String(), errOut.String())
	}
	return out.String(), errOut.String()
}

const webDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: a
        image: a:2
      - name: b
        image: b:1
`

// TestKubectl drives the real kubectl, when installed, against the
// documents: explain, create with server-side field validation, and
// client-side apply computing a strategic merge patch from OpenAPI.
func TestKubectl(t *testing.T) {
	if _, err := exec.LookPath("kubectl"); err != nil {
		t.Skip("kubectl is not installed")
	}
	f := newFakeAPIServer(t, testResources())
	srv := httptest.NewServer(f.mux)
	t.Cleanup(srv.Close)

	t.Run("explain", func(t *testing.T) {
		out, _ := kubectl(t, srv.URL, "", "explain", "deployments.spec.template.spec.containers")
		for _, want := range []string{"GROUP:      apps", "KIND:       Deployment", "FIELD: containers <[]Container>", "image\t<string>", "name\t<string> -required-"} {
			if !strings.Contains(out, want) {
				t.Errorf("kubectl explain output lacks %q:\n%s", want, out)
			}
		}
		out, _ = kubectl(t, srv.URL, "", "explain", "deployments.spec.strategy.rollingUpdate")
		if !strings.Contains(out, "maxSurge\t<IntOrString>") {
			t.Errorf("kubectl explain output lacks maxSurge <IntOrString>:\n%s", out)
		}
		out, _ = kubectl(t, srv.URL, "", "explain", "pods", "--recursive")
		for _, want := range []string{"      limits\t<map[string]Quantity>", "    containers\t<[]Container> -required-", "creationTimestamp\t<string>"} {
			if !strings.Contains(out, want) {
				t.Errorf("kubectl explain pods --recursive output lacks %q", want)
			}
		}
		out, _ = kubectl(t, srv.URL, "", "explain", "horizontalpodautoscalers.spec.scaleTargetRef")
		if !strings.Contains(out, "KIND:       HorizontalPodAutoscaler") || !strings.Contains(out, "VERSION:    v2") {
			t.Errorf("kubectl explain hpa output:\n%s", out)
		}
	})

	// kubectl always sends fieldValidation; what the OpenAPI decides is
	// whether it also validates on the client, which would reject an
	// unknown field before sending anything.
	t.Run("create validates on the server", func(t *testing.T) {
		unknown := strings.Replace(webDeployment, "spec:\n  selector:", "spec:\n  bogus: 1\n  selector:", 1)
		kubectl(t, srv.URL, unknown, "create", "--validate=strict", "-f", "-")
		w := f.writes()
		if len(w) == 0 || !strings.Contains(w[len(w)-1].url, "fieldValidation=Strict") || !strings.Contains(w[len(w)-1].body, "bogus") {
			t.Errorf("kubectl create sent %+v; want a POST with the unknown field and fieldValidation=Strict", w)
		}
	})

	t.Run("apply merges containers by name", func(t *testing.T) {
		old := strings.Replace(webDeployment, "a:2", "a:1", 1)
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(old), &obj); err != nil {
			t.Fatal(err)
		}
		last, _ := json.Marshal(obj)
		obj["metadata"].(map[string]any)["annotations"] = map[string]any{"kubectl.kubernetes.io/last-applied-configuration": string(last)}
		f.existing, _ = json.Marshal(obj)

		_, stderr := kubectl(t, srv.URL, webDeployment, "apply", "-f", "-")
		if strings.Contains(stderr, "warning") {
			t.Errorf("kubectl apply warned (OpenAPI not usable for the patch?):\n%s", stderr)
		}
		w := f.writes()
		patch := w[len(w)-1]
		if patch.method != "PATCH" || patch.contentType != "application/strategic-merge-patch+json" ||
			!strings.Contains(patch.body, "$setElementOrder/containers") || !strings.Contains(patch.url, "fieldValidation=Strict") {
			t.Errorf("kubectl apply sent %+v; want a strategic merge PATCH merging containers by name, validated on the server", patch)
		}
	})
}
