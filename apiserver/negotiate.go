package apiserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sort"
	"strconv"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// Media types tend reads and writes.
const (
	mediaJSON     = "application/json"
	mediaYAML     = "application/yaml"
	mediaProtobuf = "application/vnd.kubernetes.protobuf"
)

// view is what a response renders objects as.
type view int

const (
	viewObject view = iota
	viewTable
	viewPartial // PartialObjectMetadata(List)
)

// output is the negotiated form of a response.
type output struct {
	media  string // mediaJSON or mediaYAML
	view   view
	pretty bool
}

// contentType is the response's Content-Type header.
func (o output) contentType() string {
	switch o.view {
	case viewTable:
		return "application/json;as=Table;v=v1;g=meta.k8s.io"
	case viewPartial:
		return "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io"
	}
	return o.media
}

type accept struct {
	media  string
	params map[string]string
	q      float64
}

// parseAccept parses an Accept header, keeping the client's order among equal
// q values.
func parseAccept(h string) []accept {
	var out []accept
	for _, part := range strings.Split(h, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		media, params, err := mime.ParseMediaType(part)
		if err != nil {
			continue
		}
		a := accept{media: media, params: params, q: 1}
		if q, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(q, 64); err == nil {
				a.q = f
			}
			delete(params, "q")
		}
		if a.q > 0 {
			out = append(out, a)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].q > out[j].q })
	return out
}

// negotiateOutput picks the response form for a resource request. list says
// whether the response is a collection.
func negotiateOutput(r *http.Request, list bool) (output, error) {
	pretty := isPretty(r)
	h := r.Header.Get("Accept")
	if h == "" {
		return output{media: mediaJSON, pretty: pretty}, nil
	}
	for _, a := range parseAccept(h) {
		switch a.media {
		case mediaJSON, "*/*", "application/*":
			switch as := a.params["as"]; as {
			case "":
				return output{media: mediaJSON, pretty: pretty}, nil
			case "Table":
				if a.params["g"] == "meta.k8s.io" && a.params["v"] == "v1" {
					return output{media: mediaJSON, view: viewTable, pretty: pretty}, nil
				}
			case "PartialObjectMetadata", "PartialObjectMetadataList":
				if a.params["g"] == "meta.k8s.io" && a.params["v"] == "v1" && (as == "PartialObjectMetadataList") == list {
					return output{media: mediaJSON, view: viewPartial, pretty: pretty}, nil
				}
			}
		case mediaYAML:
			if a.params["as"] == "" {
				return output{media: mediaYAML}, nil
			}
		case mediaProtobuf:
			// Objects and lists; Tables and partial metadata only in JSON, which
			// clients that ask for those in protobuf accept too.
			if a.params["as"] == "" {
				return output{media: mediaProtobuf}, nil
			}
		}
	}
	return output{}, apierrors.NewGenericServerResponse(http.StatusNotAcceptable, "", schema.GroupResource{}, "",
		fmt.Sprintf("only the following media types are accepted: %s, %s, %s", mediaJSON, mediaYAML, mediaProtobuf), 0, false)
}

// isPretty follows upstream: ?pretty=true, or a client that is a person's
// command-line tool or browser.
func isPretty(r *http.Request) bool {
	if p := r.URL.Query().Get("pretty"); p != "" {
		return p == "true" || p == "1"
	}
	ua := r.UserAgent()
	return strings.HasPrefix(ua, "curl") || strings.HasPrefix(ua, "Wget") || strings.HasPrefix(ua, "Mozilla/5.0")
}

// maxBodyBytes is the largest request body accepted, as upstream's.
const maxBodyBytes = 3 * 1024 * 1024

// readBody reads a request body, refusing one past maxBodyBytes with 413.
func readBody(r *http.Request) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("reading the request body: %v", err))
	}
	if len(data) > maxBodyBytes {
		return nil, apierrors.NewRequestEntityTooLargeError(fmt.Sprintf("limit is %d", maxBodyBytes))
	}
	return data, nil
}

// fieldValidation is the fieldValidation query parameter.
type fieldValidation string

const (
	validationIgnore fieldValidation = "Ignore"
	validationWarn   fieldValidation = "Warn"
	validationStrict fieldValidation = "Strict"
)

func parseFieldValidation(r *http.Request) (fieldValidation, error) {
	switch v := r.URL.Query().Get("fieldValidation"); v {
	case "", "Warn":
		return validationWarn, nil
	case "Ignore", "Strict":
		return fieldValidation(v), nil
	default:
		return "", apierrors.NewBadRequest(fmt.Sprintf("fieldValidation parameter unsupported: %v. Supported values: Ignore, Warn, Strict", v))
	}
}

// decoder turns request bodies into typed objects.
type decoder struct {
	scheme *runtime.Scheme
	proto  *protobuf.Serializer
}

func newDecoder(s *runtime.Scheme) *decoder {
	return &decoder{scheme: s, proto: protobuf.NewSerializer(s, s)}
}

// toJSON converts a JSON or YAML body to JSON according to its content type.
// Strict YAML errors (duplicate keys) are returned as strict errors.
func toJSON(contentType string, data []byte) ([]byte, []string, error) {
	media, _, err := mime.ParseMediaType(contentType)
	if contentType == "" {
		media, err = mediaJSON, nil
	}
	if err != nil {
		return nil, nil, unsupportedMediaType(contentType)
	}
	switch media {
	case mediaJSON:
		return data, nil, nil
	case mediaYAML, "application/x-yaml", "text/yaml":
		js, err := yaml.YAMLToJSONStrict(data)
		if err == nil {
			return js, nil, nil
		}
		js, err2 := yaml.YAMLToJSON(data)
		if err2 != nil {
			return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("error converting YAML to JSON: %v", err2))
		}
		return js, []string{err.Error()}, nil
	}
	return nil, nil, unsupportedMediaType(contentType)
}

