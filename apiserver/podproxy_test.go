package apiserver_test

import (
	"crypto/tls"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tendhq/tend/apiserver/pki"
	"github.com/tendhq/tend/tendtest"
)

// recordingKubelet answers /containerLogs with "hello\n" (or, for
// container bad, a kubelet's 400) and records what it was asked.
type recordingKubelet struct {
	port int32
	mu   sync.Mutex
	seen []string
}

func (k *recordingKubelet) requests() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.seen...)
}

func startRecordingKubelet(t *testing.T, c *tendtest.Cluster) *recordingKubelet {
	t.Helper()
	ca, err := pki.LoadOrCreateCA(filepath.Join(c.Dir(), "pki"), "tend-ca")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Serving(t.TempDir(), "kubelet", []string{"localhost"}, []net.IP{net.ParseIP("127.0.0.1")})
	if err != nil {
		t.Fatal(err)
	}
	cert, err := leaf.TLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	k := &recordingKubelet{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k.mu.Lock()
		k.seen = append(k.seen, r.Method+" "+r.URL.RequestURI())
		k.mu.Unlock()
		if strings.HasSuffix(r.URL.Path, "/bad") {
			http.Error(w, `previous terminated container "bad" in pod "web" not found`, http.StatusBadRequest)
			return
		}
		if strings.HasPrefix(r.URL.Path, "/containerLogs/") {
			_, _ = w.Write([]byte("hello\n"))
			return
		}
		http.Error(w, "no upgrade here", http.StatusForbidden)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: ca.Pool()}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	p, _ := strconv.Atoi(port)
	k.port = int32(p)
	return k
}

func TestPodSubresourcesProxyToTheKubelet(t *testing.T) {
	c := tendtest.Start(t, tendtest.Options{})
	kl := startRecordingKubelet(t, c)
	cs := c.Client()
	ctx := ctxFor(t)
	node, err := cs.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	node.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}}
	node.Status.DaemonEndpoints.KubeletEndpoint.Port = kl.port
	if _, err := cs.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	ns := makeNamespace(t, cs, "logs")
	for _, p := range []*corev1.Pod{
		{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "c", Image: "i"}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "two"}, Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "a", Image: "i"}, {Name: "bad", Image: "i"}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "pending"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "i"}}}},
	} {
		if _, err := cs.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	rc := newRawClient(t, c)
	base := "/api/v1/namespaces/" + ns + "/pods/"
	for _, tt := range []struct {
		path    string
		code    int
		body    string // the body, or a substring of the Status message
		kubelet string // what the kubelet was asked, if anything
	}{
		{path: "web/log?follow=true&tailLines=3&timestamps=true", code: 200, body: "hello\n",
			kubelet: "GET /containerLogs/" + ns + "/web/c?follow=true&tailLines=3&timestamps=true"},
		{path: "web/log?tailLines=-1", code: 422, body: "tailLines: Invalid value: -1: must be greater than or equal to 0"},
		{path: "web/log?sinceSeconds=5&sinceTime=2026-01-01T00:00:00Z", code: 422, body: "at most one of `sinceTime` or `sinceSeconds` may be specified"},
		{path: "web/log?tailLines=x", code: 400, body: `parsing "x"`},
		{path: "two/log", code: 400, body: "a container name must be specified for pod two, choose one of: [a bad]"},
		{path: "web/log?container=nope", code: 400, body: "container nope is not valid for pod web"},
		{path: "pending/log", code: 200, body: ""},
		{path: "nope/log", code: 404, body: `pods "nope" not found`},
		{path: "web/exec?command=ls&stdout=true", code: 400, body: "Upgrade request required"},
		{path: "pending/exec?command=ls&stdout=true", code: 400, body: "pod pending does not have a host assigned"},
	} {
		before := len(kl.requests())
		resp := rc.do(http.MethodGet, base+tt.path, nil)
		if resp.code != tt.code {
			t.Errorf("GET %s = %d %s; want %d", tt.path, resp.code, resp.body, tt.code)
			continue
		}
		if tt.code == 200 && string(resp.body) != tt.body || tt.code != 200 && !strings.Contains(resp.status(t).Message, tt.body) {
			t.Errorf("GET %s = %q; want %q", tt.path, resp.body, tt.body)
		}
		if reqs := kl.requests(); tt.kubelet != "" && (len(reqs) != before+1 || reqs[before] != tt.kubelet) {
			t.Errorf("GET %s asked the kubelet %q; want %q", tt.path, reqs[before:], tt.kubelet)
		}
	}

	// Discovery lists the subresources with upstream's verbs.
	var list metav1.APIResourceList
	if err := json.Unmarshal(rc.do(http.MethodGet, "/api/v1", nil).body, &list); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range list.APIResources {
		got[r.Name] = strings.Join(r.Verbs, ",")
	}
	for name, verbs := range map[string]string{"pods/log": "get", "pods/exec": "create,get", "pods/attach": "create,get", "pods/portforward": "create,get"} {
		if got[name] != verbs {
			t.Errorf("discovery %s verbs = %q; want %q", name, got[name], verbs)
		}
	}

	// The kubelet's error comes back as a BadRequest.
	r := rc.do(http.MethodGet, base+"two/log?container=bad&previous=true", nil)
	if st := r.status(t); r.code != 400 || st.Reason != metav1.StatusReasonBadRequest || st.Message != `previous terminated container "bad" in pod "web" not found` {
		t.Errorf("logs of container bad = %d %s; want the kubelet's error as a BadRequest", r.code, r.body)
	}
}
