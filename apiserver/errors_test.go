package apiserver_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tendhq/tend/apiserver"
	"github.com/tendhq/tend/apiserver/storage"
	"github.com/tendhq/tend/tendtest"
)

// badRequest is one request the server must refuse.
type badRequest struct {
	name        string
	method      string
	path        string
	contentType string // default application/json
	body        any
	code        int
	reason      metav1.StatusReason
	// causes are field paths details.causes must include.
	causes []string
	// message, when set, must be part of the Status message.
	message string
}

// TestBadInput sends requests the server must refuse with upstream's Status,
// and checks after each that nothing was stored and the server still serves.
func TestBadInput(t *testing.T) {
	t.Parallel()
	c := tendtest.Start(t, tendtest.Options{})
	cs := c.Client()
	rc := newRawClient(t, c)
	ctx := ctxFor(t)
	ns := makeNamespace(t, cs, "bad")
	cmPath := "/api/v1/namespaces/" + ns + "/configmaps"
	depPath := "/apis/apps/v1/namespaces/" + ns + "/deployments"
	svcPath := "/api/v1/namespaces/" + ns + "/services"
	podPath := "/api/v1/namespaces/" + ns + "/pods"

	// Objects the updates below try to break.
	cm, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "existing"}, Data: map[string]string{"k": "v"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	staleCM := cm.DeepCopy()
	cm.Data["k"] = "v2"
	if cm, err = cs.CoreV1().ConfigMaps(ns).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	staleCM.Data["k"] = "stale"
	dep, err := cs.AppsV1().Deployments(ns).Create(ctx, testDeployment("web", 1), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	depNewSelector := dep.DeepCopy()
	depNewSelector.Spec.Selector.MatchLabels = map[string]string{"app": "web", "v": "2"}
	depNewSelector.Spec.Template.Labels = map[string]string{"app": "web", "v": "2"}
	svc, err := cs.CoreV1().Services(ns).Create(ctx, testService("svc", corev1.ServiceTypeClusterIP), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svcNewIP := svc.DeepCopy()
	svcNewIP.Spec.ClusterIP, svcNewIP.Spec.ClusterIPs = "10.43.200.200", []string{"10.43.200.200"}
	if svc.Spec.ClusterIP == "10.43.200.200" {
		svcNewIP.Spec.ClusterIP, svcNewIP.Spec.ClusterIPs = "10.43.200.201", []string{"10.43.200.201"}
	}

	pod, err := cs.CoreV1().Pods(ns).Create(ctx, testPod("running", "n1"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	podChanged := pod.DeepCopy()
	podChanged.Spec.RestartPolicy = corev1.RestartPolicyNever

	mismatched := testDeployment("mismatch", 1)
	mismatched.Spec.Template.Labels = map[string]string{"app": "other"}
	dupContainers := testPod("dup", "")
	dupContainers.Spec.Containers = append(dupContainers.Spec.Containers, corev1.Container{Name: "c", Image: "x"})
	badContainerPort := testPod("port", "")
	badContainerPort.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 70000}}
	badServicePort := testService("badport", corev1.ServiceTypeClusterIP)
	badServicePort.Spec.Ports[0].Port = 70000
	badName := map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "Bad_Name"}}
	wrongNS := map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "x", "namespace": "elsewhere"}}
	withTypes := func(obj any, apiVersion, kind string) map[string]any {
		data, _ := json.Marshal(obj)
		var m map[string]any
		_ = json.Unmarshal(data, &m)
		m["apiVersion"], m["kind"] = apiVersion, kind
		return m
	}
	// ConfigMaps and Secrets stop at 1 MiB in validation (422); a
	// ControllerRevision's data has no such limit and meets storage's.
	big := map[string]any{"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": map[string]any{"name": "big"},
		"revision": 1, "data": map[string]string{"k": strings.Repeat("x", 1600*1024)}}
	tooBigCM := map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "big"},
		"data": map[string]string{"k": strings.Repeat("x", 1024*1024+1)}}
	renamed := cm.DeepCopy()
	renamed.Name = "renamed"
	huge := map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "huge"},
		"data": map[string]string{"k": strings.Repeat("x", 3*1024*1024+10)}}

	tests := []badRequest{
		{name: "malformed JSON", method: "POST", path: cmPath, body: `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":`, code: 400, reason: metav1.StatusReasonBadRequest},
		{name: "JSON of the wrong shape", method: "POST", path: cmPath, body: `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"data":["a"]}`, code: 400, reason: metav1.StatusReasonBadRequest},
		{name: "malformed YAML", method: "POST", path: cmPath, contentType: "application/yaml", body: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [x\n", code: 400, reason: metav1.StatusReasonBadRequest},
		{name: "unknown resource", method: "GET", path: "/api/v1/namespaces/" + ns + "/widgets", code: 404, reason: metav1.StatusReasonNotFound},
		{name: "create unknown resource", method: "POST", path: "/api/v1/namespaces/" + ns + "/widgets", body: cmJSON("w", nil), code: 404, reason: metav1.StatusReasonNotFound},
		{name: "unknown group", method: "GET", path: "/apis/widgets.example.com/v1/widgets", code: 404, reason: metav1.StatusReasonNotFound},
		{name: "unknown version", method: "GET", path: "/apis/apps/v1beta9/deployments", code: 404, reason: metav1.StatusReasonNotFound},
		{name: "unknown core version", method: "GET", path: "/api/v2/pods", code: 404, reason: metav1.StatusReasonNotFound},
		{name: "missing object", method: "GET", path: cmPath + "/nope", code: 404, reason: metav1.StatusReasonNotFound, message: `configmaps "nope" not found`},
		{name: "update of a missing object", method: "PUT", path: cmPath + "/nope", body: cmJSON("nope", nil), code: 404, reason: metav1.StatusReasonNotFound},
		{name: "deployment selector does not match template", method: "POST", path: depPath, body: mismatched, code: 422, reason: metav1.StatusReasonInvalid,
			causes: []string{"spec.template.metadata.labels"}},
		{name: "duplicate container names", method: "POST", path: podPath, body: dupContainers, code: 422, reason: metav1.StatusReasonInvalid,
			causes: []string{"spec.containers[1].name"}},
		{name: "container port out of range", method: "POST", path: podPath, body: badContainerPort, code: 422, reason: metav1.StatusReasonInvalid,
			causes: []string{"spec.containers[0].ports[0].containerPort"}},
		{name: "service port out of range", method: "POST", path: svcPath, body: badServicePort, code: 422, reason: metav1.StatusReasonInvalid,
			causes: []string{"spec.ports[0].port"}},
		{name: "bad DNS name", method: "POST", path: cmPath, body: badName, code: 422, reason: metav1.StatusReasonInvalid,
			causes: []string{"metadata.name"}},
		{name: "deployment selector changed", method: "PUT", path: depPath + "/web", body: withTypes(depNewSelector, "apps/v1", "Deployment"), code: 422, reason: metav1.StatusReasonInvalid,
			causes: []string{"spec.selector"}},
		{name: "service clusterIP changed", method: "PUT", path: svcPath + "/svc", body: withTypes(svcNewIP, "v1", "Service"), code: 422, reason: metav1.StatusReasonInvalid,
			causes: []string{"spec.clusterIPs[0]"}},
		{name: "stale resourceVersion", method: "PUT", path: cmPath + "/existing", body: withTypes(staleCM, "v1", "ConfigMap"), code: 409, reason: metav1.StatusReasonConflict,
			message: "the object has been modified; please apply your changes to the latest version and try again"},
		{name: "create of an existing name", method: "POST", path: cmPath, body: cmJSON("existing", nil), code: 409, reason: metav1.StatusReasonAlreadyExists,
			message: `configmaps "existing" already exists`},
		{name: "object over 1.5 MiB", method: "POST", path: "/apis/apps/v1/namespaces/" + ns + "/controllerrevisions", body: big, code: 413, reason: metav1.StatusReasonRequestEntityTooLarge},
		{name: "ConfigMap over 1 MiB", method: "POST", path: cmPath, body: tooBigCM, code: 422, reason: metav1.StatusReasonInvalid},
		{name: "body over 3 MiB", method: "POST", path: cmPath, body: huge, code: 413, reason: metav1.StatusReasonRequestEntityTooLarge},
		{name: "unknown fieldValidation", method: "POST", path: cmPath + "?fieldValidation=Loose", body: cmJSON("fv", nil), code: 400, reason: metav1.StatusReasonBadRequest},
		{name: "unknown dryRun", method: "POST", path: cmPath + "?dryRun=Some", body: cmJSON("dr", nil), code: 400, reason: metav1.StatusReasonBadRequest},
		{name: "unknown dryRun on delete", method: "DELETE", path: cmPath + "/existing?dryRun=Some", code: 400, reason: metav1.StatusReasonBadRequest},
		{name: "unknown propagationPolicy", method: "DELETE", path: cmPath + "/existing?propagationPolicy=Sideways", code: 400, reason: metav1.StatusReasonBadRequest},
		{name: "unknown propagationPolicy in the body", method: "DELETE", path: cmPath + "/existing", body: map[string]any{"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Sideways"}, code: 400, reason: metav1.StatusReasonBadRequest},
		{name: "unknown propagationPolicy on deletecollection", method: "DELETE", path: cmPath + "?propagationPolicy=Sideways", code: 400, reason: metav1.StatusReasonBadRequest},
		{name: "strict: unknown field", method: "POST", path: cmPath + "?fieldValidation=Strict", body: `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"s1"},"spec":{"bogus":1}}`, code: 400, reason: metav1.StatusReasonBadRequest,
			message: `unknown field "spec"`},
		{name: "strict: duplicate field", method: "POST", path: cmPath + "?fieldValidation=Strict", body: `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"s2"},"data":{"a":"1"},"data":{"b":"2"}}`, code: 400, reason: metav1.StatusReasonBadRequest,
			message: `duplicate field "data"`},
		{name: "strict YAML: duplicate key", method: "POST", path: cmPath + "?fieldValidation=Strict", contentType: "application/yaml", body: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: s3\ndata:\n  a: \"1\"\n  a: \"2\"\n", code: 400, reason: metav1.StatusReasonBadRequest,
			message: `"a"`},
		{name: "wrong apiVersion", method: "POST", path: cmPath, body: withTypes(cmJSON("av", nil), "apps/v1", "ConfigMap"), code: 400, reason: metav1.StatusReasonBadRequest},
		{name: "wrong kind", method: "POST", path: cmPath, body: withTypes(cmJSON("k", nil), "v1", "Secret"), code: 400, reason: metav1.StatusReasonBadRequest},
		{name: "namespace in the body differs", method: "POST", path: cmPath, body: wrongNS, code: 400, reason: metav1.StatusReasonBadRequest},
		{name: "name in the body differs", method: "PUT", path: cmPath + "/existing", body: withTypes(renamed, "v1", "ConfigMap"), code: 400, reason: metav1.StatusReasonBadRequest, message: "does not match the name on the URL"},
		{name: "unsupported content type", method: "POST", path: cmPath, contentType: "text/plain", body: "name=x", code: 415, reason: metav1.StatusReasonUnsupportedMediaType},
		{name: "unsupported patch type", method: "PATCH", path: cmPath + "/existing", contentType: "application/json", body: `{"data":{"k":"p"}}`, code: 415, reason: metav1.StatusReasonUnsupportedMediaType},
		{name: "malformed JSON patch", method: "PATCH", path: cmPath + "/existing", contentType: "application/json-patch+json", body: `[{"op":"replace"`, code: 400, reason: metav1.StatusReasonBadRequest},
		{name: "POST to a named object", method: "POST", path: cmPath + "/existing", body: cmJSON("existing", nil), code: 405, reason: metav1.StatusReasonMethodNotAllowed},
		{name: "PUT to a collection", method: "PUT", path: cmPath, body: cmJSON("existing", nil), code: 405, reason: metav1.StatusReasonMethodNotAllowed},
		{name: "PATCH to a collection", method: "PATCH", path: cmPath, contentType: "application/merge-patch+json", body: `{"data":{"k":"p"}}`, code: 405, reason: metav1.StatusReasonMethodNotAllowed},
		{name: "POST to a named namespace", method: "POST", path: "/api/v1/namespaces/" + ns, body: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "other"}}, code: 405, reason: metav1.StatusReasonMethodNotAllowed},
		{name: "stale resourceVersion precondition on delete", method: "DELETE", path: cmPath + "/existing", body: map[string]any{"kind": "DeleteOptions", "apiVersion": "v1", "preconditions": map[string]any{"resourceVersion": staleCM.ResourceVersion}},
			code: 409, reason: metav1.StatusReasonConflict, message: "Precondition failed: ResourceVersion in precondition: " + staleCM.ResourceVersion},
		{name: "wrong uid precondition on delete", method: "DELETE", path: cmPath + "/existing", body: map[string]any{"kind": "DeleteOptions", "apiVersion": "v1", "preconditions": map[string]any{"uid": "not-it"}},
			code: 409, reason: metav1.StatusReasonConflict, message: "Precondition failed: UID in precondition: not-it"},
		{name: "orphanDependents with propagationPolicy", method: "DELETE", path: cmPath + "/existing?orphanDependents=true&propagationPolicy=Background", code: 400, reason: metav1.StatusReasonBadRequest},
		{name: "scale below zero", method: "PATCH", path: depPath + "/web/scale", contentType: "application/merge-patch+json", body: `{"spec":{"replicas":-1}}`, code: 422, reason: metav1.StatusReasonInvalid, causes: []string{"spec.replicas"}},
		{name: "subresource a kind lacks", method: "GET", path: cmPath + "/existing/scale", code: 404, reason: metav1.StatusReasonNotFound},
		{name: "stale resourceVersion in a patch", method: "PATCH", path: cmPath + "/existing", contentType: "application/merge-patch+json", body: `{"metadata":{"resourceVersion":"` + staleCM.ResourceVersion + `"},"data":{"k":"p"}}`,
			code: 409, reason: metav1.StatusReasonConflict},
		{name: "failed JSON patch test", method: "PATCH", path: cmPath + "/existing", contentType: "application/json-patch+json", body: `[{"op":"test","path":"/data/k","value":"nope"},{"op":"replace","path":"/data/k","value":"p"}]`,
			code: 422, reason: metav1.StatusReasonInvalid},
		{name: "patch of a missing object", method: "PATCH", path: cmPath + "/nope", contentType: "application/merge-patch+json", body: `{"data":{"k":"p"}}`, code: 404, reason: metav1.StatusReasonNotFound},
		{name: "patch renaming the object", method: "PATCH", path: cmPath + "/existing", contentType: "application/merge-patch+json", body: `{"metadata":{"name":"other"}}`, code: 400, reason: metav1.StatusReasonBadRequest},
		{name: "delete of a missing object", method: "DELETE", path: cmPath + "/nope", code: 404, reason: metav1.StatusReasonNotFound, message: `configmaps "nope" not found`},
		{name: "deletecollection of namespaces", method: "DELETE", path: "/api/v1/namespaces", code: 405, reason: metav1.StatusReasonMethodNotAllowed},
		{name: "POST to all namespaces", method: "POST", path: "/api/v1/configmaps", body: cmJSON("x", nil), code: 405, reason: metav1.StatusReasonMethodNotAllowed},
		{name: "cluster-scoped kind under a namespace", method: "GET", path: "/api/v1/namespaces/" + ns + "/nodes", code: 404, reason: metav1.StatusReasonNotFound},
		{name: "create a cluster-scoped kind under a namespace", method: "POST", path: "/api/v1/namespaces/" + ns + "/nodes", body: map[string]any{"apiVersion": "v1", "kind": "Node", "metadata": map[string]any{"name": "n1"}}, code: 404, reason: metav1.StatusReasonNotFound},
		{name: "path below an object", method: "GET", path: cmPath + "/existing/data/k", code: 404, reason: metav1.StatusReasonNotFound},
		{name: "pod spec change", method: "PUT", path: podPath + "/running", body: withTypes(podChanged, "v1", "Pod"), code: 422, reason: metav1.StatusReasonInvalid, causes: []string{"spec"}},
		{name: "bad label selector", method: "GET", path: cmPath + "?labelSelector=a%3D%3D%3Db", code: 400, reason: metav1.StatusReasonBadRequest},
		{name: "bad limit", method: "GET", path: cmPath + "?limit=many", code: 400, reason: metav1.StatusReasonBadRequest},
		{name: "bad resourceVersionMatch", method: "GET", path: cmPath + "?resourceVersion=1&resourceVersionMatch=Newest", code: 400, reason: metav1.StatusReasonBadRequest},
		{name: "bad gracePeriodSeconds", method: "DELETE", path: cmPath + "/existing?gracePeriodSeconds=soon", code: 400, reason: metav1.StatusReasonBadRequest},
	}
	// 410 and 401 are checked in their own tests; here every case is checked for
	// a Status of the right code and reason and for leaving storage alone.
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := revision(t, cs)
			var body any
			switch b := tt.body.(type) {
			case nil, string, []byte:
				body = b
			default:
				data, err := json.Marshal(b)
				if err != nil {
					t.Fatal(err)
				}
				body = data
			}
			ct := tt.contentType
			if ct == "" && body != nil {
				ct = "application/json"
			}
			var headers []string
			if ct != "" {
				headers = []string{"Content-Type", ct}
			}
			r := rc.do(tt.method, tt.path, body, headers...)
			checkStatus(t, tt, r)
			if after := revision(t, cs); after != before {
				t.Errorf("%s %s: storage revision %d → %d; want nothing stored", tt.method, tt.path, before, after)
			}
			if r := rc.do("GET", "/readyz", nil); r.code != http.StatusOK {
				t.Errorf("GET /readyz after the request = %d; want 200", r.code)
			}
		})
	}
	// The objects the bad requests aimed at are as they were.
	got, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, "existing", metav1.GetOptions{})
	if err != nil || got.ResourceVersion != cm.ResourceVersion || got.Data["k"] != "v2" {
		t.Fatalf("existing ConfigMap = %v, %v; want it unchanged at rv %s", got, err, cm.ResourceVersion)
	}
}

