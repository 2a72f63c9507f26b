package apiserver

import (
	"bufio"
	"fmt"
	"net/http"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/tendhq/tend/apiserver/storage"
)

// get serves GET of one object (and of its status subresource).
func (rq *request) get() {
	out, err := negotiateOutput(rq.r, false)
	if err != nil {
		rq.fail(err)
		return
	}
	rd, err := rq.renderer(out)
	if err != nil {
		rq.fail(err)
		return
	}
	o, err := rq.cache.Get(rq.ctx(), rq.key(), storage.ReadOptions{RV: rq.q.Get("resourceVersion")})
	if err != nil {
		rq.fail(err)
		return
	}
	body, err := rd.viewBody(o, true)
	if err != nil {
		rq.fail(err)
		return
	}
	writeRaw(rq.w, http.StatusOK, out, body)
}

// list serves a LIST.
func (rq *request) list() {
	out, err := negotiateOutput(rq.r, true)
	if err != nil {
		rq.fail(err)
		return
	}
	rd, err := rq.renderer(out)
	if err != nil {
		rq.fail(err)
		return
	}
	opts, err := rq.listOptions()
	if err != nil {
		rq.fail(err)
		return
	}
	res, err := rq.cache.List(rq.ctx(), opts)
	if err != nil {
		rq.fail(err)
		return
	}
	if rd.streamable() {
		// Large lists are written as they are produced rather than built in
		// memory first. An error midway can only cut the response short.
		rq.w.Header().Set("Content-Type", out.contentType())
		rq.w.WriteHeader(http.StatusOK)
		bw := bufio.NewWriterSize(rq.w, 64*1024)
		if err := rd.writeList(bw, res); err != nil {
			rq.s.logf("list %s: %v", rq.gr(), err)
			panic(http.ErrAbortHandler)
		}
		_ = bw.Flush()
		return
	}
	body, err := rd.list(res)
	if err != nil {
		rq.fail(err)
		return
	}
	writeRaw(rq.w, http.StatusOK, out, body)
}

// predicate parses the namespace, labelSelector and fieldSelector of a request.
func (rq *request) predicate() (storage.Predicate, error) {
	p := storage.Predicate{Namespace: rq.namespace}
	if s := rq.q.Get("labelSelector"); s != "" {
		sel, err := labels.Parse(s)
		if err != nil {
			return p, apierrors.NewBadRequest(fmt.Sprintf("unable to parse requirement: %v", err))
		}
		p.Label = sel
	}
	if s := rq.q.Get("fieldSelector"); s != "" {
		sel, err := fields.ParseSelector(s)
		if err != nil {
			return p, apierrors.NewBadRequest(fmt.Sprintf("invalid field selector: %v", err))
		}
		for _, req := range sel.Requirements() {
			if !rq.kind.Storage.SupportsField(req.Field) {
				return p, apierrors.NewBadRequest(fmt.Sprintf("field label not supported: %s", req.Field))
			}
		}
		p.Field = sel
	}
	return p, nil
}

func (rq *request) readOptions() (storage.ReadOptions, error) {
	rv := rq.q.Get("resourceVersion")
	match := rq.q.Get("resourceVersionMatch")
	if rv != "" && rv != "0" {
		if n, err := strconv.ParseInt(rv, 10, 64); err != nil || n < 0 {
			return storage.ReadOptions{}, apierrors.NewBadRequest(fmt.Sprintf("invalid resource version %q", rv))
		}
	}
	switch match {
	case "":
	case "NotOlderThan", "Exact":
		if rv == "" {
			return storage.ReadOptions{}, apierrors.NewBadRequest("resourceVersionMatch is forbidden unless resourceVersion is provided")
		}
		if match == "Exact" && rv == "0" {
			return storage.ReadOptions{}, apierrors.NewBadRequest(`resourceVersionMatch "exact" is forbidden for resourceVersion "0"`)
		}
	default:
		return storage.ReadOptions{}, apierrors.NewBadRequest(fmt.Sprintf("resourceVersionMatch %q is not supported: use NotOlderThan or Exact", match))
	}
	return storage.ReadOptions{RV: rv, Exact: match == "Exact"}, nil
}

func (rq *request) listOptions() (storage.ListOptions, error) {
	var opts storage.ListOptions
	p, err := rq.predicate()
	if err != nil {
		return opts, err
	}
	opts.Predicate = p
	if opts.ReadOptions, err = rq.readOptions(); err != nil {
		return opts, err
	}
	if l := rq.q.Get("limit"); l != "" {
		n, err := strconv.ParseInt(l, 10, 64)
		if err != nil || n < 0 {
			return opts, apierrors.NewBadRequest(fmt.Sprintf("invalid limit %q", l))
		}
		opts.Limit = n
	}
	if c := rq.q.Get("continue"); c != "" {
		if opts.RV != "" {
			return opts, apierrors.NewBadRequest("specifying resource version is not allowed when using continue")
		}
		opts.Continue = c
	}
	return opts, nil
}
