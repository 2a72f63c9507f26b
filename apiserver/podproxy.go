package apiserver

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/httpstream/wsstream"
	"k8s.io/apimachinery/pkg/util/proxy"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/tendhq/tend/apiserver/storage"
)

// pods/log, pods/exec, pods/attach and pods/portforward are served by the
// pod's node's kubelet (kubelet/server): the apiserver checks the request
// as upstream's does, finds the node's kubelet at its InternalIP and
// status.daemonEndpoints.kubeletEndpoint.Port, and proxies the request
// there over TLS with its kubelet-client certificate
// (kubeletClientTransport). Exec, attach and port-forward are upgraded
// connections (SPDY, WebSocket) passed through both ways with
// apimachinery's UpgradeAwareHandler; logs are streamed, flushed as they
// come.
//
// As upstream's apiserver, tend translates the WebSocket v5 remote command
// protocol of kubectl 1.30+ and client-go into SPDY towards the kubelet
// (translateStream): exec and attach asking for v5 are served by the
// apiserver itself, which runs them on the kubelet over SPDY; and a
// port-forward tunnelling SPDY through a WebSocket is relayed to a SPDY
// upgrade of the kubelet (tunnelPortForward). Other WebSocket and SPDY
// requests pass through.

// podLogsGR etc. are the subresources' resources, for errors.
var podLogOptionsGK = schema.GroupKind{Kind: "PodLogOptions"}

// kubeletProxy holds the connection to kubelets, made at first use.
type kubeletProxy struct {
	once      sync.Once
	transport http.RoundTripper
	err       error
}

func (s *Server) kubeletTransport() (http.RoundTripper, error) {
	p := &s.kubelets
	p.once.Do(func() { p.transport, p.err = s.kubeletClientTransport() })
	return p.transport, p.err
}

// isLongRunning says whether a request may last as long as its client
// wants: it holds no in-flight slot.
func isLongRunning(ri *RequestInfo) bool {
	if ri.Verb == "watch" {
		return true
	}
	switch ri.Resource + "/" + ri.Subresource {
	case "pods/log", "pods/exec", "pods/attach", "pods/portforward", "pods/proxy", "nodes/proxy":
		return true
	}
	return false
}

// serveKubeletSubresource serves pods/log, exec, attach and portforward.
func (rq *request) serveKubeletSubresource() {
	sub := rq.ri.Subresource
	verbs := []string{"get", "create"}
	if sub == "log" {
		verbs = []string{"get"}
	}
	if !slices.Contains(verbs, rq.ri.Verb) {
		rq.methodNotAllowed()
		return
	}
	o, err := rq.cache.Get(rq.ctx(), rq.key(), storage.ReadOptions{})
	if err != nil {
		rq.fail(err)
		return
	}
	var pod corev1.Pod
	if err := jsonUnmarshal(o.JSON, &pod); err != nil {
		rq.fail(fmt.Errorf("decoding pod %s: %w", rq.key(), err))
		return
	}
	if sub == "log" {
		rq.servePodLog(&pod)
		return
	}
	container := rq.q.Get("container")
	if sub != "portforward" {
		if container, err = validateContainer(container, &pod); err != nil {
			rq.fail(err)
			return
		}
	}
	if pod.Spec.NodeName == "" {
		rq.fail(apierrors.NewBadRequest(fmt.Sprintf("pod %s does not have a host assigned", pod.Name)))
		return
	}
	endpoint, err := rq.kubeletEndpoint(pod.Spec.NodeName)
	if err != nil {
		rq.fail(err)
		return
	}
	q := url.Values{}
	var path string
	var streams *streamOptions // exec and attach's
	switch sub {
	case "exec", "attach":
		path = fmt.Sprintf("/%s/%s/%s/%s", sub, url.PathEscape(pod.Namespace), url.PathEscape(pod.Name), url.PathEscape(container))
		if sub == "exec" {
			q["command"] = rq.q["command"]
			if len(q["command"]) == 0 {
				rq.fail(apierrors.NewBadRequest("you must specify at least one command for the container"))
				return
			}
		}
		for from, to := range map[string]string{"stdin": "input", "stdout": "output", "stderr": "error", "tty": "tty"} {
			if v := rq.q.Get(from); v != "" {
				b, err := strconv.ParseBool(v)
				if err != nil {
					rq.fail(apierrors.NewBadRequest(fmt.Sprintf("%s=%q: %v", from, v, err)))
					return
				}
				if b {
					q.Set(to, "1")
				}
			}
		}
		streams = &streamOptions{stdin: q.Has("input"), stdout: q.Has("output"), stderr: q.Has("error"), tty: q.Has("tty")}
	case "portforward":
		path = fmt.Sprintf("/portForward/%s/%s", url.PathEscape(pod.Namespace), url.PathEscape(pod.Name))
		if ports := rq.q["ports"]; len(ports) > 0 {
			q["ports"] = ports
		}
	}
	transport, err := rq.s.kubeletTransport()
	if err != nil {
		rq.fail(err)
		return
	}
	loc := &url.URL{Scheme: "https", Host: endpoint, Path: path, RawQuery: q.Encode()}
	switch {
	case streams != nil && wsstream.IsWebSocketRequestWithStreamCloseProtocol(rq.r):
		rq.translateStream(hijackable(rq.w), loc, transport, *streams)
		return
	case sub == "portforward" && wsstream.IsWebSocketRequestWithTunnelingProtocol(rq.r):
		rq.tunnelPortForward(hijackable(rq.w), loc, transport)
		return
	}
	h := proxy.NewUpgradeAwareHandler(loc, transport, false, true, proxyResponder{rq})
	h.MaxBytesPerSec = 0
	// The request goes to the kubelet as it came (its path and query are
	// loc's), without the client's credentials.
	r := rq.r.Clone(rq.ctx())
	r.Header.Del("Authorization")
	h.ServeHTTP(hijackable(rq.w), r)
}

