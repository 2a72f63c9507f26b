package openapi

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Handler serves /openapi/v2, /openapi/v3 and /openapi/v3/<group-version>
// as kube-apiserver does. It is safe for concurrent use.
type Handler struct {
	version   string
	resources []Resource // read-only after New

	merge lazy[*mergeSemantics]
	v2    lazy[*document]
	v3    lazy[*v3Documents]
}

var _ http.Handler = (*Handler)(nil)

// New returns a handler for the documents describing resources; version is
// the server's version (info.version), e.g. "v1.37.0".
//
// New only validates resources: each of /openapi/v2 and /openapi/v3 is
// built on its first request (or by Build) and never changes afterwards.
// A change of resources needs a new Handler.
func New(version string, resources []Resource) (*Handler, error) {
	if err := validate(resources); err != nil {
		return nil, err
	}
	own := slices.Clone(resources)
	for i := range own {
		own[i].Verbs = slices.Clone(own[i].Verbs)
		own[i].Subresources = slices.Clone(own[i].Subresources)
		for j := range own[i].Subresources {
			own[i].Subresources[j].Verbs = slices.Clone(own[i].Subresources[j].Verbs)
		}
	}
	return &Handler{version: version, resources: own}, nil
}

// Build builds the documents now rather than on first request, for a
// caller that would rather pay for it off the request path, e.g. in a
// goroutine once the server is up. It is safe to call concurrently with
// requests; it returns the error the requests would report.
func (h *Handler) Build() error {
	if _, err := h.v2Document(); err != nil {
		return err
	}
	_, err := h.v3Documents()
	return err
}

func (h *Handler) mergeSemantics() (*mergeSemantics, error) {
	return h.merge.get(loadMergeSemantics)
}

func (h *Handler) v2Document() (*document, error) {
	return h.v2.get(func() (*document, error) {
		merge, err := h.mergeSemantics()
		if err != nil {
			return nil, err
		}
		return buildV2Document(h.version, h.resources, merge)
	})
}

func (h *Handler) v3Documents() (*v3Documents, error) {
	return h.v3.get(func() (*v3Documents, error) {
		merge, err := h.mergeSemantics()
		if err != nil {
			return nil, err
		}
		return buildV3Documents(h.version, h.resources, merge)
	})
}

// Media subtypes of the serialized documents. The protobuf ones are a
// gnostic openapi_v2/v3 Document; clients ask for the "@" spelling and are
// answered with the "." one, as upstream does.
const (
	subtypeJSON          = "json"
	subtypeV2Proto       = "com.github.proto-openapi.spec.v2.v1.0+protobuf"
	subtypeV2ProtoLegacy = "com.github.proto-openapi.spec.v2@v1.0+protobuf"
	subtypeV3Proto       = "com.github.proto-openapi.spec.v3.v1.0+protobuf"
	subtypeV3ProtoLegacy = "com.github.proto-openapi.spec.v3@v1.0+protobuf"
)

// ServeHTTP serves GET and HEAD of the OpenAPI paths; any other path is
// not found.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if path != "/openapi/v2" && path != "/openapi/v3" && !strings.HasPrefix(path, "/openapi/v3/") {
		writeStatus(w, http.StatusNotFound, metav1.StatusReasonNotFound, "the server could not find the requested resource")
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeStatus(w, http.StatusMethodNotAllowed, metav1.StatusReasonMethodNotAllowed, r.Method+" is not supported on "+path)
		return
	}
	if path == "/openapi/v2" {
		d, err := h.v2Document()
		if err != nil {
			writeStatus(w, http.StatusInternalServerError, metav1.StatusReasonInternalError, "building OpenAPI v2: "+err.Error())
			return
		}
		serveDocument(w, r, d, []offer{
			{subtypeJSON, "application/json", false},
			{subtypeV2ProtoLegacy, "application/" + subtypeV2Proto, true},
			{subtypeV2Proto, "application/" + subtypeV2Proto, true},
		})
		return
	}
	docs, err := h.v3Documents()
	if err != nil {
		writeStatus(w, http.StatusInternalServerError, metav1.StatusReasonInternalError, "building OpenAPI v3: "+err.Error())
		return
	}
	if path == "/openapi/v3" {
		serveDocument(w, r, docs.index, []offer{{subtypeJSON, "application/json", false}})
		return
	}
	key := strings.TrimPrefix(path, "/openapi/v3/")
	d, ok := docs.byKey[key]
	if !ok {
		writeStatus(w, http.StatusNotFound, metav1.StatusReasonNotFound, "no OpenAPI v3 document for "+strconv.Quote(key))
		return
	}
	// The index links documents by hash: an old hash redirects to the
	// current document, the current one may be cached for good.
	if hash := r.URL.Query().Get("hash"); hash != "" {
		if hash != d.etag {
			http.Redirect(w, r, v3URL(key, d.etag), http.StatusMovedPermanently)
			return
		}
		w.Header().Set("Cache-Control", "public, immutable")
		w.Header().Set("Expires", time.Now().AddDate(1, 0, 0).UTC().Format(http.TimeFormat))
	}
	serveDocument(w, r, d, []offer{
		{subtypeJSON, "application/json", false},
		{subtypeV3Proto, "application/" + subtypeV3Proto, true},
		{subtypeV3ProtoLegacy, "application/" + subtypeV3Proto, true},
	})
}