func checkStatus(t *testing.T, tt badRequest, r *response) {
	t.Helper()
	var st metav1.Status
	if err := json.Unmarshal(r.body, &st); err != nil {
		t.Fatalf("%s %s = %d %q; want a Status: %v", tt.method, tt.path, r.code, r.body, err)
	}
	if r.code != tt.code || st.Code != int32(tt.code) || st.Reason != tt.reason || st.Kind != "Status" || st.APIVersion != "v1" || st.Status != metav1.StatusFailure {
		t.Fatalf("%s %s = %d %s/%s code %d reason %q (%q); want %d, a v1 Status of reason %q", tt.method, tt.path, r.code, st.APIVersion, st.Kind, st.Code, st.Reason, st.Message, tt.code, tt.reason)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q; want application/json", tt.method, tt.path, ct)
	}
	if tt.message != "" && !strings.Contains(st.Message, tt.message) {
		t.Errorf("%s %s: message %q; want it to contain %q", tt.method, tt.path, st.Message, tt.message)
	}
	fields := fieldsOf(st)
	for _, want := range tt.causes {
		if !slices.Contains(fields, want) {
			t.Errorf("%s %s: causes %q (%s); want %q among them", tt.method, tt.path, fields, st.Message, want)
		}
	}
}

// TestFieldValidationWarn checks the default (Warn) and Ignore answers to
// unknown and duplicate fields.
func TestFieldValidationWarn(t *testing.T) {
	t.Parallel()
	c := tendtest.Start(t, tendtest.Options{})
	rc := newRawClient(t, c)
	ns := makeNamespace(t, c.Client(), "fv")
	path := "/api/v1/namespaces/" + ns + "/configmaps"
	tests := []struct {
		query    string
		body     string
		warnings []string
	}{
		{"", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"w1"},"bogus":1}`, []string{`unknown field "bogus"`}},
		{"?fieldValidation=Warn", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"w2","bogus":1}}`, []string{`unknown field "metadata.bogus"`}},
		{"?fieldValidation=Warn", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"w3"},"data":{},"data":{}}`, []string{`duplicate field "data"`}},
		{"?fieldValidation=Ignore", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"w4"},"bogus":1}`, nil},
		{"", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"w5"}}`, nil},
	}
	for _, tt := range tests {
		r := rc.do("POST", path+tt.query, tt.body, "Content-Type", "application/json")
		r.wantCode(t, "POST"+tt.query, http.StatusCreated)
		got := r.header.Values("Warning")
		if len(got) != len(tt.warnings) {
			t.Errorf("POST%s %s: Warning headers %q; want %d containing %q", tt.query, tt.body, got, len(tt.warnings), tt.warnings)
			continue
		}
		for i, w := range tt.warnings {
			if !strings.HasPrefix(got[i], "299 - ") || !strings.Contains(got[i], strings.ReplaceAll(w, `"`, `\"`)) {
				t.Errorf("POST%s: Warning %q; want 299 - \"...%s...\"", tt.query, got[i], w)
			}
		}
	}
}

