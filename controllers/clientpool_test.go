package controllers_test

import (
	"crypto/tls"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/tendhq/tend/controllers"
)

// TestConnectionPool: a burst of requests shares at most the pool's
// connections, kept for the next burst, while watches hold connections of
// their own (one each over HTTP/1.1, or one for all over HTTP/2 when
// multiplexed) and never make a request wait.
func TestConnectionPool(t *testing.T) {
	for _, tt := range []struct {
		name            string
		multiplex       bool
		watchConns      int32
		watchProtoMajor int32
	}{
		{"a connection a watch", false, 3, 1},
		{"watches multiplexed", true, 1, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var opened, watchProto atomic.Int32
			release := make(chan struct{})
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Query().Get("watch") == "true" {
					watchProto.Store(int32(r.ProtoMajor))
					w.WriteHeader(http.StatusOK)
					w.(http.Flusher).Flush()
					select {
					case <-release:
					case <-r.Context().Done():
					}
					return
				}
				if r.ProtoMajor != 1 {
					t.Errorf("a request came over HTTP/%d; want HTTP/1.1", r.ProtoMajor)
				}
				time.Sleep(5 * time.Millisecond)
				_, _ = io.WriteString(w, "ok")
			}))
			srv.EnableHTTP2 = true
			// As tend's apiserver: HTTP/1.1 to clients that speak both.
			srv.TLS = &tls.Config{NextProtos: []string{"http/1.1", "h2"}}
			srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					opened.Add(1)
				}
			}
			srv.StartTLS()
			defer srv.Close()
			defer close(release)
			ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
			rc, err := controllers.WithConnectionPool(&rest.Config{Host: srv.URL, TLSClientConfig: rest.TLSClientConfig{CAData: ca}},
				controllers.ConnectionPool{Size: 4, MultiplexWatches: tt.multiplex})
			if err != nil {
				t.Fatal(err)
			}
			client, err := rest.HTTPClientFor(rc)
			if err != nil {
				t.Fatal(err)
			}
			for range 3 {
				resp, err := client.Get(srv.URL + "/api/v1/pods?watch=true")
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
			}
			if got := opened.Load(); got != tt.watchConns {
				t.Errorf("connections opened for 3 watches = %d; want %d", got, tt.watchConns)
			}
			if got := watchProto.Load(); got != tt.watchProtoMajor {
				t.Errorf("watches came over HTTP/%d; want HTTP/%d", got, tt.watchProtoMajor)
			}
			burst := func() {
				var wg sync.WaitGroup
				errs := make(chan error, 64)
				for range 64 {
					wg.Go(func() {
						resp, err := client.Get(srv.URL + "/api/v1/pods")
						if err == nil {
							_, err = io.ReadAll(resp.Body)
							resp.Body.Close()
						}
						if err != nil {
							errs <- err
						}
					})
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					t.Fatal(err)
				}
			}
			burst()
			if got := opened.Load(); got > tt.watchConns+4 {
				t.Fatalf("connections opened for the watches and 64 requests with a pool of 4 = %d; want at most %d", got, tt.watchConns+4)
			}
			before := opened.Load()
			burst()
			if got := opened.Load(); got != before {
				t.Errorf("a second burst opened %d more connections; want the pool's kept ones reused", got-before)
			}
		})
	}
}

func TestConnectionPoolSize(t *testing.T) {
	if _, err := controllers.WithConnectionPool(&rest.Config{Host: "https://127.0.0.1:1"}, controllers.ConnectionPool{}); err == nil {
		t.Error("WithConnectionPool with size 0 = nil error; want one")
	}
}
