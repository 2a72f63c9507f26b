package apiserver_test

import (
	"bufio"
	"context"
	"net/http"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/tendhq/tend/tendtest"
)

// The server prefers HTTP/1.1 (see server.go for why) but still speaks HTTP/2
// to clients that offer only that.
func TestProtocols(t *testing.T) {
	c := tendtest.Start(t, tendtest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	rt, err := rest.TransportFor(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.URL()+"/api/v1/namespaces", nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 1 || resp.StatusCode != http.StatusOK {
		t.Errorf("client-go got %s %d; want HTTP/1.1 200", resp.Proto, resp.StatusCode)
	}

	tr := adminTransport(t, c, true)
	tr.Protocols = new(http.Protocols)
	tr.Protocols.SetHTTP2(true) // and not HTTP/1.1
	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, c.URL()+"/api/v1/namespaces?watch=true", nil)
	resp, err = (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Fatalf("an h2-only client got %s; want HTTP/2", resp.Proto)
	}
	line, err := bufio.NewReader(resp.Body).ReadBytes('\n')
	if err != nil || len(line) == 0 {
		t.Fatalf("first watch line over HTTP/2: %q, %v", line, err)
	}
}