// TestWatchExpired watches from a resourceVersion the server no longer holds:
// as upstream, the watch starts and sends one ERROR event with a 410 Expired
// Status; a LIST at a compacted revision is 410 too.
func TestWatchExpired(t *testing.T) {
	t.Parallel()
	c := tendtest.Start(t, tendtest.Options{Tune: func(cfg *apiserver.Config) {
		cfg.Storage.History = storage.History{Min: 1, Max: 5, Window: time.Nanosecond}
	}})
	rc := newRawClient(t, c)
	ns := makeNamespace(t, c.Client(), "expired")
	first := createCM(t, rc, ns, "cm-0", nil)
	for i := 1; i < 30; i++ {
		createCM(t, rc, ns, fmt.Sprintf("cm-%d", i), nil)
	}
	ws := rc.watch("/api/v1/namespaces/" + ns + "/configmaps?watch=true&resourceVersion=" + first)
	if ws.resp.StatusCode != http.StatusOK {
		t.Fatalf("watch from an expired resourceVersion: HTTP %d; want 200 and an ERROR event", ws.resp.StatusCode)
	}
	e := ws.next()
	var st metav1.Status
	if err := json.Unmarshal(e.Object, &st); err != nil {
		t.Fatal(err)
	}
	if e.Type != "ERROR" || st.Code != http.StatusGone || st.Reason != metav1.StatusReasonExpired || st.Kind != "Status" {
		t.Fatalf("event = %s %s; want ERROR with a 410 Expired Status", e.Type, e.Object)
	}
	// The server still serves watches from now.
	ws2 := rc.watch("/api/v1/namespaces/" + ns + "/configmaps?watch=true&resourceVersion=0&fieldSelector=metadata.name%3Dcm-1")
	if e := ws2.next(); e.Type != "ADDED" {
		t.Fatalf("watch from 0 after an expired one: %s; want ADDED", e.Type)
	}
}

