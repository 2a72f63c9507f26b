package controllers

import (
	"fmt"
	"net"
	"net/http"
	"time"

	"golang.org/x/net/http2"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/client-go/rest"
)

// ConnectionPool says how WithConnectionPool connects.
type ConnectionPool struct {
	// Size bounds the connections of requests other than watches; at least 1.
	Size int
	// MultiplexWatches sends watches over HTTP/2, up to the apiserver's
	// streams per connection (250 for tend's) on one connection, instead of
	// a connection each over HTTP/1.1. For a process with thousands of quiet
	// watches (hollow nodes watch their pods and their Node each), whose
	// connections would cost the apiserver a file each. Busy watches are
	// cheaper for the apiserver over HTTP/1.1.
	MultiplexWatches bool
}

// WithConnectionPool returns a copy of rc whose requests share a pool of at
// most p.Size connections that keeps every connection it could reuse, and
// whose watches get connections of their own outside it. A request beyond the
// pool waits for a free connection.
//
// client-go's transport keeps 25 idle connections a host and opens as many
// as there are requests: a component with more requests in flight (many
// hollow nodes, a scheduler binding in bulk) opened connections, with a TLS
// handshake each on both sides, and closed them again as fast as it wrote,
// which cost more CPU than the requests.
func WithConnectionPool(rc *rest.Config, p ConnectionPool) (*rest.Config, error) {
	if p.Size < 1 {
		return nil, fmt.Errorf("a connection pool of %d connections", p.Size)
	}
	tlsConfig, err := rest.TLSConfigFor(rc)
	if err != nil {
		return nil, err
	}
	newTransport := func(maxConns, maxIdle int) *http.Transport {
		return utilnet.SetTransportDefaults(&http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			TLSHandshakeTimeout: 10 * time.Second,
			TLSClientConfig:     tlsConfig,
			MaxConnsPerHost:     maxConns,
			MaxIdleConnsPerHost: maxIdle,
			DialContext:         (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		})
	}
	split := &splitTransport{requests: newTransport(p.Size, p.Size), watches: newTransport(0, 25)}
	if p.MultiplexWatches && tlsConfig != nil {
		h2TLS := tlsConfig.Clone()
		h2TLS.NextProtos = []string{http2.NextProtoTLS} // tend's apiserver prefers HTTP/1.1 otherwise
		split.h2 = &http2.Transport{TLSClientConfig: h2TLS, ReadIdleTimeout: 30 * time.Second, PingTimeout: 15 * time.Second}
	}
	rc = rest.CopyConfig(rc)
	rc.Transport = split
	// The transport carries the TLS settings now; client-go refuses both.
	rc.TLSClientConfig = rest.TLSClientConfig{}
	return rc, nil
}

// splitTransport sends watches and other requests over separate transports.
type splitTransport struct {
	requests, watches *http.Transport
	h2                *http2.Transport // watches, when multiplexed
}

func (t *splitTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Query().Get("watch") != "true" {
		return t.requests.RoundTrip(r)
	}
	if t.h2 != nil && r.URL.Scheme == "https" {
		return t.h2.RoundTrip(r)
	}
	return t.watches.RoundTrip(r)
}

// CloseIdleConnections closes what the pools keep.
func (t *splitTransport) CloseIdleConnections() {
	t.requests.CloseIdleConnections()
	t.watches.CloseIdleConnections()
	if t.h2 != nil {
		t.h2.CloseIdleConnections()
	}
}