// proxyResponder answers a failed proxying as a Status.
type proxyResponder struct{ rq *request }

func (p proxyResponder) Error(w http.ResponseWriter, r *http.Request, err error) {
	if strings.Contains(err.Error(), "Upgrade request required") {
		writeError(w, r, apierrors.NewBadRequest(err.Error()))
		return
	}
	writeError(w, r, apierrors.NewServiceUnavailable(fmt.Sprintf("error trying to reach the kubelet of pod %s: %v", p.rq.name, err)))
}

// hijackable is the innermost writer that can be hijacked (the filters'
// recorders wrap the server's), or w.
func hijackable(w http.ResponseWriter) http.ResponseWriter {
	for cur := w; ; {
		if _, ok := cur.(http.Hijacker); ok {
			return cur
		}
		u, ok := cur.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return w
		}
		cur = u.Unwrap()
	}
}

// kubeletEndpoint is the address of node's kubelet, or the error a client
// gets when it has none.
func (rq *request) kubeletEndpoint(nodeName string) (string, error) {
	o, err := rq.s.caches[nodesGR].Get(rq.ctx(), nodeName, storage.ReadOptions{})
	if err != nil {
		return "", toAPIError(err, nodesGR, nodeName)
	}
	n, err := decodeNode(o)
	if err != nil {
		return "", err
	}
	ep := kubeletEndpoint(n)
	if ep == "" {
		return "", apierrors.NewBadRequest(fmt.Sprintf("node %s serves no kubelet endpoint (status.daemonEndpoints.kubeletEndpoint.port): logs, exec, attach and port-forward are not available on it", nodeName))
	}
	return ep, nil
}

// validateContainer checks the container a request names, or picks the
// pod's only one, with upstream's errors.
func validateContainer(container string, pod *corev1.Pod) (string, error) {
	if container == "" {
		switch len(pod.Spec.Containers) {
		case 1:
			return pod.Spec.Containers[0].Name, nil
		case 0:
			return "", apierrors.NewBadRequest(fmt.Sprintf("no containers found for pod %s", pod.Name))
		}
		var names []string
		for _, c := range pod.Spec.InitContainers {
			names = append(names, c.Name)
		}
		for _, c := range pod.Spec.Containers {
			names = append(names, c.Name)
		}
		for _, c := range pod.Spec.EphemeralContainers {
			names = append(names, c.Name)
		}
		return "", apierrors.NewBadRequest(fmt.Sprintf("a container name must be specified for pod %s, choose one of: %s", pod.Name, names))
	}
	for _, list := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range list {
			if c.Name == container {
				return container, nil
			}
		}
	}
	for _, c := range pod.Spec.EphemeralContainers {
		if c.Name == container {
			return container, nil
		}
	}
	return "", apierrors.NewBadRequest(fmt.Sprintf("container %s is not valid for pod %s", container, pod.Name))
}

