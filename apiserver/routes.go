package apiserver

import (
	"fmt"
	"net/http"
	"net/http/pprof"
	"runtime"
	"strings"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/apimachinery/pkg/version"
)

// kubeVersion is the Kubernetes API version tend implements: that of the
// k8s.io/api it is built with.
const (
	kubeMajor = "1"
	kubeMinor = "37"
)

// GitVersion is the version the server reports at /version, and its nodes as
// their kubeletVersion: the Kubernetes version of the API, marked as tend's.
const GitVersion = "v" + kubeMajor + "." + kubeMinor + ".0-tend"

func serverVersion() version.Info {
	return version.Info{
		Major:      kubeMajor,
		Minor:      kubeMinor,
		GitVersion: GitVersion,
		GoVersion:  runtime.Version(),
		Compiler:   runtime.Compiler,
		Platform:   runtime.GOOS + "/" + runtime.GOARCH,
	}
}

// routes maps paths to handlers. Resource paths all go to serveResource, which
// dispatches on the parsed RequestInfo.
func (s *Server) routes() http.Handler {
	r := mux.NewRouter()
	r.Path("/version").Methods(http.MethodGet).HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		writeJSON(w, req, http.StatusOK, serverVersion())
	})
	for _, p := range []string{"/healthz", "/livez", "/readyz"} {
		r.Path(p).HandlerFunc(s.health(p))
		r.PathPrefix(p + "/").HandlerFunc(s.health(p))
	}
	r.Path("/metrics").Methods(http.MethodGet).Handler(promhttp.HandlerFor(s.prom, promhttp.HandlerOpts{}))
	r.Path("/api").Methods(http.MethodGet).HandlerFunc(s.disc.serveRoot("/api"))
	r.Path("/apis").Methods(http.MethodGet).HandlerFunc(s.disc.serveRoot("/apis"))
	r.Path("/api/{version}").Methods(http.MethodGet).HandlerFunc(s.serveVersion)
	r.Path("/apis/{group}").Methods(http.MethodGet).HandlerFunc(s.serveGroup)
	r.Path("/apis/{group}/{version}").Methods(http.MethodGet).HandlerFunc(s.serveVersion)
	r.PathPrefix("/openapi/").Handler(s.openapi)
	r.Path("/.well-known/openid-configuration").Methods(http.MethodGet).HandlerFunc(s.serveOpenIDConfiguration)
	r.Path("/openid/v1/jwks").Methods(http.MethodGet).HandlerFunc(s.serveJWKS)
	// Profiling, as kube-apiserver's --profiling: authenticated like every path
	// that is not a health check.
	r.Path("/debug/pprof/").HandlerFunc(pprof.Index)
	r.Path("/debug/pprof/cmdline").HandlerFunc(pprof.Cmdline)
	r.Path("/debug/pprof/profile").HandlerFunc(pprof.Profile)
	r.Path("/debug/pprof/symbol").HandlerFunc(pprof.Symbol)
	r.Path("/debug/pprof/trace").HandlerFunc(pprof.Trace)
	r.PathPrefix("/debug/pprof/").HandlerFunc(pprof.Index)
	r.PathPrefix("/api/").HandlerFunc(s.serveResource)
	r.PathPrefix("/apis/" + metricsGroup + "/" + metricsVersion + "/").Handler(newMetricsAPI(s, s.kubeletTransport))
	r.PathPrefix("/apis/").HandlerFunc(s.serveResource)
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		writeError(w, req, errNotFoundPath())
	})
	r.MethodNotAllowedHandler = r.NotFoundHandler
	return r
}

func (s *Server) serveGroup(w http.ResponseWriter, r *http.Request) {
	if body, ok := s.disc.groups[mux.Vars(r)["group"]]; ok {
		serveDocument(w, r, mediaJSON, body)
		return
	}
	writeError(w, r, errNotFoundPath())
}

func (s *Server) serveVersion(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	gv := v["version"]
	if g := v["group"]; g != "" {
		gv = g + "/" + gv
	} else if !strings.HasPrefix(r.URL.Path, "/api/") {
		writeError(w, r, errNotFoundPath())
		return
	}
	if body, ok := s.disc.versions[gv]; ok {
		serveDocument(w, r, mediaJSON, body)
		return
	}
	writeError(w, r, errNotFoundPath())
}

// health serves /healthz, /livez and /readyz: ok once the server serves every
// resource (livez: once the process answers at all).
func (s *Server) health(path string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ready := true
		if path != "/livez" {
			select {
			case <-s.ready:
			default:
				ready = false
			}
		}
		verbose := r.URL.Query().Has("verbose")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if !ready {
			w.WriteHeader(http.StatusInternalServerError)
			if verbose {
				fmt.Fprintf(w, "[-]storage-ready failed: not ready yet\n%s check failed\n", strings.TrimPrefix(path, "/"))
			} else {
				fmt.Fprintf(w, "%s check failed\n", strings.TrimPrefix(path, "/"))
			}
			return
		}
		if verbose {
			fmt.Fprintf(w, "[+]ping ok\n[+]etcd ok\n[+]storage-ready ok\n%s check passed\n", strings.TrimPrefix(path, "/"))
			return
		}
		fmt.Fprint(w, "ok")
	}
}
