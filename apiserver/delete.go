package apiserver

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kjson "sigs.k8s.io/json"

	"github.com/tendhq/tend/apiserver/storage"
)

// immortalNamespaces may not be deleted.
var immortalNamespaces = []string{"default", "kube-system", "kube-public"}

// deleteOptions reads DeleteOptions from the query and, if present, the body.
func (rq *request) deleteOptions() (metav1.DeleteOptions, bool, error) {
	var opts metav1.DeleteOptions
	if s := rq.q.Get("gracePeriodSeconds"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return opts, false, apierrors.NewBadRequest(fmt.Sprintf("invalid gracePeriodSeconds %q", s))
		}
		opts.GracePeriodSeconds = &n
	}
	if s := rq.q.Get("propagationPolicy"); s != "" {
		p := metav1.DeletionPropagation(s)
		opts.PropagationPolicy = &p
	}
	if s := rq.q.Get("orphanDependents"); s != "" {
		v, err := boolParam(s, "orphanDependents")
		if err != nil {
			return opts, false, err
		}
		opts.OrphanDependents = &v
	}
	opts.DryRun = rq.q["dryRun"]
	body, err := readBody(rq.r)
	if err != nil {
		return opts, false, err
	}
	if len(body) > 0 {
		fromBody, err := decodeDeleteOptions(rq.r.Header.Get("Content-Type"), body)
		if err != nil {
			return opts, false, err
		}
		if fromBody.GracePeriodSeconds != nil {
			opts.GracePeriodSeconds = fromBody.GracePeriodSeconds
		}
		if fromBody.PropagationPolicy != nil {
			opts.PropagationPolicy = fromBody.PropagationPolicy
		}
		if fromBody.OrphanDependents != nil {
			opts.OrphanDependents = fromBody.OrphanDependents
		}
		if fromBody.Preconditions != nil {
			opts.Preconditions = fromBody.Preconditions
		}
		if len(fromBody.DryRun) > 0 {
			opts.DryRun = fromBody.DryRun
		}
	}
	for _, v := range opts.DryRun {
		if v != metav1.DryRunAll {
			return opts, false, apierrors.NewBadRequest(fmt.Sprintf("Invalid dryRun value: %s. Only \"All\" is supported.", v))
		}
	}
	if opts.OrphanDependents != nil && opts.PropagationPolicy != nil {
		return opts, false, apierrors.NewBadRequest("orphanDependents and deletionPropagation cannot be both set")
	}
	if p := opts.PropagationPolicy; p != nil {
		switch *p {
		case metav1.DeletePropagationOrphan, metav1.DeletePropagationBackground, metav1.DeletePropagationForeground:
		default:
			return opts, false, apierrors.NewBadRequest(fmt.Sprintf("propagationPolicy %q is not supported: use Orphan, Background or Foreground", *p))
		}
	}
	return opts, len(opts.DryRun) > 0, nil
}

// delete serves DELETE of one object.
func (rq *request) delete() {
	out, err := negotiateOutput(rq.r, false)
	if err != nil {
		rq.fail(err)
		return
	}
	opts, dryRun, err := rq.deleteOptions()
	if err != nil {
		rq.fail(err)
		return
	}
	o, deleted, err := rq.deleteObject(rq.key(), rq.name, opts, dryRun)
	if err != nil {
		writeError(rq.w, rq.r, err)
		return
	}
	if deleted && !rq.kind.Storage.ReturnDeletedObject {
		obj, err := decodeStored(rq.kind.Storage, o)
		if err != nil {
			rq.fail(err)
			return
		}
		writeJSON(rq.w, rq.r, http.StatusOK, &metav1.Status{
			TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
			Status:   metav1.StatusSuccess,
			Details: &metav1.StatusDetails{Name: rq.name, Group: rq.kind.Group, Kind: rq.kind.Resource,
				UID: mustMeta(obj).GetUID()},
		})
		return
	}
	rq.respond(out, http.StatusOK, o)
}

// decodeDeleteOptions reads the DeleteOptions of a DELETE body in any encoding a
// client sends: JSON, YAML, or protobuf, which client-go's typed clients use for
// built-in kinds. The envelope's apiVersion is not checked: upstream accepts
// DeleteOptions of any group version (meta.k8s.io/v1, v1, apps/v1, ...).
func decodeDeleteOptions(contentType string, body []byte) (metav1.DeleteOptions, error) {
	var opts metav1.DeleteOptions
	if media, _, _ := mime.ParseMediaType(contentType); media == mediaProtobuf {
		var unk runtime.Unknown
		if !bytes.HasPrefix(body, protobufMagic) {
			return opts, apierrors.NewBadRequest("decoding DeleteOptions: the protobuf body lacks the k8s envelope")
		}
		if err := unk.Unmarshal(body[len(protobufMagic):]); err != nil {
			return opts, apierrors.NewBadRequest(fmt.Sprintf("decoding DeleteOptions: %v", err))
		}
		if unk.Kind != "" && unk.Kind != "DeleteOptions" {
			return opts, apierrors.NewBadRequest(fmt.Sprintf("the body is a %s, not DeleteOptions", unk.Kind))
		}
		if err := opts.Unmarshal(unk.Raw); err != nil {
			return opts, apierrors.NewBadRequest(fmt.Sprintf("decoding DeleteOptions: %v", err))
		}
		return opts, nil
	}
	js, _, err := toJSON(contentType, body)
	if err != nil {
		return opts, err
	}
	if err := kjson.UnmarshalCaseSensitivePreserveInts(js, &opts); err != nil {
		return opts, apierrors.NewBadRequest(fmt.Sprintf("decoding DeleteOptions: %v", err))
	}
	return opts, nil
}

