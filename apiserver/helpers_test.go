package apiserver_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tendhq/tend/tendtest"
)

// ctxFor returns a context that ends with the test, bounded so that a hung
// request fails the test rather than the whole package.
func ctxFor(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// makeNamespace creates a namespace for one (sub)test and returns its name.
func makeNamespace(t *testing.T, cs kubernetes.Interface, name string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := cs.CoreV1().Namespaces().Create(ctxFor(t), ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
	return name
}

// rawClient talks to the server the way curl with the admin certificate does:
// plain HTTP requests, no client-go.
type rawClient struct {
	t    *testing.T
	base string
	hc   *http.Client
}

// newRawClient returns a client authenticated with the admin certificate the
// cluster wrote to its data directory.
func newRawClient(t *testing.T, c *tendtest.Cluster) *rawClient {
	t.Helper()
	return &rawClient{t: t, base: c.URL(), hc: &http.Client{Transport: adminTransport(t, c, true), Timeout: 30 * time.Second}}
}

// newHTTP1Client is newRawClient speaking HTTP/1.1 only, as curl without
// HTTP/2 support does: watches then stream in chunks.
func newHTTP1Client(t *testing.T, c *tendtest.Cluster) *rawClient {
	t.Helper()
	tr := adminTransport(t, c, true)
	tr.ForceAttemptHTTP2 = false
	tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	return &rawClient{t: t, base: c.URL(), hc: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

// anonymousClient trusts the cluster CA but presents no certificate.
func anonymousClient(t *testing.T, c *tendtest.Cluster) *rawClient {
	t.Helper()
	return &rawClient{t: t, base: c.URL(), hc: &http.Client{Transport: adminTransport(t, c, false), Timeout: 30 * time.Second}}
}

func adminTransport(t *testing.T, c *tendtest.Cluster, withCert bool) *http.Transport {
	t.Helper()
	pki := filepath.Join(c.Dir(), "pki")
	caPEM, err := os.ReadFile(filepath.Join(pki, "ca.crt"))
	if err != nil {
		t.Fatalf("reading the cluster CA: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatalf("no certificate in %s", filepath.Join(pki, "ca.crt"))
	}
	cfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if withCert {
		cert, err := tls.LoadX509KeyPair(filepath.Join(pki, "admin.crt"), filepath.Join(pki, "admin.key"))
		if err != nil {
			t.Fatalf("loading the admin certificate: %v", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	tr := &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true}
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// response is a whole HTTP response.
type response struct {
	code   int
	header http.Header
	body   []byte
}

// do sends a request; headers are name, value pairs. A body that is not []byte
// or string is sent as JSON.
func (rc *rawClient) do(method, path string, body any, headers ...string) *response {
	rc.t.Helper()
	resp, err := rc.send(method, path, body, headers...)
	if err != nil {
		rc.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		rc.t.Fatalf("%s %s: reading the body: %v", method, path, err)
	}
	return &response{code: resp.StatusCode, header: resp.Header, body: data}
}

// send sends a request and returns the response unread, for streams.
func (rc *rawClient) send(method, path string, body any, headers ...string) (*http.Response, error) {
	var r io.Reader
	contentType := ""
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	case string:
		r = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		r = bytes.NewReader(data)
		contentType = "application/json"
	}
	req, err := http.NewRequest(method, rc.base+path, r)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return rc.hc.Do(req)
}

// status decodes the body as a metav1.Status.
func (r *response) status(t *testing.T) metav1.Status {
	t.Helper()
	var st metav1.Status
	if err := json.Unmarshal(r.body, &st); err != nil {
		t.Fatalf("decoding a Status from %q: %v", r.body, err)
	}
	return st
}

// object decodes the body as JSON into v.
func (r *response) object(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %T from %q: %v", v, r.body, err)
	}
}

// wantCode fails the test unless the response has the code.
func (r *response) wantCode(t *testing.T, what string, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("%s: code = %d; want %d (body %s)", what, r.code, code, r.body)
	}
}

// watchEvent is one line of a watch stream.
type watchEvent struct {
	Type   string          `json:"type"`
	Object json.RawMessage `json:"object"`
}

// meta reads the metadata of an event's object.
func (e watchEvent) meta(t *testing.T) metav1.ObjectMeta {
	t.Helper()
	var o struct {
		Metadata metav1.ObjectMeta `json:"metadata"`
	}
	if err := json.Unmarshal(e.Object, &o); err != nil {
		t.Fatalf("decoding the object of a %s event %s: %v", e.Type, e.Object, err)
	}
	return o.Metadata
}

// watchStream reads a raw watch response line by line.
type watchStream struct {
	t     *testing.T
	resp  *http.Response
	lines chan []byte
}

// watch starts a raw watch; the stream is closed when the test ends.
func (rc *rawClient) watch(path string, headers ...string) *watchStream {
	rc.t.Helper()
	hc := *rc.hc
	hc.Timeout = 0
	c := &rawClient{t: rc.t, base: rc.base, hc: &hc}
	resp, err := c.send(http.MethodGet, path, nil, headers...)
	if err != nil {
		rc.t.Fatalf("watch %s: %v", path, err)
	}
	ws := &watchStream{t: rc.t, resp: resp, lines: make(chan []byte, 1000)}
	rc.t.Cleanup(func() { resp.Body.Close() })
	go func() {
		defer close(ws.lines)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 0, 64*1024), 8*1024*1024)
		for sc.Scan() {
			ws.lines <- append([]byte(nil), sc.Bytes()...)
		}
	}()
	return ws
}

// nextLine returns the next line of the stream, failing the test after a while.
func (ws *watchStream) nextLine() []byte {
	ws.t.Helper()
	select {
	case l, ok := <-ws.lines:
		if !ok {
			ws.t.Fatalf("watch stream ended early")
		}
		return l
	case <-time.After(10 * time.Second):
		ws.t.Fatalf("no watch event within 10s")
	}
	return nil
}

// next returns the next event of the stream.
func (ws *watchStream) next() watchEvent {
	ws.t.Helper()
	l := ws.nextLine()
	var e watchEvent
	if err := json.Unmarshal(l, &e); err != nil {
		ws.t.Fatalf("watch line %q is not one JSON event: %v", l, err)
	}
	return e
}

// none checks that no event arrives for a short while.
func (ws *watchStream) none(d time.Duration) {
	ws.t.Helper()
	select {
	case l, ok := <-ws.lines:
		if ok {
			ws.t.Fatalf("unexpected watch event %s", l)
		}
	case <-time.After(d):
	}
}

// revision is the store's current revision as a consistent LIST reports it: it
// moves with every write, so an unchanged revision proves nothing was stored.
func revision(t *testing.T, cs kubernetes.Interface) int64 {
	t.Helper()
	l, err := cs.CoreV1().Namespaces().List(ctxFor(t), metav1.ListOptions{Limit: 1})
	if err != nil {
		t.Fatalf("listing namespaces: %v", err)
	}
	n, err := strconv.ParseInt(l.ResourceVersion, 10, 64)
	if err != nil {
		t.Fatalf("list resourceVersion %q: %v", l.ResourceVersion, err)
	}
	return n
}

// metric returns the sum of the samples of a counter or gauge whose labels
// include want, read from the server's /metrics.
func metric(t *testing.T, rc *rawClient, name string, want map[string]string) float64 {
	t.Helper()
	r := rc.do(http.MethodGet, "/metrics", nil)
	r.wantCode(t, "GET /metrics", http.StatusOK)
	var sum float64
	for _, line := range strings.Split(string(r.body), "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		labels, value := parseSample(line[len(name):])
		match := true
		for k, v := range want {
			if labels[k] != v {
				match = false
				break
			}
		}
		if match {
			sum += value
		}
	}
	return sum
}

// parseSample parses `{a="b",c="d"} 3` of the Prometheus text format.
func parseSample(s string) (map[string]string, float64) {
	labels := map[string]string{}
	if strings.HasPrefix(s, "{") {
		end := strings.LastIndex(s, "}")
		for _, kv := range strings.Split(s[1:end], ",") {
			k, v, ok := strings.Cut(kv, "=")
			if ok {
				labels[k] = strings.Trim(v, `"`)
			}
		}
		s = s[end+1:]
	}
	v, _ := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return labels, v
}

// eventually retries f until it returns nil or the time is up.
func eventually(t *testing.T, d time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %v", d, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func ptr[T any](v T) *T { return &v }

// fieldsOf lists the fields of a Status's causes.
func fieldsOf(st metav1.Status) []string {
	if st.Details == nil {
		return nil
	}
	var out []string
	for _, c := range st.Details.Causes {
		out = append(out, c.Field)
	}
	return out
}