// decodeInto decodes a request body into into, whose GroupVersionKind is
// expected. It applies fieldValidation: strict errors fail the request when
// Strict and become warnings when Warn.
func (d *decoder) decodeInto(r *http.Request, data []byte, into runtime.Object, fv fieldValidation) (warnings []string, err error) {
	gvk := into.GetObjectKind().GroupVersionKind()
	ct := r.Header.Get("Content-Type")
	if media, _, _ := mime.ParseMediaType(ct); media == mediaProtobuf {
		out, _, err := d.proto.Decode(data, &gvk, into)
		if err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("%s in version %q cannot be handled as a %s: %v", gvk.Kind, gvk.Version, gvk.Kind, err))
		}
		if out != into {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("the body is not a %s", gvk.Kind))
		}
		into.GetObjectKind().SetGroupVersionKind(gvk)
		return nil, nil
	}
	js, strictYAML, err := toJSON(ct, data)
	if err != nil {
		return nil, err
	}
	return decodeJSONInto(js, into, fv, strictYAML)
}

// decodeJSONInto decodes JSON into into (see decodeInto). The body's apiVersion
// and kind, when given, must be into's: they decode into its inline TypeMeta,
// so one pass over the body does both.
func decodeJSONInto(js []byte, into runtime.Object, fv fieldValidation, strict []string) ([]string, error) {
	gvk := into.GetObjectKind().GroupVersionKind()
	cannot := func(err error) error {
		return apierrors.NewBadRequest(fmt.Sprintf("%s in version %q cannot be handled as a %s: %v", gvk.Kind, gvk.Version, gvk.Kind, err))
	}
	var strictErrs []error
	var err error
	if fv == validationIgnore {
		err = kjson.UnmarshalCaseSensitivePreserveInts(js, into)
	} else {
		strictErrs, err = kjson.UnmarshalStrict(js, into, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	}
	if err != nil {
		// A body of another kind fails to decode for that reason; say so.
		var tm metav1.TypeMeta
		if json.Unmarshal(js, &tm) == nil {
			if terr := checkTypeMeta(tm, gvk); terr != nil {
				return nil, terr
			}
		}
		return nil, cannot(err)
	}
	got := into.GetObjectKind().GroupVersionKind()
	if terr := checkTypeMeta(metav1.TypeMeta{APIVersion: got.GroupVersion().String(), Kind: got.Kind}, gvk); terr != nil && !got.Empty() {
		return nil, terr
	}
	into.GetObjectKind().SetGroupVersionKind(gvk)
	for _, e := range strictErrs {
		strict = append(strict, e.Error())
	}
	if len(strict) == 0 || fv == validationIgnore {
		return nil, nil
	}
	if fv == validationStrict {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("%s in version %q cannot be handled as a %s: strict decoding error: %s",
			gvk.Kind, gvk.Version, gvk.Kind, strings.Join(strict, ", ")))
	}
	return strict, nil
}

// checkTypeMeta requires a body's apiVersion and kind, where set, to be want's.
func checkTypeMeta(tm metav1.TypeMeta, want schema.GroupVersionKind) error {
	if tm.APIVersion != "" && tm.APIVersion != "/" && tm.APIVersion != want.GroupVersion().String() {
		return apierrors.NewBadRequest(fmt.Sprintf("the API version in the data (%s) does not match the expected API version (%s)", tm.APIVersion, want.GroupVersion()))
	}
	if tm.Kind != "" && tm.Kind != want.Kind {
		return apierrors.NewBadRequest(fmt.Sprintf("the kind in the data (%s) does not match the expected kind (%s)", tm.Kind, want.Kind))
	}
	return nil
}

// addWarnings sets Warning headers the way upstream does.
func addWarnings(w http.ResponseWriter, warnings []string) {
	for _, m := range warnings {
		w.Header().Add("Warning", "299 - "+strconv.Quote(m))
	}
}

// writeJSON writes v as the whole response.
func writeJSON(w http.ResponseWriter, r *http.Request, code int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeRaw(w, code, output{media: mediaJSON, pretty: isPretty(r)}, data)
}

// writeRaw writes a response body in the negotiated form: data is JSON, or
// protobuf when that was negotiated.
func writeRaw(w http.ResponseWriter, code int, out output, data []byte) {
	switch {
	case out.media == mediaProtobuf:
	case out.media == mediaYAML:
		y, err := yaml.JSONToYAML(data)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		data = y
	case out.pretty:
		var buf bytes.Buffer
		if err := json.Indent(&buf, data, "", "  "); err == nil {
			buf.WriteByte('\n')
			data = buf.Bytes()
		}
	}
	w.Header().Set("Content-Type", out.contentType())
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(code)
	_, _ = w.Write(data)
}

// unsupportedMediaType is upstream's 415 for a body it cannot read.
func unsupportedMediaType(contentType string) error {
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status: metav1.StatusFailure,
		Code:   http.StatusUnsupportedMediaType,
		Reason: metav1.StatusReasonUnsupportedMediaType,
		Message: fmt.Sprintf("the body of the request was in an unknown format (%s) - accepted media types include: %s, %s, %s",
			contentType, mediaJSON, mediaYAML, mediaProtobuf),
	}}
}