// TestUnauthenticated checks that only the health and version endpoints answer
// a client without a certificate.
func TestUnauthenticated(t *testing.T) {
	t.Parallel()
	c := tendtest.Start(t, tendtest.Options{})
	anon := anonymousClient(t, c)
	for _, path := range []string{"/api/v1/namespaces", "/api", "/apis", "/metrics", "/openapi/v2", "/api/v1/namespaces/default/configmaps"} {
		r := anon.do("GET", path, nil)
		st := r.status(t)
		if r.code != http.StatusUnauthorized || st.Reason != metav1.StatusReasonUnauthorized {
			t.Errorf("anonymous GET %s = %d %s; want 401 Unauthorized", path, r.code, st.Reason)
		}
	}
	r := anon.do("POST", "/api/v1/namespaces", map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "anon"}})
	r.wantCode(t, "anonymous POST", http.StatusUnauthorized)
	for _, path := range []string{"/healthz", "/livez", "/readyz", "/readyz?verbose", "/version"} {
		r := anon.do("GET", path, nil)
		r.wantCode(t, "anonymous GET "+path, http.StatusOK)
	}
	if _, err := c.Client().CoreV1().Namespaces().Get(ctxFor(t), "anon", metav1.GetOptions{}); err == nil {
		t.Fatalf("the anonymous POST created namespace anon")
	}
	// The refusals are counted, as upstream's apiserver_request_total does.
	if got := metric(t, newRawClient(t, c), "apiserver_request_total", map[string]string{"code": "401"}); got < 7 {
		t.Errorf("apiserver_request_total{code=\"401\"} = %v; want at least 7", got)
	}
}