var errDeleteNow = errors.New("delete now")

// deleteObject deletes the object at key: at once, or by setting
// deletionTimestamp when it has finalizers (those it had, or the ones the
// propagation policy adds) or a grace period. deleted says it is gone.
func (rq *request) deleteObject(key, name string, opts metav1.DeleteOptions, dryRun bool) (*storage.Object, bool, error) {
	if rq.kind.Kind == "Namespace" && slices.Contains(immortalNamespaces, name) {
		return nil, false, apierrors.NewForbidden(rq.gr(), name, errors.New("this namespace may not be deleted"))
	}
	for attempt := 0; ; attempt++ {
		o, err := rq.cache.GuaranteedUpdate(rq.ctx(), key, storage.UpdateOptions{WriteOptions: storage.WriteOptions{DryRun: dryRun}},
			func(cur runtime.Object) (runtime.Object, error) {
				if err := checkPreconditions(rq, name, opts.Preconditions, cur); err != nil {
					return nil, err
				}
				return rq.beginDelete(cur, opts)
			})
		if err == nil {
			return o, false, nil
		}
		if !errors.Is(err, errDeleteNow) {
			return nil, false, toAPIError(err, rq.gr(), name)
		}
		o, err = rq.cache.Delete(rq.ctx(), key, storage.WriteOptions{DryRun: dryRun}, func(cur runtime.Object) error {
			if err := checkPreconditions(rq, name, opts.Preconditions, cur); err != nil {
				return err
			}
			// The object may have gained a finalizer since: then go round again.
			if _, err := rq.beginDelete(cur.DeepCopyObject(), opts); !errors.Is(err, errDeleteNow) {
				return errRetryDelete
			}
			return nil
		})
		if errors.Is(err, errRetryDelete) && attempt < 5 {
			continue
		}
		if err != nil {
			return nil, false, toAPIError(err, rq.gr(), name)
		}
		return o, true, nil
	}
}

var errRetryDelete = errors.New("object changed during delete")

func checkPreconditions(rq *request, name string, p *metav1.Preconditions, cur runtime.Object) error {
	if p == nil {
		return nil
	}
	m := mustMeta(cur)
	if p.UID != nil && *p.UID != m.GetUID() {
		return apierrors.NewConflict(rq.gr(), name, fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", *p.UID, m.GetUID()))
	}
	if p.ResourceVersion != nil && *p.ResourceVersion != m.GetResourceVersion() {
		return apierrors.NewConflict(rq.gr(), name, fmt.Errorf("Precondition failed: ResourceVersion in precondition: %v, ResourceVersion in object meta: %v", *p.ResourceVersion, m.GetResourceVersion()))
	}
	return nil
}

// beginDelete returns cur marked for deletion, or errDeleteNow when it can go at
// once.
func (rq *request) beginDelete(cur runtime.Object, opts metav1.DeleteOptions) (runtime.Object, error) {
	m := mustMeta(cur)
	grace := rq.gracePeriod(cur, opts)
	finalizers := gcFinalizers(m.GetFinalizers(), opts)
	ns, isNS := cur.(*corev1.Namespace)
	pending := len(finalizers) > 0 || (isNS && len(ns.Spec.Finalizers) > 0)
	now := time.Now().Truncate(time.Second)
	if dt := m.GetDeletionTimestamp(); dt != nil {
		changed := false
		if g := m.GetDeletionGracePeriodSeconds(); g != nil && grace < *g {
			// A shorter grace period replaces a longer one.
			t := metav1.NewTime(now.Add(time.Duration(grace) * time.Second))
			m.SetDeletionTimestamp(&t)
			m.SetDeletionGracePeriodSeconds(&grace)
			changed = true
		}
		if !slices.Equal(finalizers, m.GetFinalizers()) {
			m.SetFinalizers(finalizers)
			changed = true
		}
		g := m.GetDeletionGracePeriodSeconds()
		if !pending && (g == nil || *g == 0) {
			return nil, errDeleteNow
		}
		_ = changed // an unchanged object is a no-op write, which storage skips
		return cur, nil
	}
	if grace == 0 && !pending {
		return nil, errDeleteNow
	}
	t := metav1.NewTime(now.Add(time.Duration(grace) * time.Second))
	m.SetDeletionTimestamp(&t)
	m.SetDeletionGracePeriodSeconds(&grace)
	m.SetFinalizers(finalizers)
	if g := m.GetGeneration(); g > 0 {
		m.SetGeneration(g + 1)
	}
	if isNS {
		ns.Status.Phase = corev1.NamespaceTerminating
	}
	return cur, nil
}

// gracePeriod is the grace period a delete gives: pods, as upstream's pod
// strategy decides; every other kind, none.
func (rq *request) gracePeriod(obj runtime.Object, opts metav1.DeleteOptions) int64 {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return 0
	}
	var period int64
	switch {
	case opts.GracePeriodSeconds != nil:
		period = *opts.GracePeriodSeconds
	case pod.Spec.TerminationGracePeriodSeconds != nil:
		period = *pod.Spec.TerminationGracePeriodSeconds
	}
	if pod.Spec.NodeName == "" || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		period = 0
	}
	if period < 0 {
		period = 1
	}
	return period
}