// offer is a form of a document the server can answer with.
type offer struct {
	subtype     string // of application/, as requested in Accept
	contentType string // as answered
	protobuf    bool
}

// serveDocument answers with the first offer that the Accept header
// accepts, by preference order, or 406. The ETag is the same for all forms:
// Vary: Accept tells caches apart.
func serveDocument(w http.ResponseWriter, r *http.Request, d *document, offers []offer) {
	hdr := w.Header()
	hdr.Add("Vary", "Accept")
	o, ok := negotiate(r.Header.Get("Accept"), offers)
	if !ok {
		writeStatus(w, http.StatusNotAcceptable, metav1.StatusReasonNotAcceptable, "only "+offerList(offers)+" are served here")
		return
	}
	hdr.Set("Content-Type", o.contentType)
	hdr.Set("Etag", strconv.Quote(d.etag))
	hdr.Set("Last-Modified", d.modified.UTC().Format(http.TimeFormat))
	hdr.Add("Vary", "Accept-Encoding")
	if etagMatches(r.Header.Get("If-None-Match"), d.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := d.json
	var err error
	switch gz := acceptsGzip(r.Header.Get("Accept-Encoding")); {
	case gz:
		body, err = d.gzipped(o.protobuf)
		hdr.Set("Content-Encoding", "gzip")
	case o.protobuf:
		body, err = d.protobuf()
	}
	if err != nil {
		hdr.Del("Content-Encoding")
		hdr.Del("Etag")
		writeStatus(w, http.StatusInternalServerError, metav1.StatusReasonInternalError, err.Error())
		return
	}
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body) //nolint:errcheck // the client went away; nothing to do
	}
}

func offerList(offers []offer) string {
	var types []string
	for _, o := range offers {
		if !slices.Contains(types, o.contentType) {
			types = append(types, o.contentType)
		}
	}
	return strings.Join(types, " and ")
}

// negotiate picks the offer for an Accept header: the media ranges by
// decreasing quality, more specific first among equals; for each, the first
// offer it matches. An empty header accepts anything.
func negotiate(accept string, offers []offer) (offer, bool) {
	if strings.TrimSpace(accept) == "" {
		accept = "*/*"
	}
	type mediaRange struct {
		typ, subtype string
		q            float64
		specificity  int
	}
	var ranges []mediaRange
	for _, clause := range strings.Split(accept, ",") {
		mt, params, _ := strings.Cut(clause, ";")
		typ, subtype, ok := strings.Cut(strings.TrimSpace(mt), "/")
		if !ok {
			continue
		}
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(k, "q") {
				if f, err := strconv.ParseFloat(v, 64); err == nil {
					q = f
				}
			}
		}
		if q <= 0 {
			continue
		}
		spec := 0
		if typ != "*" {
			spec++
		}
		if subtype != "*" {
			spec++
		}
		ranges = append(ranges, mediaRange{strings.ToLower(typ), subtype, q, spec})
	}
	slices.SortStableFunc(ranges, func(a, b mediaRange) int {
		if a.q != b.q {
			if a.q > b.q {
				return -1
			}
			return 1
		}
		return b.specificity - a.specificity
	})
	for _, mr := range ranges {
		for _, o := range offers {
			if (mr.typ == "application" || mr.typ == "*") && (mr.subtype == o.subtype || mr.subtype == "*") {
				return o, true
			}
		}
	}
	return offer{}, false
}

// etagMatches reports whether an If-None-Match header names etag.
func etagMatches(ifNoneMatch, etag string) bool {
	for _, tag := range strings.Split(ifNoneMatch, ",") {
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		if tag == "*" || tag == strconv.Quote(etag) {
			return true
		}
	}
	return false
}

func acceptsGzip(acceptEncoding string) bool {
	for _, clause := range strings.Split(acceptEncoding, ",") {
		coding, params, _ := strings.Cut(clause, ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding != "gzip" && coding != "*" {
			continue
		}
		k, v, _ := strings.Cut(strings.TrimSpace(params), "=")
		if strings.EqualFold(k, "q") {
			if q, err := strconv.ParseFloat(v, 64); err == nil && q == 0 {
				continue
			}
		}
		return true
	}
	return false
}

// writeStatus answers with an error as a metav1.Status, as the apiserver
// answers errors.
func writeStatus(w http.ResponseWriter, code int, reason metav1.StatusReason, message string) {
	b, _ := json.Marshal(metav1.Status{ //nolint:errchkjson // a Status always encodes
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure,
		Message:  message,
		Reason:   reason,
		Code:     int32(code),
	})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	w.Write(b) //nolint:errcheck // the client went away; nothing to do
}
