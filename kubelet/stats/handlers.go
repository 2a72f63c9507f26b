package stats

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// Paths of the kubelet's stats endpoints, upstream's.
const (
	SummaryPath         = "/stats/summary"
	ResourceMetricsPath = "/metrics/resource"
)

// Mux is where Install adds handlers; kubelet/server's Server and
// *http.ServeMux have it.
type Mux interface {
	Handle(pattern string, h http.Handler)
}

// Install adds p's /stats/summary and /metrics/resource to mux. logf, when
// not nil, reports failed reads.
func Install(mux Mux, p *Provider, logf func(format string, args ...any)) {
	mux.Handle(SummaryPath, SummaryHandler(p))
	mux.Handle(ResourceMetricsPath, ResourceMetricsHandler(p, logf))
}

// SummaryHandler serves p's Summary as JSON, upstream's GET /stats/summary.
// Its only_cpu_and_memory parameter is accepted (a boolean): tend collects
// nothing else, so the answer is the same.
func SummaryHandler(p *Provider) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, fmt.Sprintf("method %s is not allowed on %s", r.Method, r.URL.Path), http.StatusMethodNotAllowed)
			return
		}
		if v := r.URL.Query().Get("only_cpu_and_memory"); v != "" {
			if _, err := strconv.ParseBool(v); err != nil {
				http.Error(w, fmt.Sprintf("invalid only_cpu_and_memory %q: want true or false", v), http.StatusBadRequest)
				return
			}
		}
		s, err := p.Summary(r.Context())
		if err != nil {
			http.Error(w, "Internal Error: failed to get node info: "+err.Error(), http.StatusInternalServerError)
			return
		}
		b, err := json.Marshal(s)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	})
}
