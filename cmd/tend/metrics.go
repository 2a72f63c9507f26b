package main

import (
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/pprof"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metricsServer is the plain-HTTP endpoint of a component run alone:
// /metrics, /healthz, /leaderz (whether it leads) and /debug/pprof.
type metricsServer struct {
	registry *prometheus.Registry
	leading  atomic.Bool
}

// serveMetrics registers the Go and process collectors on a new registry and,
// unless addr is empty, serves it on addr until stop is called.
func serveMetrics(addr string) (m *metricsServer, stop func(), err error) {
	m = &metricsServer{registry: prometheus.NewRegistry()}
	m.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if addr == "" {
		return m, func() {}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("listening on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })
	mux.HandleFunc("/leaderz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, m.leading.Load()) })
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return m, func() { _ = srv.Close() }, nil
}

// onLeading returns an OnLeading callback that logs leadership changes and
// reports them on /leaderz.
func (m *metricsServer) onLeading(logger *log.Logger, identity string) func(bool) {
	return func(l bool) {
		m.leading.Store(l)
		if l {
			logger.Printf("leading as %s", identity)
		} else {
			logger.Printf("no longer leading")
		}
	}
}
