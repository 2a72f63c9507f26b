package apiserver

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/tendhq/tend/apiserver/storage"
)

// minWatchTimeout is upstream's --min-request-timeout: a watch without
// timeoutSeconds ends after a random time between it and twice it, so that
// clients spread their reconnections.
const minWatchTimeout = 30 * time.Minute

// watch serves a WATCH as a stream of JSON watch events, one per line.
func (rq *request) watch() {
	out, err := negotiateOutput(rq.r, false)
	if err != nil {
		rq.fail(err)
		return
	}
	out.pretty = false
	rd, err := rq.renderer(out)
	if err != nil {
		rq.fail(err)
		return
	}
	opts, timeout, err := rq.watchOptions()
	if err != nil {
		rq.fail(err)
		return
	}
	ctx, cancel := context.WithTimeout(rq.ctx(), timeout)
	defer cancel()
	w := rq.w
	if out.media == mediaProtobuf {
		w.Header().Set("Content-Type", mediaProtobuf+";stream=watch")
	} else {
		w.Header().Set("Content-Type", out.contentType())
	}
	w.Header().Set("Cache-Control", "no-cache, private")
	watcher, err := rq.cache.Watch(ctx, opts)
	if err != nil {
		code := storage.CodeOf(err)
		if code != storage.CodeExpired && code != storage.CodeTooLargeRV {
			rq.fail(err)
			return
		}
		// Upstream starts the stream and reports these as an ERROR event.
		w.WriteHeader(http.StatusOK)
		st := statusOf(toAPIError(err, rq.gr(), rq.name))
		st.Kind, st.APIVersion = "Status", "v1"
		if out.media == mediaProtobuf {
			if obj, err := protoStatus(st); err == nil {
				_ = writeProtoFrame(w, "ERROR", obj)
			}
			return
		}
		frame, _ := json.Marshal(metav1.WatchEvent{Type: "ERROR", Object: runtime.RawExtension{Raw: mustJSON(st)}})
		_, _ = w.Write(append(frame, '\n'))
		return
	}
	defer watcher.Stop()
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	// The response writer buffers already (HTTP/1.1 and HTTP/2 alike); events are
	// written into it and flushed once per batch.
	headers := true
	var buf []storage.Event
	for {
		evs, err := watcher.Next(ctx, buf)
		if err != nil {
			return
		}
		for i := range evs {
			if err := rq.writeEvent(w, rd, &evs[i], headers); err != nil {
				rq.s.logf("watch %s: %v", rq.gr(), err)
				return
			}
			if evs[i].Type != storage.Bookmark {
				headers = false
			}
		}
		if rc.Flush() != nil {
			return
		}
		buf = evs
	}
}

var eventPrefix = map[storage.EventType][]byte{
	storage.Added:    []byte(`{"type":"ADDED","object":`),
	storage.Modified: []byte(`{"type":"MODIFIED","object":`),
	storage.Deleted:  []byte(`{"type":"DELETED","object":`),
	storage.Bookmark: []byte(`{"type":"BOOKMARK","object":`),
}

func (rq *request) writeEvent(w io.Writer, rd *renderer, e *storage.Event, headers bool) error {
	if rd.out.media == mediaProtobuf {
		return rq.writeProtoEvent(w, rd, e)
	}
	var obj []byte
	var err error
	if e.Type == storage.Bookmark {
		obj, err = rq.bookmark(rd, e)
	} else {
		obj, err = rd.viewBody(e.Object, headers)
	}
	if err != nil {
		return err
	}
	if _, err := w.Write(eventPrefix[e.Type]); err != nil {
		return err
	}
	if _, err := w.Write(obj); err != nil {
		return err
	}
	_, err = io.WriteString(w, "}\n")
	return err
}

// bookmark is the object of a BOOKMARK event: an empty object of the watched
// kind that carries only the resourceVersion (and, at the end of the initial
// events, upstream's annotation saying so).
func (rq *request) bookmark(rd *renderer, e *storage.Event) ([]byte, error) {
	kind, apiVersion := rq.kind.Kind, rq.kind.GroupVersion().String()
	switch rd.out.view {
	case viewPartial:
		kind, apiVersion = "PartialObjectMetadata", "meta.k8s.io/v1"
	case viewTable:
		kind, apiVersion = "Table", "meta.k8s.io/v1"
	}
	meta := map[string]any{"resourceVersion": strconv.FormatInt(e.RV, 10)}
	if e.InitialEventsEnd {
		meta["annotations"] = map[string]string{metav1.InitialEventsAnnotationKey: "true"}
	}
	return json.Marshal(map[string]any{"kind": kind, "apiVersion": apiVersion, "metadata": meta})
}

func (rq *request) watchOptions() (storage.WatchOptions, time.Duration, error) {
	var opts storage.WatchOptions
	p, err := rq.predicate()
	if err != nil {
		return opts, 0, err
	}
	if rq.name != "" {
		byName := fields.OneTermEqualSelector("metadata.name", rq.name)
		if p.Field != nil {
			p.Field = fields.AndSelectors(p.Field, byName)
		} else {
			p.Field = byName
		}
	}
	opts.Predicate = p
	opts.RV = rq.q.Get("resourceVersion")
	if opts.RV != "" && opts.RV != "0" {
		if n, err := strconv.ParseInt(opts.RV, 10, 64); err != nil || n < 0 {
			return opts, 0, apierrors.NewBadRequest(fmt.Sprintf("invalid resource version %q", opts.RV))
		}
	}
	opts.AllowBookmarks, err = boolParam(rq.q.Get("allowWatchBookmarks"), "allowWatchBookmarks")
	if err != nil {
		return opts, 0, err
	}
	match := rq.q.Get("resourceVersionMatch")
	if s := rq.q.Get("sendInitialEvents"); s != "" {
		v, err := boolParam(s, "sendInitialEvents")
		if err != nil {
			return opts, 0, err
		}
		opts.SendInitialEvents = &v
		if match != "NotOlderThan" {
			return opts, 0, apierrors.NewBadRequest(`sendInitialEvents requires setting resourceVersionMatch to NotOlderThan`)
		}
		if v && !opts.AllowBookmarks {
			return opts, 0, apierrors.NewBadRequest(`sendInitialEvents requires setting allowWatchBookmarks to true`)
		}
	} else if match != "" {
		return opts, 0, apierrors.NewBadRequest(`resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided`)
	}
	timeout := minWatchTimeout + time.Duration(rand.Int64N(int64(minWatchTimeout)))
	if s := rq.q.Get("timeoutSeconds"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return opts, 0, apierrors.NewBadRequest(fmt.Sprintf("invalid timeoutSeconds %q", s))
		}
		if n > 0 {
			timeout = time.Duration(n) * time.Second
		}
	}
	return opts, timeout, nil
}

func boolParam(s, name string) (bool, error) {
	if s == "" {
		return false, nil
	}
	v, err := strconv.ParseBool(s)
	if err != nil {
		return false, apierrors.NewBadRequest(fmt.Sprintf("%s must be true or false, not %q", name, s))
	}
	return v, nil
}
