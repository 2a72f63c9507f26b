package openapi

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	openapiv2 "github.com/google/gnostic-models/openapiv2"
	"google.golang.org/protobuf/proto"
	"k8s.io/kube-openapi/pkg/handler3"
)

func do(h http.Handler, method, target string, header map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestServe(t *testing.T) {
	h, err := New("v1.37.0", testResources())
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Build(); err != nil {
		t.Fatalf("Build: %v", err)
	}
	v2, _ := h.v2Document()
	v3, _ := h.v3Documents()
	apps := v3.byKey["apis/apps/v1"]
	const v2proto = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"

	for _, tc := range []struct {
		name        string
		method, url string
		header      map[string]string
		code        int
		contentType string
		wantHeader  map[string]string
		body        []byte // nil: not checked
	}{
		{name: "v2 json", url: "/openapi/v2", code: 200, contentType: "application/json", body: v2.json,
			wantHeader: map[string]string{"Etag": `"` + v2.etag + `"`, "Vary": "Accept"}},
		{name: "v2 protobuf", url: "/openapi/v2", header: map[string]string{"Accept": v2proto}, code: 200,
			contentType: "application/com.github.proto-openapi.spec.v2.v1.0+protobuf", wantHeader: map[string]string{"Etag": `"` + v2.etag + `"`}},
		{name: "quality decides", url: "/openapi/v2", header: map[string]string{"Accept": "application/json;q=0.5, " + v2proto}, code: 200,
			contentType: "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"},
		{name: "anything is json", url: "/openapi/v2", header: map[string]string{"Accept": "*/*"}, code: 200, contentType: "application/json"},
		{name: "not acceptable", url: "/openapi/v2", header: map[string]string{"Accept": "text/html"}, code: 406},
		{name: "not modified", url: "/openapi/v2", header: map[string]string{"If-None-Match": `"` + v2.etag + `"`}, code: 304, body: []byte{}},
		{name: "weak not modified", url: "/openapi/v3/apis/apps/v1", header: map[string]string{"If-None-Match": `"x", W/"` + apps.etag + `"`}, code: 304},
		{name: "changed", url: "/openapi/v2", header: map[string]string{"If-None-Match": `"0"`}, code: 200},
		{name: "head", method: "HEAD", url: "/openapi/v2", code: 200, body: []byte{},
			wantHeader: map[string]string{"Content-Length": strconv.Itoa(len(v2.json))}},
		{name: "v3 index", url: "/openapi/v3", code: 200, contentType: "application/json", body: v3.index.json},
		{name: "v3 current hash", url: v3URL("apis/apps/v1", apps.etag), code: 200, body: apps.json,
			wantHeader: map[string]string{"Cache-Control": "public, immutable"}},
		{name: "v3 old hash", url: "/openapi/v3/apis/apps/v1?hash=0", code: 301,
			wantHeader: map[string]string{"Location": v3URL("apis/apps/v1", apps.etag)}},
		{name: "v3 no hash", url: "/openapi/v3/apis/apps/v1", code: 200, wantHeader: map[string]string{"Cache-Control": ""}},
		{name: "v3 protobuf", url: "/openapi/v3/api/v1", header: map[string]string{"Accept": "application/com.github.proto-openapi.spec.v3@v1.0+protobuf"},
			code: 200, contentType: "application/com.github.proto-openapi.spec.v3.v1.0+protobuf"},
		{name: "v3 unknown group", url: "/openapi/v3/apis/batch/v1", code: 404, contentType: "application/json"},
		{name: "unknown path", url: "/openapi/v4", code: 404},
		{name: "post", method: "POST", url: "/openapi/v2", code: 405, wantHeader: map[string]string{"Allow": "GET, HEAD"}},
	} {
		method := tc.method
		if method == "" {
			method = "GET"
		}
		w := do(h, method, tc.url, tc.header)
		if w.Code != tc.code {
			t.Errorf("%s: %s %s = %d; want %d: %s", tc.name, method, tc.url, w.Code, tc.code, w.Body.Bytes())
			continue
		}
		if tc.contentType != "" && w.Header().Get("Content-Type") != tc.contentType {
			t.Errorf("%s: Content-Type %q; want %q", tc.name, w.Header().Get("Content-Type"), tc.contentType)
		}
		for k, v := range tc.wantHeader {
			if got := w.Header().Get(k); got != v {
				t.Errorf("%s: %s %q; want %q", tc.name, k, got, v)
			}
		}
		if tc.body != nil && !bytes.Equal(w.Body.Bytes(), tc.body) {
			t.Errorf("%s: body of %d bytes; want %d bytes", tc.name, w.Body.Len(), len(tc.body))
		}
	}

	// The protobuf form is the gnostic document of the JSON form.
	w := do(h, "GET", "/openapi/v2", map[string]string{"Accept": v2proto})
	var doc openapiv2.Document
	if err := proto.Unmarshal(w.Body.Bytes(), &doc); err != nil || doc.GetInfo().GetVersion() != "v1.37.0" {
		t.Errorf("v2 protobuf: info.version %q, error %v; want v1.37.0", doc.GetInfo().GetVersion(), err)
	}

	// Gzip when asked, of the same bytes.
	for _, accept := range []string{"application/json", v2proto} {
		plain := do(h, "GET", "/openapi/v2", map[string]string{"Accept": accept})
		w := do(h, "GET", "/openapi/v2", map[string]string{"Accept": accept, "Accept-Encoding": "br, gzip"})
		if w.Header().Get("Content-Encoding") != "gzip" {
			t.Errorf("Accept %s: Content-Encoding %q; want gzip", accept, w.Header().Get("Content-Encoding"))
			continue
		}
		zr, err := gzip.NewReader(w.Body)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(got, plain.Body.Bytes()) {
			t.Errorf("Accept %s: gunzipped body differs from the plain one (error %v)", accept, err)
		}
	}
	if w := do(h, "GET", "/openapi/v2", map[string]string{"Accept-Encoding": "gzip;q=0"}); w.Header().Get("Content-Encoding") != "" {
		t.Errorf("gzip;q=0: Content-Encoding %q; want none", w.Header().Get("Content-Encoding"))
	}

	// Every index entry leads to its document.
	var index handler3.OpenAPIV3Discovery
	if err := json.Unmarshal(v3.index.json, &index); err != nil {
		t.Fatal(err)
	}
	for key, gv := range index.Paths {
		u, err := url.Parse(gv.ServerRelativeURL)
		if err != nil || u.Path != "/openapi/v3/"+key || u.Query().Get("hash") != v3.byKey[key].etag {
			t.Errorf("index %s: serverRelativeURL %q; want /openapi/v3/%s?hash=<etag>", key, gv.ServerRelativeURL, key)
		}
	}
	if !strings.Contains(string(v3.index.json), `"apis/autoscaling/v2"`) {
		t.Errorf("index %s lacks apis/autoscaling/v2", v3.index.json)
	}
}

// TestConcurrentFirstRequests: requests racing to build get one build.
func TestConcurrentFirstRequests(t *testing.T) {
	h, err := New("v1.37.0", testResources())
	if err != nil {
		t.Fatal(err)
	}
	requests := []map[string]string{
		{"Accept": "application/json"},
		{"Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf", "Accept-Encoding": "gzip"},
		{"Accept-Encoding": "gzip"},
	}
	etags := make(chan string, 2*len(requests)*4)
	var wg sync.WaitGroup
	for range 4 {
		for _, header := range requests {
			for _, path := range []string{"/openapi/v2", "/openapi/v3/apis/apps/v1"} {
				wg.Go(func() {
					w := do(h, "GET", path, header)
					if w.Code != http.StatusOK && !(w.Code == http.StatusNotAcceptable && strings.Contains(header["Accept"], "v2@") && path != "/openapi/v2") {
						t.Errorf("GET %s %v = %d", path, header, w.Code)
					}
					if path == "/openapi/v2" {
						etags <- w.Header().Get("Etag")
					}
				})
			}
		}
	}
	wg.Wait()
	close(etags)
	first := <-etags
	for e := range etags {
		if e != first {
			t.Errorf("ETag %s; want every response to carry %s", e, first)
		}
	}
}