// podLogQuery reads and validates pods/log's query, as upstream's
// ValidatePodLogOptions, into the kubelet's /containerLogs query.
func podLogQuery(q url.Values, name string) (container string, out url.Values, err error) {
	out = url.Values{}
	for _, b := range []string{"follow", "previous", "timestamps", "insecureSkipTLSVerifyBackend"} {
		if v := q.Get(b); v != "" {
			parsed, perr := strconv.ParseBool(v)
			if perr != nil {
				return "", nil, apierrors.NewBadRequest(perr.Error())
			}
			if parsed && b != "insecureSkipTLSVerifyBackend" {
				out.Set(b, "true")
			}
		}
	}
	ints := map[string]*int64{}
	for _, n := range []string{"sinceSeconds", "tailLines", "limitBytes"} {
		if v := q.Get(n); v != "" {
			parsed, perr := strconv.ParseInt(v, 10, 64)
			if perr != nil {
				return "", nil, apierrors.NewBadRequest(perr.Error())
			}
			ints[n] = &parsed
			out.Set(n, v)
		}
	}
	var sinceTime *time.Time
	if v := q.Get("sinceTime"); v != "" {
		t, perr := time.Parse(time.RFC3339, v)
		if perr != nil {
			return "", nil, apierrors.NewBadRequest(perr.Error())
		}
		sinceTime = &t
		out.Set("sinceTime", t.UTC().Format(time.RFC3339))
	}
	if v := q.Get("stream"); v != "" && v != "All" {
		return "", nil, apierrors.NewBadRequest(fmt.Sprintf("stream %q: only All is supported by this server", v))
	}
	var errs field.ErrorList
	if n := ints["tailLines"]; n != nil && *n < 0 {
		errs = append(errs, field.Invalid(field.NewPath("tailLines"), *n, "must be greater than or equal to 0"))
	}
	if n := ints["limitBytes"]; n != nil && *n < 1 {
		errs = append(errs, field.Invalid(field.NewPath("limitBytes"), *n, "must be greater than 0"))
	}
	switch n := ints["sinceSeconds"]; {
	case n != nil && sinceTime != nil:
		errs = append(errs, field.Forbidden(field.NewPath(""), "at most one of `sinceTime` or `sinceSeconds` may be specified"))
	case n != nil && *n < 1:
		errs = append(errs, field.Invalid(field.NewPath("sinceSeconds"), *n, "must be greater than 0"))
	}
	if len(errs) > 0 {
		return "", nil, apierrors.NewInvalid(podLogOptionsGK, name, errs)
	}
	return q.Get("container"), out, nil
}

// servePodLog streams a container's log from its node's kubelet.
func (rq *request) servePodLog(pod *corev1.Pod) {
	container, q, err := podLogQuery(rq.q, pod.Name)
	if err != nil {
		rq.fail(err)
		return
	}
	if container, err = validateContainer(container, pod); err != nil {
		rq.fail(err)
		return
	}
	if pod.Spec.NodeName == "" {
		// Upstream answers nothing for a pod not yet on a node.
		rq.w.Header().Set("Content-Type", "text/plain")
		rq.w.WriteHeader(http.StatusOK)
		return
	}
	endpoint, err := rq.kubeletEndpoint(pod.Spec.NodeName)
	if err != nil {
		rq.fail(err)
		return
	}
	transport, err := rq.s.kubeletTransport()
	if err != nil {
		rq.fail(err)
		return
	}
	loc := &url.URL{Scheme: "https", Host: endpoint, RawQuery: q.Encode(),
		Path: fmt.Sprintf("/containerLogs/%s/%s/%s", url.PathEscape(pod.Namespace), url.PathEscape(pod.Name), url.PathEscape(container))}
	req, err := http.NewRequestWithContext(rq.ctx(), http.MethodGet, loc.String(), nil)
	if err != nil {
		rq.fail(err)
		return
	}
	resp, err := transport.RoundTrip(req)
	if err != nil {
		rq.fail(apierrors.NewInternalError(fmt.Errorf("reading the log of pod %s/%s from its node %s: %w", pod.Namespace, pod.Name, pod.Spec.NodeName, err)))
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 206 {
		// As upstream's GenericHttpResponseChecker.
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		b := strings.TrimSpace(string(raw))
		switch resp.StatusCode {
		case http.StatusInternalServerError:
			rq.fail(apierrors.NewInternalError(fmt.Errorf("%s", b)))
		case http.StatusBadRequest:
			rq.fail(apierrors.NewBadRequest(b))
		default:
			rq.fail(apierrors.NewGenericServerResponse(resp.StatusCode, "", schema.GroupResource{Resource: "pods/log"}, pod.Name, b, 0, false))
		}
		return
	}
	rq.w.Header().Set("Content-Type", "text/plain")
	rq.w.Header().Set("Transfer-Encoding", "chunked")
	rq.w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(rq.w)
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := rq.w.Write(buf[:n]); werr != nil {
				return
			}
			_ = rc.Flush()
		}
		if err != nil {
			return
		}
	}
}