// TestCompacted reads at revisions etcd compacted away: a continue token and an
// exact resourceVersion get 410 Expired, as upstream.
func TestCompacted(t *testing.T) {
	t.Parallel()
	c := tendtest.Start(t, tendtest.Options{Tune: func(cfg *apiserver.Config) {
		cfg.Storage.CompactInterval = 50 * time.Millisecond
	}})
	rc := newRawClient(t, c)
	ns := makeNamespace(t, c.Client(), "compacted")
	base := "/api/v1/namespaces/" + ns + "/configmaps"
	for i := range 3 {
		createCM(t, rc, ns, fmt.Sprintf("cm-%d", i), nil)
	}
	r := rc.do("GET", base+"?limit=1", nil)
	r.wantCode(t, "GET first page", http.StatusOK)
	var first corev1.ConfigMapList
	r.object(t, &first)
	if first.Continue == "" {
		t.Fatalf("first page has no continue token")
	}
	// Move on and wait for etcd to compact past the first page's revision.
	eventually(t, 10*time.Second, func() error {
		createCM(t, rc, ns, fmt.Sprintf("later-%d", time.Now().UnixNano()), nil)
		r := rc.do("GET", base+"?resourceVersionMatch=Exact&resourceVersion="+first.ResourceVersion, nil)
		if r.code != http.StatusGone {
			return fmt.Errorf("LIST at revision %s = %d; want 410 once compacted", first.ResourceVersion, r.code)
		}
		return nil
	})
	tests := []badRequest{
		{name: "exact resourceVersion", method: "GET", path: base + "?resourceVersionMatch=Exact&resourceVersion=" + first.ResourceVersion, code: http.StatusGone, reason: metav1.StatusReasonExpired},
		{name: "continue token", method: "GET", path: base + "?limit=1&continue=" + first.Continue, code: http.StatusGone, reason: metav1.StatusReasonExpired},
	}
	for _, tt := range tests {
		checkStatus(t, tt, rc.do(tt.method, tt.path, nil))
	}
}

