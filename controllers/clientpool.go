package controllers

import (
	"net"
	"net/http"
	"time"

	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/client-go/rest"
)

// WithConnectionPool returns a copy of rc whose requests share a pool of at
// most size connections that keeps every connection it could reuse, and whose
// watches get connections of their own outside it. A request beyond the pool
// waits for a free connection.
//
// client-go's transport keeps 25 idle connections a host and opens as many
// as there are requests: a component with more requests in flight (many
// hollow nodes, a scheduler binding in bulk) opened connections, with a TLS
// handshake each on both sides, and closed them again as fast as it wrote,
// which cost more CPU than the requests.
func WithConnectionPool(rc *rest.Config, size int) (*rest.Config, error) {
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
	rc = rest.CopyConfig(rc)
	rc.Transport = &splitTransport{requests: newTransport(size, size), watches: newTransport(0, 25)}
	// The transport carries the TLS settings now; client-go refuses both.
	rc.TLSClientConfig = rest.TLSClientConfig{}
	return rc, nil
}

// splitTransport sends watches and other requests over separate transports.
type splitTransport struct {
	requests, watches *http.Transport
}

func (t *splitTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Query().Get("watch") == "true" {
		return t.watches.RoundTrip(r)
	}
	return t.requests.RoundTrip(r)
}

// CloseIdleConnections closes what both pools keep.
func (t *splitTransport) CloseIdleConnections() {
	t.requests.CloseIdleConnections()
	t.watches.CloseIdleConnections()
}
