package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
)

// curl talks to a server with the real curl, as the admin of its kubeconfig
// or, anonymous, with only the CA.
type curl struct {
	s         *server
	path      string
	ca        string
	cert, key string // empty: no client certificate
}

// curl returns a client holding the CA, client certificate and key of the
// admin kubeconfig (written to t's temporary files); t is skipped when curl
// is not installed.
func (s *server) curl(t *testing.T) *curl {
	t.Helper()
	path, err := exec.LookPath("curl")
	if err != nil {
		t.Skipf("curl is not installed: %v", err)
	}
	cfg, err := clientcmd.LoadFromFile(s.kubeconfig)
	if err != nil {
		t.Fatalf("reading the admin kubeconfig: %v", err)
	}
	ctx := cfg.Contexts[cfg.CurrentContext]
	cluster, user := cfg.Clusters[ctx.Cluster], cfg.AuthInfos[ctx.AuthInfo]
	if len(cluster.CertificateAuthorityData) == 0 || len(user.ClientCertificateData) == 0 || len(user.ClientKeyData) == 0 {
		t.Fatalf("admin kubeconfig %s: want certificate-authority-data, client-certificate-data and client-key-data", s.kubeconfig)
	}
	dir := t.TempDir()
	c := &curl{s: s, path: path,
		ca:   filepath.Join(dir, "ca.crt"),
		cert: filepath.Join(dir, "admin.crt"),
		key:  filepath.Join(dir, "admin.key"),
	}
	for file, data := range map[string][]byte{c.ca: cluster.CertificateAuthorityData, c.cert: user.ClientCertificateData, c.key: user.ClientKeyData} {
		if err := os.WriteFile(file, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// foreign returns a client that presents a self-signed client certificate for
// admin in system:masters, which the cluster's CA never signed.
func (c *curl) foreign(t *testing.T) *curl {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "admin", Organization: []string{"system:masters"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	f := *c
	f.cert = writeFile(t, "foreign.crt", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	f.key = writeFile(t, "foreign.key", string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})))
	return &f
}

// anonymous returns a client that trusts the server's CA but sends no credentials.
func (c *curl) anonymous() *curl {
	a := *c
	a.cert, a.key = "", ""
	return &a
}

func (c *curl) args(path string, extra ...string) []string {
	args := []string{"-sS", "--noproxy", "*", "--cacert", c.ca}
	if c.cert != "" {
		args = append(args, "--cert", c.cert, "--key", c.key)
	}
	return append(append(args, extra...), c.s.url+path)
}

// response is one HTTP exchange through curl.
type response struct {
	status int
	body   string
	result result
}

const statusMarker = "\n@@e2e-http-status:"

// do runs one request and returns its status and body.
func (c *curl) do(t *testing.T, method, path, contentType, body string) response {
	t.Helper()
	extra := []string{"-X", method, "-w", statusMarker + "%{http_code}"}
	if contentType != "" {
		extra = append(extra, "-H", "Content-Type: "+contentType)
	}
	if body != "" {
		extra = append(extra, "--data-binary", "@-")
	}
	r := run(os.Environ(), body, c.path, c.args(path, extra...)...)
	if r.code != 0 {
		t.Fatalf("curl failed:\n%s", r)
	}
	i := strings.LastIndex(r.stdout, statusMarker)
	if i < 0 {
		t.Fatalf("curl printed no status:\n%s", r)
	}
	code, err := strconv.Atoi(r.stdout[i+len(statusMarker):])
	if err != nil {
		t.Fatalf("curl status: %v\n%s", err, r)
	}
	return response{status: code, body: r.stdout[:i], result: r}
}

// want fails the test unless the response has the given status.
func (r response) want(t *testing.T, status int) response {
	t.Helper()
	if r.status != status {
		t.Fatalf("HTTP %d; want %d:\n%s", r.status, status, r.result)
	}
	return r
}

// watch starts `curl -N` on a watch URL in the background.
func (c *curl) watch(t *testing.T, path string) *background {
	t.Helper()
	cmd := exec.Command(c.path, c.args(path, "-N")...)
	return startBackground(t, cmd)
}

// TestCurl uses the API as a plain HTTPS+JSON client would.
func TestCurl(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := s.curl(t)
	c.do(t, "POST", "/api/v1/namespaces", "application/json", `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"raw"}}`).want(t, 201)
	const base = "/api/v1/namespaces/raw/configmaps"

	t.Run("create and list", func(t *testing.T) {
		r := c.do(t, "POST", base, "application/json",
			`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"posted","labels":{"via":"curl"}},"data":{"k":"v"}}`).want(t, 201)
		cm := decodeJSON(t, r.body)
		wantField(t, "POSTed ConfigMap", cm, "kind", "ConfigMap")
		wantField(t, "POSTed ConfigMap", cm, "metadata.namespace", "raw")
		wantField(t, "POSTed ConfigMap", cm, "data.k", "v")
		for _, f := range []string{"metadata.uid", "metadata.resourceVersion", "metadata.creationTimestamp"} {
			if v, ok := lookup(cm, f); !ok || v == "" {
				t.Errorf("POSTed ConfigMap: %s is not set:\n%s", f, r.body)
			}
		}

		dup := decodeJSON(t, c.do(t, "POST", base, "application/json",
			`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"posted"}}`).want(t, 409).body)
		wantField(t, "POSTing it again", dup, "kind", "Status")
		wantField(t, "POSTing it again", dup, "reason", "AlreadyExists")
		wantField(t, "POSTing it again", dup, "details.name", "posted")

		// The namespace also holds the controller-manager's kube-root-ca.crt.
		list := decodeJSON(t, c.do(t, "GET", base+"?labelSelector=via%3Dcurl", "", "").want(t, 200).body)
		wantField(t, "GET "+base, list, "kind", "ConfigMapList")
		wantField(t, "GET "+base, list, "apiVersion", "v1")
		if rv, _ := lookup(list, "metadata.resourceVersion"); rv == "" || rv == nil {
			t.Errorf("GET %s: the list has no metadata.resourceVersion", base)
		}
		wantField(t, "GET "+base, list, "items[0].metadata.name", "posted")

		sel := decodeJSON(t, c.do(t, "GET", base+"?labelSelector=via%3Dnobody", "", "").want(t, 200).body)
		if items, _ := lookup(sel, "items"); items != nil && len(items.([]any)) != 0 {
			t.Errorf("GET ?labelSelector=via=nobody: items = %v; want none", items)
		}
		bad := decodeJSON(t, c.do(t, "GET", base+"?fieldSelector=data.k%3Dv", "", "").want(t, 400).body)
		wantField(t, "an unsupported field selector", bad, "reason", "BadRequest")

		one := decodeJSON(t, c.do(t, "GET", base+"/posted", "", "").want(t, 200).body)
		wantField(t, "GET "+base+"/posted", one, "metadata.labels.via", "curl")
	})

	t.Run("watch", func(t *testing.T) {
		list := decodeJSON(t, c.do(t, "GET", base, "", "").want(t, 200).body)
		rv, _ := lookup(list, "metadata.resourceVersion")
		w := c.watch(t, base+"?watch=true&resourceVersion="+rv.(string))

		c.do(t, "POST", base, "application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"streamed"},"data":{"n":"1"}}`).want(t, 201)
		c.do(t, "PATCH", base+"/streamed", "application/merge-patch+json", `{"data":{"n":"2"}}`).want(t, 200)
		c.do(t, "DELETE", base+"/streamed", "", "").want(t, 200)

		w.waitFor(t, "the DELETED event", func(out string) bool { return strings.Contains(out, `"DELETED"`) })
		w.stop()
		// One JSON object per line, each {"type": ..., "object": ...}.
		var types []string
		for _, line := range strings.Split(strings.TrimSpace(w.stdout.String()), "\n") {
			var e watchEvent
			if err := json.Unmarshal([]byte(line), &e); err != nil {
				t.Fatalf("watch stream line %q is not one JSON event: %v\n%s", line, err, w)
			}
			if e.Type == "" || e.Object == nil {
				t.Errorf("watch stream line %q: want {\"type\":...,\"object\":...}", line)
			}
			types = append(types, e.Type)
			wantField(t, "watch event "+e.Type, e.Object, "metadata.name", "streamed")
			wantField(t, "watch event "+e.Type, e.Object, "kind", "ConfigMap")
			if e.Type == "MODIFIED" {
				wantField(t, "watch event MODIFIED", e.Object, "data.n", "2")
			}
		}
		if want := []string{"ADDED", "MODIFIED", "DELETED"}; !slices.Equal(types, want) {
			t.Errorf("watch from resourceVersion %s streamed %q; want %q\n%s", rv, types, want, w)
		}
	})

	t.Run("watch without resourceVersion", func(t *testing.T) {
		// Upstream semantics: the current objects arrive as ADDED, then changes.
		w := c.watch(t, base+"?watch=true")
		w.waitFor(t, "the synthetic ADDED for posted", func(out string) bool { return strings.Contains(out, `"posted"`) })
		c.do(t, "PATCH", base+"/posted", "application/merge-patch+json", `{"data":{"k":"changed"}}`).want(t, 200)
		w.waitFor(t, "the MODIFIED event", func(out string) bool { return strings.Contains(out, `"MODIFIED"`) })
		w.stop()
		var got []string
		for _, line := range strings.Split(strings.TrimSpace(w.stdout.String()), "\n") {
			var e watchEvent
			if err := json.Unmarshal([]byte(line), &e); err != nil {
				t.Fatalf("watch stream line %q is not one JSON event: %v", line, err)
			}
			n, _ := lookup(e.Object, "metadata.name")
			if n == "kube-root-ca.crt" { // the controller-manager's, in every namespace
				continue
			}
			got = append(got, e.Type+" "+n.(string))
		}
		if want := []string{"ADDED posted", "MODIFIED posted"}; !slices.Equal(got, want) {
			t.Errorf("watch without resourceVersion streamed %q; want %q\n%s", got, want, w)
		}
	})

	t.Run("paging", func(t *testing.T) {
		c.do(t, "POST", "/api/v1/namespaces", "application/json", `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"paged"}}`).want(t, 201)
		// Secrets: no controller adds any to a namespace (ConfigMaps get
		// kube-root-ca.crt), so the pages hold exactly these.
		for _, name := range []string{"p0", "p1", "p2"} {
			c.do(t, "POST", "/api/v1/namespaces/paged/secrets", "application/json",
				`{"apiVersion":"v1","kind":"Secret","metadata":{"name":"`+name+`"}}`).want(t, 201)
		}
		first := decodeJSON(t, c.do(t, "GET", "/api/v1/namespaces/paged/secrets?limit=2", "", "").want(t, 200).body)
		wantField(t, "the first page (limit=2)", first, "items[0].metadata.name", "p0")
		wantField(t, "the first page (limit=2)", first, "items[1].metadata.name", "p1")
		wantField(t, "the first page (limit=2)", first, "metadata.remainingItemCount", 1)
		items, _ := lookup(first, "items")
		cont, _ := lookup(first, "metadata.continue")
		token, _ := cont.(string)
		if len(items.([]any)) != 2 || token == "" {
			t.Fatalf("GET ?limit=2: %d items, continue %q; want 2 items and a continue token", len(items.([]any)), token)
		}
		second := decodeJSON(t, c.do(t, "GET", "/api/v1/namespaces/paged/secrets?limit=2&continue="+url.QueryEscape(token), "", "").want(t, 200).body)
		items, _ = lookup(second, "items")
		if len(items.([]any)) != 1 {
			t.Errorf("the second page: %d items; want 1", len(items.([]any)))
		}
		wantField(t, "the second page", second, "items[0].metadata.name", "p2")
		if cont, ok := lookup(second, "metadata.continue"); ok && cont != "" {
			t.Errorf("the last page has continue %q; want none", cont)
		}
		bad := decodeJSON(t, c.do(t, "GET", "/api/v1/namespaces/paged/secrets?limit=2&continue=garbage", "", "").want(t, 400).body)
		wantField(t, "a malformed continue token", bad, "reason", "BadRequest")
	})

	t.Run("unauthenticated", func(t *testing.T) {
		anon := c.anonymous()
		for _, path := range []string{"/livez", "/readyz", "/healthz"} {
			r := anon.do(t, "GET", path, "", "")
			if r.status != 200 || strings.TrimSpace(r.body) != "ok" {
				t.Errorf("anonymous GET %s = %d %q; want 200 ok", path, r.status, r.body)
			}
		}
		v := decodeJSON(t, anon.do(t, "GET", "/version", "", "").want(t, 200).body)
		wantField(t, "anonymous GET /version", v, "major", "1")
		for _, path := range []string{"/api", "/apis", "/api/v1/namespaces", base, "/metrics", "/openapi/v2", "/apis/apps/v1/deployments"} {
			r := anon.do(t, "GET", path, "", "")
			if r.status != 401 {
				t.Errorf("anonymous GET %s = %d; want 401:\n%s", path, r.status, r.body)
				continue
			}
			st := decodeJSON(t, r.body)
			wantField(t, "anonymous GET "+path, st, "kind", "Status")
			wantField(t, "anonymous GET "+path, st, "reason", "Unauthorized")
			wantField(t, "anonymous GET "+path, st, "code", 401)
		}
		if r := anon.do(t, "POST", base, "application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"sneaky"}}`); r.status != 401 {
			t.Errorf("anonymous POST %s = %d; want 401", base, r.status)
		}
		c.do(t, "GET", base+"/sneaky", "", "").want(t, 404)
	})

	// kube-apiserver only requests a client certificate during the TLS
	// handshake and verifies it in its authenticator: a certificate from
	// another CA gets an HTTP 401 Status, not a failed handshake, and the
	// health endpoints still answer.
	t.Run("untrusted client certificate", func(t *testing.T) {
		f := c.foreign(t)
		for _, tc := range []struct {
			path string
			want int
		}{{"/api/v1/namespaces", 401}, {"/livez", 200}, {"/version", 200}} {
			path, want := tc.path, tc.want
			r := run(os.Environ(), "", f.path, f.args(path, "-w", statusMarker+"%{http_code}")...)
			if r.code != 0 {
				t.Errorf("GET %s with a client certificate from another CA: want HTTP %d, got no HTTP answer:\n%s", path, want, r)
				continue
			}
			if got := r.stdout[strings.LastIndex(r.stdout, statusMarker)+len(statusMarker):]; got != strconv.Itoa(want) {
				t.Errorf("GET %s with a client certificate from another CA = %s; want %d:\n%s", path, got, want, r)
			}
		}
		r := c.anonymous().do(t, "GET", "/api", "", "")
		if r.status != 401 {
			t.Errorf("GET /api with no credentials = %d; want 401", r.status)
		}
	})
}