// TestTooLargeResourceVersion reads at a revision the server has not reached:
// after a few seconds, 504 with upstream's ResourceVersionTooLarge cause, which
// client-go's reflector looks for.
func TestTooLargeResourceVersion(t *testing.T) {
	t.Parallel()
	c := tendtest.Start(t, tendtest.Options{})
	cs := c.Client()
	ns := makeNamespace(t, cs, "future")
	future := strconv.FormatInt(revision(t, cs)+1000, 10)
	// Raw: client-go would retry, as the answer carries Retry-After.
	rc := newRawClient(t, c)
	r := rc.do("GET", "/api/v1/namespaces/"+ns+"/configmaps?resourceVersionMatch=NotOlderThan&resourceVersion="+future, nil)
	if err := apierrors.FromObject(ptr(r.status(t))); r.code != http.StatusGatewayTimeout || !apierrors.IsTimeout(err) ||
		!apierrors.HasStatusCause(err, metav1.CauseTypeResourceVersionTooLarge) || r.header.Get("Retry-After") != "1" {
		t.Errorf("LIST at a future resourceVersion: %d %s (Retry-After %q); want a 504 Timeout with cause ResourceVersionTooLarge, Retry-After 1", r.code, r.body, r.header.Get("Retry-After"))
	}
	ws := rc.watch("/api/v1/namespaces/" + ns + "/configmaps?watch=true&resourceVersion=" + future)
	e := ws.next()
	var st metav1.Status
	if err := json.Unmarshal(e.Object, &st); err != nil {
		t.Fatal(err)
	}
	if se := (&apierrors.StatusError{ErrStatus: st}); e.Type != "ERROR" || !apierrors.IsTimeout(se) || !apierrors.HasStatusCause(se, metav1.CauseTypeResourceVersionTooLarge) {
		t.Errorf("watch at a future resourceVersion: %s %s; want an ERROR event with a 504 ResourceVersionTooLarge Status", e.Type, e.Object)
	}
}