// gcFinalizers records the propagation policy as upstream's garbage collector
// finalizers: orphan for Orphan, foregroundDeletion for Foreground, neither for
// Background. Without a policy, finalizers already present stay.
func gcFinalizers(finalizers []string, opts metav1.DeleteOptions) []string {
	var orphan, foreground bool
	switch {
	case opts.PropagationPolicy != nil:
		orphan = *opts.PropagationPolicy == metav1.DeletePropagationOrphan
		foreground = *opts.PropagationPolicy == metav1.DeletePropagationForeground
	case opts.OrphanDependents != nil:
		orphan = *opts.OrphanDependents
	default:
		return finalizers
	}
	out := make([]string, 0, len(finalizers)+1)
	for _, f := range finalizers {
		if f != metav1.FinalizerOrphanDependents && f != metav1.FinalizerDeleteDependents {
			out = append(out, f)
		}
	}
	if orphan {
		out = append(out, metav1.FinalizerOrphanDependents)
	}
	if foreground {
		out = append(out, metav1.FinalizerDeleteDependents)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// deleteIfFinalized deletes an object an update left with a deletionTimestamp
// and nothing holding it (no finalizers, no grace period).
func (rq *request) deleteIfFinalized(o *storage.Object) (*storage.Object, error) {
	// The object the write just stored, when the request kept it: its
	// deletion metadata is what matters here, and decoding the stored JSON
	// again would cost as much as the write's own decoding.
	obj := rq.written
	if obj == nil {
		var err error
		if obj, err = decodeStored(rq.kind.Storage, o); err != nil {
			return nil, err
		}
	}
	m := mustMeta(obj)
	if m.GetDeletionTimestamp() == nil || len(m.GetFinalizers()) > 0 {
		return o, nil
	}
	if ns, ok := obj.(*corev1.Namespace); ok && len(ns.Spec.Finalizers) > 0 {
		return o, nil
	}
	if g := m.GetDeletionGracePeriodSeconds(); g != nil && *g > 0 {
		return o, nil
	}
	d, err := rq.cache.Delete(rq.ctx(), o.Key, storage.WriteOptions{}, func(cur runtime.Object) error {
		// Delete first looks at the cache, which may not have seen the update
		// yet: an older state passes here, fails storage's compare on the
		// revision and comes back fresh from etcd. Only a newer state stops us.
		rv, err := strconv.ParseInt(mustMeta(cur).GetResourceVersion(), 10, 64)
		if err != nil || rv > o.RV {
			return errRetryDelete
		}
		return nil
	})
	if err != nil {
		// Someone changed or deleted it since; what they did stands.
		return o, nil
	}
	return d, nil
}

// deleteCollection serves DELETE of a collection: every object the selectors
// match in the namespace, each as a DELETE would.
func (rq *request) deleteCollection() {
	out, err := negotiateOutput(rq.r, true)
	if err != nil {
		rq.fail(err)
		return
	}
	lopts, err := rq.listOptions()
	if err != nil {
		rq.fail(err)
		return
	}
	opts, dryRun, err := rq.deleteOptions()
	if err != nil {
		rq.fail(err)
		return
	}
	if rq.kind.Kind == "Namespace" {
		rq.methodNotAllowed()
		return
	}
	res, err := rq.cache.List(rq.ctx(), lopts)
	if err != nil {
		rq.fail(err)
		return
	}
	done := &storage.ListResult{RV: res.RV}
	for _, item := range res.Items {
		o, _, err := rq.deleteObject(item.Key, item.Name, opts, dryRun)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			writeError(rq.w, rq.r, err)
			return
		}
		done.Items = append(done.Items, o)
	}
	rd, err := rq.renderer(out)
	if err != nil {
		rq.fail(err)
		return
	}
	body, err := rd.list(done)
	if err != nil {
		rq.fail(err)
		return
	}
	writeRaw(rq.w, http.StatusOK, out, body)
}
