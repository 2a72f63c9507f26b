package apiserver_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/tendhq/tend/apiserver"
	"github.com/tendhq/tend/tendtest"
)

// kubectlTableAccept is the Accept header of `kubectl get`.
const kubectlTableAccept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"

func cmJSON(name string, labels map[string]string) map[string]any {
	return map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": name, "labels": labels},
		"data":     map[string]string{"k": name},
	}
}

// createCM creates a ConfigMap over raw HTTP and returns its resourceVersion.
func createCM(t *testing.T, rc *rawClient, ns, name string, labels map[string]string) string {
	t.Helper()
	r := rc.do("POST", "/api/v1/namespaces/"+ns+"/configmaps", cmJSON(name, labels))
	r.wantCode(t, "POST configmap "+name, http.StatusCreated)
	var cm corev1.ConfigMap
	r.object(t, &cm)
	return cm.ResourceVersion
}

func TestRawHTTP(t *testing.T) {
	t.Parallel()
	c := tendtest.Start(t, tendtest.Options{Tune: func(cfg *apiserver.Config) {
		cfg.Storage.BookmarkInterval = 200 * time.Millisecond
	}})
	rc := newRawClient(t, c)
	cs := c.Client()

	t.Run("create and list", func(t *testing.T) {
		t.Parallel()
		ns := makeNamespace(t, cs, "raw-crud")
		r := rc.do("POST", "/api/v1/namespaces/"+ns+"/configmaps", cmJSON("one", nil))
		r.wantCode(t, "POST", http.StatusCreated)
		if got := r.header.Get("Content-Type"); got != "application/json" {
			t.Errorf("POST Content-Type = %q; want application/json", got)
		}
		var cm corev1.ConfigMap
		r.object(t, &cm)
		if cm.Kind != "ConfigMap" || cm.APIVersion != "v1" || cm.Namespace != ns || cm.UID == "" {
			t.Fatalf("POST = kind %q apiVersion %q namespace %q uid %q; want ConfigMap v1 %s and a uid", cm.Kind, cm.APIVersion, cm.Namespace, cm.UID, ns)
		}
		r = rc.do("GET", "/api/v1/namespaces/"+ns+"/configmaps", nil)
		r.wantCode(t, "GET list", http.StatusOK)
		var l corev1.ConfigMapList
		r.object(t, &l)
		if l.Kind != "ConfigMapList" || l.APIVersion != "v1" || len(l.Items) != 1 || l.Items[0].Name != "one" || l.ResourceVersion == "" {
			t.Fatalf("GET list = kind %q apiVersion %q %d items rv %q; want ConfigMapList v1 with one and a resourceVersion", l.Kind, l.APIVersion, len(l.Items), l.ResourceVersion)
		}
		r = rc.do("GET", "/api/v1/configmaps?labelSelector=nothing%3Dhere", nil)
		r.wantCode(t, "GET list across namespaces", http.StatusOK)
	})

	t.Run("watch", func(t *testing.T) {
		t.Parallel()
		ns := makeNamespace(t, cs, "raw-watch")
		rv1 := createCM(t, rc, ns, "before", nil)
		ws := rc.watch("/api/v1/namespaces/" + ns + "/configmaps?watch=true")
		if got := ws.resp.Header.Get("Content-Type"); got != "application/json" {
			t.Errorf("watch Content-Type = %q; want application/json", got)
		}
		e := ws.next()
		if e.Type != "ADDED" || e.meta(t).Name != "before" || e.meta(t).ResourceVersion != rv1 {
			t.Fatalf("first event = %s %s rv %s; want ADDED before rv %s", e.Type, e.meta(t).Name, e.meta(t).ResourceVersion, rv1)
		}
		rv2 := createCM(t, rc, ns, "after", nil)
		e = ws.next()
		if e.Type != "ADDED" || e.meta(t).Name != "after" || e.meta(t).ResourceVersion != rv2 {
			t.Fatalf("second event = %s %s rv %s; want ADDED after rv %s", e.Type, e.meta(t).Name, e.meta(t).ResourceVersion, rv2)
		}
		r := rc.do("DELETE", "/api/v1/namespaces/"+ns+"/configmaps/after", nil)
		r.wantCode(t, "DELETE", http.StatusOK)
		e = ws.next()
		if e.Type != "DELETED" || e.meta(t).Name != "after" {
			t.Fatalf("third event = %s %s; want DELETED after", e.Type, e.meta(t).Name)
		}
		var obj struct{ Kind, APIVersion string }
		if err := json.Unmarshal(e.Object, &obj); err != nil || obj.Kind != "ConfigMap" || obj.APIVersion != "v1" {
			t.Fatalf("DELETED object kind %q apiVersion %q (%v); want ConfigMap v1", obj.Kind, obj.APIVersion, err)
		}

		// Replay from a resourceVersion: everything after it, nothing before.
		ws2 := rc.watch("/api/v1/namespaces/" + ns + "/configmaps?watch=true&resourceVersion=" + rv1)
		for _, want := range []string{"ADDED after", "DELETED after"} {
			e := ws2.next()
			if got := e.Type + " " + e.meta(t).Name; got != want {
				t.Fatalf("replayed event = %q; want %q", got, want)
			}
		}
		ws2.none(200 * time.Millisecond)

		// Watching one object by name (kubectl get NAME -w).
		ws3 := rc.watch("/api/v1/namespaces/" + ns + "/configmaps?watch=true&fieldSelector=metadata.name%3Dbefore")
		if e := ws3.next(); e.Type != "ADDED" || e.meta(t).Name != "before" {
			t.Fatalf("watch by name: first event %s %s; want ADDED before", e.Type, e.meta(t).Name)
		}
		createCM(t, rc, ns, "other", nil)
		ws3.none(200 * time.Millisecond)

		// Watching one object by its path, and the legacy /watch/ prefix.
		for _, path := range []string{
			"/api/v1/namespaces/" + ns + "/configmaps/before?watch=true",
			"/api/v1/watch/namespaces/" + ns + "/configmaps/before",
		} {
			ws := rc.watch(path)
			if e := ws.next(); e.Type != "ADDED" || e.meta(t).Name != "before" {
				t.Fatalf("watch %s: first event %s %s; want ADDED before", path, e.Type, e.meta(t).Name)
			}
			ws.none(100 * time.Millisecond)
		}
		ws4 := rc.watch("/api/v1/watch/namespaces/" + ns + "/configmaps")
		var names []string
		for range 2 {
			names = append(names, ws4.next().meta(t).Name)
		}
		if !slices.Equal(names, []string{"before", "other"}) {
			t.Fatalf("legacy /watch/ of the collection: %v; want before, other", names)
		}
	})

	t.Run("watch timeoutSeconds", func(t *testing.T) {
		t.Parallel()
		ns := makeNamespace(t, cs, "raw-timeout")
		start := time.Now()
		ws := rc.watch("/api/v1/namespaces/" + ns + "/configmaps?watch=true&timeoutSeconds=1")
		select {
		case l, ok := <-ws.lines:
			if ok {
				t.Fatalf("unexpected event %s", l)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("watch with timeoutSeconds=1 still open after 5s")
		}
		if d := time.Since(start); d < 900*time.Millisecond {
			t.Fatalf("watch with timeoutSeconds=1 ended after %v; want about 1s", d)
		}
	})

	t.Run("query parameters clients send", func(t *testing.T) {
		t.Parallel()
		ns := makeNamespace(t, cs, "raw-params")
		// kubectl apply (client side) and kubectl create send these.
		r := rc.do("POST", "/api/v1/namespaces/"+ns+"/configmaps?fieldManager=kubectl-client-side-apply&fieldValidation=Strict", cmJSON("a", nil))
		r.wantCode(t, "POST with fieldManager", http.StatusCreated)
		r = rc.do("PATCH", "/api/v1/namespaces/"+ns+"/configmaps/a?fieldManager=kubectl-edit&fieldValidation=Strict", `{"data":{"k":"patched"}}`, "Content-Type", "application/strategic-merge-patch+json")
		r.wantCode(t, "PATCH with fieldManager", http.StatusOK)
		r = rc.do("DELETE", "/api/v1/namespaces/"+ns+"/configmaps/a?gracePeriodSeconds=0&propagationPolicy=Background", nil)
		r.wantCode(t, "DELETE with kubectl's options", http.StatusOK)
	})

	// An object that starts or stops matching a watch's selector is ADDED to or
	// DELETED from it, as upstream's watch cache reports.
	t.Run("watch selector transitions", func(t *testing.T) {
		t.Parallel()
		ns := makeNamespace(t, cs, "raw-trans")
		ctx := ctxFor(t)
		cms := cs.CoreV1().ConfigMaps(ns)
		cm, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm", Labels: map[string]string{"tier": "db"}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ws := rc.watch("/api/v1/namespaces/" + ns + "/configmaps?watch=true&labelSelector=tier%3Dweb&resourceVersion=" + cm.ResourceVersion)
		steps := []struct {
			tier, want string
		}{{"web", "ADDED"}, {"web", "MODIFIED"}, {"db", "DELETED"}, {"web", "ADDED"}}
		for i, s := range steps {
			cm.Labels["tier"] = s.tier
			cm.Data = map[string]string{"step": strconv.Itoa(i)}
			if cm, err = cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
			e := ws.next()
			if e.Type != s.want || e.meta(t).ResourceVersion != cm.ResourceVersion {
				t.Fatalf("step %d (tier=%s): event %s rv %s; want %s rv %s", i, s.tier, e.Type, e.meta(t).ResourceVersion, s.want, cm.ResourceVersion)
			}
		}
	})

	t.Run("watch lines", func(t *testing.T) {
		t.Parallel()
		ns := makeNamespace(t, cs, "raw-lines")
		for i := range 5 {
			createCM(t, rc, ns, fmt.Sprintf("cm-%d", i), nil)
		}
		for round, client := range []*rawClient{rc, newHTTP1Client(t, c)} {
			ws := client.watch("/api/v1/namespaces/" + ns + "/configmaps?watch=1")
			if client != rc && ws.resp.ProtoMajor != 1 {
				t.Fatalf("HTTP/1.1 client spoke %s", ws.resp.Proto)
			}
			for i := range 5 {
				l := ws.nextLine()
				var e watchEvent
				if err := json.Unmarshal(l, &e); err != nil {
					t.Fatalf("%s: line %d %q is not one JSON object: %v", ws.resp.Proto, i, l, err)
				}
				if e.Type != "ADDED" || e.meta(t).Name != fmt.Sprintf("cm-%d", i) {
					t.Fatalf("%s: line %d = %s %s; want ADDED cm-%d", ws.resp.Proto, i, e.Type, e.meta(t).Name, i)
				}
			}
			for range round {
				ws.next() // the late ConfigMaps of earlier rounds
			}
			// Later events arrive as they happen, not when a buffer fills.
			late := fmt.Sprintf("late-%d", round)
			createCM(t, client, ns, late, nil)
			if e := ws.next(); e.Type != "ADDED" || e.meta(t).Name != late {
				t.Fatalf("%s: event after create = %s %s; want ADDED %s", ws.resp.Proto, e.Type, e.meta(t).Name, late)
			}
		}
	})

	t.Run("bookmarks", func(t *testing.T) {
		t.Parallel()
		ns := makeNamespace(t, cs, "raw-bookmarks")
		rv := createCM(t, rc, ns, "a", nil)
		ws := rc.watch("/api/v1/namespaces/" + ns + "/configmaps?watch=true&allowWatchBookmarks=true&resourceVersion=" + rv)
		e := ws.next()
		if e.Type != "BOOKMARK" {
			t.Fatalf("event = %s; want BOOKMARK", e.Type)
		}
		var bm struct {
			Kind, APIVersion string
			Metadata         map[string]any
		}
		if err := json.Unmarshal(e.Object, &bm); err != nil {
			t.Fatal(err)
		}
		brv, _ := strconv.ParseInt(fmt.Sprint(bm.Metadata["resourceVersion"]), 10, 64)
		orv, _ := strconv.ParseInt(rv, 10, 64)
		if bm.Kind != "ConfigMap" || bm.APIVersion != "v1" || brv < orv {
			t.Fatalf("bookmark = %s; want an empty ConfigMap v1 with resourceVersion >= %s", e.Object, rv)
		}
		// Without allowWatchBookmarks, none.
		ws2 := rc.watch("/api/v1/namespaces/" + ns + "/configmaps?watch=true&resourceVersion=" + rv)
		ws2.none(500 * time.Millisecond)
	})

	t.Run("sendInitialEvents", func(t *testing.T) {
		t.Parallel()
		ns := makeNamespace(t, cs, "raw-initial")
		for _, n := range []string{"c", "a", "b"} {
			createCM(t, rc, ns, n, nil)
		}
		tests := []struct {
			query string
			rv    string
		}{
			{"sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true", ""},
			{"sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&resourceVersion=0", "0"},
		}
		for _, tt := range tests {
			ws := rc.watch("/api/v1/namespaces/" + ns + "/configmaps?watch=true&" + tt.query)
			var names []string
			var e watchEvent
			for {
				e = ws.next()
				if e.Type != "ADDED" {
					break
				}
				names = append(names, e.meta(t).Name)
			}
			if !slices.Equal(names, []string{"a", "b", "c"}) {
				t.Errorf("%s: initial events for %v; want a, b, c", tt.query, names)
			}
			m := e.meta(t)
			if e.Type != "BOOKMARK" || m.Annotations[metav1.InitialEventsAnnotationKey] != "true" || m.ResourceVersion == "" {
				t.Fatalf("%s: event after the initial ones = %s %s; want a BOOKMARK annotated %s: \"true\"", tt.query, e.Type, e.Object, metav1.InitialEventsAnnotationKey)
			}
		}
		// sendInitialEvents needs allowWatchBookmarks and resourceVersionMatch.
		for _, q := range []string{
			"sendInitialEvents=true&resourceVersionMatch=NotOlderThan",
			"sendInitialEvents=true&allowWatchBookmarks=true",
		} {
			r := rc.do("GET", "/api/v1/namespaces/"+ns+"/configmaps?watch=true&"+q, nil)
			if st := r.status(t); r.code != http.StatusBadRequest || st.Reason != metav1.StatusReasonBadRequest {
				t.Errorf("watch %s = %d %s; want 400 BadRequest", q, r.code, st.Reason)
			}
		}
	})

	t.Run("table", func(t *testing.T) {
		t.Parallel()
		ns := makeNamespace(t, cs, "raw-table")
		createCM(t, rc, ns, "a", nil)
		createCM(t, rc, ns, "b", nil)
		base := "/api/v1/namespaces/" + ns + "/configmaps"
		tests := []struct {
			path       string
			rows       int
			object     string // the kind of row.object, "" for none
			hasColumns bool
		}{
			{base, 2, "PartialObjectMetadata", true},
			{base + "/a", 1, "PartialObjectMetadata", true},
			{base + "?includeObject=Object", 2, "ConfigMap", true},
			{base + "?includeObject=None", 2, "", true},
			{base + "/b?includeObject=Object", 1, "ConfigMap", true},
		}
		for _, tt := range tests {
			r := rc.do("GET", tt.path, nil, "Accept", kubectlTableAccept)
			r.wantCode(t, "GET "+tt.path, http.StatusOK)
			if got, want := r.header.Get("Content-Type"), "application/json;as=Table;v=v1;g=meta.k8s.io"; got != want {
				t.Errorf("GET %s Content-Type = %q; want %q", tt.path, got, want)
			}
			var tbl metav1.Table
			r.object(t, &tbl)
			if tbl.Kind != "Table" || tbl.APIVersion != "meta.k8s.io/v1" || len(tbl.Rows) != tt.rows || (len(tbl.ColumnDefinitions) > 0) != tt.hasColumns {
				t.Fatalf("GET %s = kind %q apiVersion %q, %d rows, %d columns; want Table meta.k8s.io/v1, %d rows, columns %v",
					tt.path, tbl.Kind, tbl.APIVersion, len(tbl.Rows), len(tbl.ColumnDefinitions), tt.rows, tt.hasColumns)
			}
			if tbl.ColumnDefinitions[0].Name != "Name" || len(tbl.Rows[0].Cells) != len(tbl.ColumnDefinitions) {
				t.Fatalf("GET %s: first column %q, %d cells for %d columns; want Name and one cell per column", tt.path, tbl.ColumnDefinitions[0].Name, len(tbl.Rows[0].Cells), len(tbl.ColumnDefinitions))
			}
			var obj struct{ Kind string }
			if len(tbl.Rows[0].Object.Raw) > 0 {
				if err := json.Unmarshal(tbl.Rows[0].Object.Raw, &obj); err != nil {
					t.Fatal(err)
				}
			}
			if obj.Kind != tt.object {
				t.Fatalf("GET %s: row object kind %q; want %q", tt.path, obj.Kind, tt.object)
			}
		}
		r := rc.do("GET", base+"?includeObject=Everything", nil, "Accept", kubectlTableAccept)
		r.wantCode(t, "GET includeObject=Everything", http.StatusBadRequest)

		// Watch as Table: one Table per event, column definitions only in the first.
		ws := rc.watch(base+"?watch=true", "Accept", kubectlTableAccept)
		for i, name := range []string{"a", "b"} {
			e := ws.next()
			var tbl metav1.Table
			if err := json.Unmarshal(e.Object, &tbl); err != nil {
				t.Fatal(err)
			}
			if e.Type != "ADDED" || tbl.Kind != "Table" || len(tbl.Rows) != 1 || tbl.Rows[0].Cells[0] != name || (len(tbl.ColumnDefinitions) > 0) != (i == 0) {
				t.Fatalf("watch event %d = %s %s; want ADDED Table of %s, columns only in the first", i, e.Type, e.Object, name)
			}
		}
	})

	t.Run("partial object metadata", func(t *testing.T) {
		t.Parallel()
		ns := makeNamespace(t, cs, "raw-partial")
		createCM(t, rc, ns, "a", map[string]string{"x": "y"})
		base := "/api/v1/namespaces/" + ns + "/configmaps"
		r := rc.do("GET", base, nil, "Accept", "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json")
		r.wantCode(t, "GET list as PartialObjectMetadataList", http.StatusOK)
		var l metav1.PartialObjectMetadataList
		r.object(t, &l)
		if l.Kind != "PartialObjectMetadataList" || l.APIVersion != "meta.k8s.io/v1" || len(l.Items) != 1 ||
			l.Items[0].Kind != "PartialObjectMetadata" || l.Items[0].Labels["x"] != "y" || bytes.Contains(r.body, []byte(`"data"`)) {
			t.Fatalf("GET list as PartialObjectMetadataList = %s; want one PartialObjectMetadata with labels and no data", r.body)
		}
		r = rc.do("GET", base+"/a", nil, "Accept", "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1")
		r.wantCode(t, "GET as PartialObjectMetadata", http.StatusOK)
		var p metav1.PartialObjectMetadata
		r.object(t, &p)
		if p.Kind != "PartialObjectMetadata" || p.Name != "a" || p.ResourceVersion == "" {
			t.Fatalf("GET as PartialObjectMetadata = %s; want a's metadata", r.body)
		}
		// Asking only for a form the server does not serve is 406.
		r = rc.do("GET", base, nil, "Accept", "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1")
		r.wantCode(t, "GET list as PartialObjectMetadata (not List)", http.StatusNotAcceptable)
		r = rc.do("GET", base, nil, "Accept", "text/html")
		r.wantCode(t, "GET list as text/html", http.StatusNotAcceptable)
	})

	t.Run("yaml", func(t *testing.T) {
		t.Parallel()
		ns := makeNamespace(t, cs, "raw-yaml")
		body := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\n  labels:\n    a: b\ndata:\n  key: \"1\"\n"
		r := rc.do("POST", "/api/v1/namespaces/"+ns+"/configmaps", body, "Content-Type", "application/yaml")
		r.wantCode(t, "POST YAML", http.StatusCreated)
		var cm corev1.ConfigMap
		r.object(t, &cm)
		if cm.Name != "from-yaml" || cm.Data["key"] != "1" || cm.Labels["a"] != "b" {
			t.Fatalf("POST YAML = %s; want from-yaml with data key=1", r.body)
		}
		r = rc.do("GET", "/api/v1/namespaces/"+ns+"/configmaps/from-yaml", nil, "Accept", "application/yaml")
		r.wantCode(t, "GET as YAML", http.StatusOK)
		if ct := r.header.Get("Content-Type"); ct != "application/yaml" {
			t.Errorf("GET as YAML Content-Type = %q; want application/yaml", ct)
		}
		var back corev1.ConfigMap
		if err := yaml.UnmarshalStrict(r.body, &back); err != nil || back.Name != "from-yaml" || !strings.HasPrefix(string(r.body), "apiVersion: v1\n") {
			t.Fatalf("GET as YAML = %q (%v); want YAML of from-yaml", r.body, err)
		}
		// PUT with YAML too.
		upd := strings.Replace(body, `key: "1"`, `key: "2"`, 1) + fmt.Sprintf("---\n")
		upd = strings.Replace(upd, "  name: from-yaml\n", "  name: from-yaml\n  resourceVersion: \""+back.ResourceVersion+"\"\n", 1)
		r = rc.do("PUT", "/api/v1/namespaces/"+ns+"/configmaps/from-yaml", strings.TrimSuffix(upd, "---\n"), "Content-Type", "application/yaml")
		r.wantCode(t, "PUT YAML", http.StatusOK)
	})

	t.Run("pretty", func(t *testing.T) {
		t.Parallel()
		ns := makeNamespace(t, cs, "raw-pretty")
		createCM(t, rc, ns, "a", nil)
		r := rc.do("GET", "/api/v1/namespaces/"+ns+"/configmaps/a?pretty=true", nil)
		r.wantCode(t, "GET pretty", http.StatusOK)
		if !bytes.HasPrefix(r.body, []byte("{\n  \"kind\": \"ConfigMap\",\n")) {
			t.Fatalf("GET ?pretty=true = %q; want indented JSON", r.body)
		}
		r = rc.do("GET", "/api/v1/namespaces/"+ns+"/configmaps/a", nil)
		if bytes.Contains(r.body, []byte("\n  ")) {
			t.Fatalf("GET = %q; want compact JSON", r.body)
		}
		r = rc.do("GET", "/api/v1/namespaces/"+ns+"/configmaps/a", nil, "User-Agent", "curl/8.5.0")
		if !bytes.HasPrefix(r.body, []byte("{\n  ")) {
			t.Fatalf("GET from curl = %q; want indented JSON, as upstream gives curl", r.body)
		}
	})

	t.Run("list at an exact revision", func(t *testing.T) {
		t.Parallel()
		ns := makeNamespace(t, cs, "raw-exact")
		rv := createCM(t, rc, ns, "a", nil)
		createCM(t, rc, ns, "b", nil)
		r := rc.do("DELETE", "/api/v1/namespaces/"+ns+"/configmaps/a", nil)
		r.wantCode(t, "DELETE a", http.StatusOK)
		tests := []struct {
			query string
			want  []string
		}{
			{"resourceVersionMatch=Exact&resourceVersion=" + rv, []string{"a"}},
			{"resourceVersionMatch=NotOlderThan&resourceVersion=" + rv, []string{"b"}},
			{"resourceVersion=0", []string{"b"}},
			{"", []string{"b"}},
		}
		for _, tt := range tests {
			r := rc.do("GET", "/api/v1/namespaces/"+ns+"/configmaps?"+tt.query, nil)
			r.wantCode(t, "GET ?"+tt.query, http.StatusOK)
			var l corev1.ConfigMapList
			r.object(t, &l)
			var names []string
			for _, it := range l.Items {
				names = append(names, it.Name)
			}
			if !slices.Equal(names, tt.want) {
				t.Errorf("GET ?%s = %v; want %v", tt.query, names, tt.want)
			}
			if strings.Contains(tt.query, "Exact") && l.ResourceVersion != rv {
				t.Errorf("GET ?%s: list resourceVersion %s; want %s", tt.query, l.ResourceVersion, rv)
			}
		}
	})

	// Paging; with a write between pages, the later pages still show the first
	// page's snapshot (upstream reads them from etcd at that revision) and still
	// count the items left.
	for _, writeBetween := range []bool{false, true} {
		t.Run(fmt.Sprintf("paging write between pages=%v", writeBetween), func(t *testing.T) {
			t.Parallel()
			ns := makeNamespace(t, cs, fmt.Sprintf("raw-paging-%v", writeBetween))
			for i := range 5 {
				createCM(t, rc, ns, fmt.Sprintf("cm-%d", i), nil)
			}
			base := "/api/v1/namespaces/" + ns + "/configmaps?limit=2"
			var names []string
			var remaining []int64
			var listRV string
			cont := ""
			for page := 0; ; page++ {
				path := base
				if cont != "" {
					path += "&continue=" + cont
				}
				r := rc.do("GET", path, nil)
				r.wantCode(t, "GET "+path, http.StatusOK)
				var l corev1.ConfigMapList
				r.object(t, &l)
				for _, it := range l.Items {
					names = append(names, it.Name)
				}
				if page == 0 {
					listRV = l.ResourceVersion
					if writeBetween {
						createCM(t, rc, ns, "cm-late", nil)
					}
				} else if l.ResourceVersion != listRV {
					t.Errorf("page %d resourceVersion = %s; want the first page's %s", page, l.ResourceVersion, listRV)
				}
				if l.RemainingItemCount != nil {
					remaining = append(remaining, *l.RemainingItemCount)
				}
				cont = l.Continue
				if cont == "" {
					break
				}
				if page > 5 {
					t.Fatalf("more than 5 pages")
				}
			}
			if want := []string{"cm-0", "cm-1", "cm-2", "cm-3", "cm-4"}; !slices.Equal(names, want) {
				t.Errorf("paged names = %v; want %v", names, want)
			}
			if want := []int64{3, 1}; !slices.Equal(remaining, want) {
				t.Errorf("remainingItemCount of the pages = %v; want %v", remaining, want)
			}
			// A continue token with a resourceVersion is refused, as upstream.
			r := rc.do("GET", base+"&continue=abc&resourceVersion=5", nil)
			r.wantCode(t, "GET with continue and resourceVersion", http.StatusBadRequest)
			// Selectors make the remaining count unknown: upstream leaves it unset.
			r = rc.do("GET", base+"&labelSelector=!nothing", nil)
			var l corev1.ConfigMapList
			r.object(t, &l)
			if l.RemainingItemCount != nil || l.Continue == "" {
				t.Errorf("GET with a selector: remainingItemCount %v, continue %q; want unset and a continue token", l.RemainingItemCount, l.Continue)
			}
		})
	}

	t.Run("field selectors", func(t *testing.T) {
		t.Parallel()
		ns := makeNamespace(t, cs, "raw-fields")
		ctx := ctxFor(t)
		for _, p := range []*corev1.Pod{testPod("p1", "n1"), testPod("p2", "n2"), testPod("p3", "")} {
			if _, err := cs.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		p1, err := cs.CoreV1().Pods(ns).Get(ctx, "p1", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p1.Status.Phase = corev1.PodRunning
		if _, err := cs.CoreV1().Pods(ns).UpdateStatus(ctx, p1, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		for i, obj := range []string{"p1", "p2", "p1"} {
			ev := &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("ev-%d", i)},
				InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: obj}, Reason: "Test", Type: "Normal"}
			if _, err := cs.CoreV1().Events(ns).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		tests := []struct {
			path string
			want []string
		}{
			{"/api/v1/namespaces/" + ns + "/pods?fieldSelector=spec.nodeName%3Dn1", []string{"p1"}},
			{"/api/v1/namespaces/" + ns + "/pods?fieldSelector=spec.nodeName%3D", []string{"p3"}},
			{"/api/v1/namespaces/" + ns + "/pods?fieldSelector=spec.nodeName!%3D", []string{"p1", "p2"}},
			{"/api/v1/pods?fieldSelector=spec.nodeName%3Dn2", []string{"p2"}},
			{"/api/v1/namespaces/" + ns + "/pods?fieldSelector=status.phase%3DRunning", []string{"p1"}},
			{"/api/v1/namespaces/" + ns + "/pods?fieldSelector=status.phase%3DPending", []string{"p2", "p3"}},
			{"/api/v1/namespaces/" + ns + "/pods?fieldSelector=status.phase!%3DRunning,spec.nodeName%3Dn2", []string{"p2"}},
			{"/api/v1/namespaces/" + ns + "/pods?fieldSelector=metadata.name%3Dp3", []string{"p3"}},
			{"/api/v1/pods?fieldSelector=metadata.namespace%3D" + ns + ",spec.nodeName%3Dn1", []string{"p1"}},
			{"/api/v1/namespaces/" + ns + "/events?fieldSelector=involvedObject.name%3Dp1", []string{"ev-0", "ev-2"}},
		}
		for _, tt := range tests {
			r := rc.do("GET", tt.path, nil)
			r.wantCode(t, "GET "+tt.path, http.StatusOK)
			var l struct {
				Items []struct{ Metadata metav1.ObjectMeta }
			}
			r.object(t, &l)
			var names []string
			for _, it := range l.Items {
				names = append(names, it.Metadata.Name)
			}
			if !slices.Equal(names, tt.want) {
				t.Errorf("GET %s = %v; want %v", tt.path, names, tt.want)
			}
		}
		for _, path := range []string{
			"/api/v1/namespaces/" + ns + "/pods?fieldSelector=spec.containers%3Dx",
			"/api/v1/namespaces/" + ns + "/configmaps?fieldSelector=data.k%3Dv",
			"/api/v1/namespaces/" + ns + "/pods?fieldSelector=spec.nodeName%3Dn1&watch=true",
			"/api/v1/namespaces/" + ns + "/pods?fieldSelector=spec.nodeName%3Dn1%3Dn2",
		} {
			if strings.HasSuffix(path, "watch=true") {
				path = strings.Replace(path, "spec.nodeName", "spec.bogus", 1)
			}
			r := rc.do("GET", path, nil)
			st := r.status(t)
			if r.code != http.StatusBadRequest || st.Reason != metav1.StatusReasonBadRequest {
				t.Errorf("GET %s = %d %s %q; want 400 BadRequest", path, r.code, st.Reason, st.Message)
			}
		}
		r := rc.do("GET", "/api/v1/namespaces/"+ns+"/pods?fieldSelector=spec.containers%3Dx", nil)
		if st := r.status(t); st.Message != "field label not supported: spec.containers" {
			t.Errorf("unsupported field selector message = %q; want upstream's %q", st.Message, "field label not supported: spec.containers")
		}
	})
}
