package apiserver

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"time"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/mergepatch"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/apimachinery/pkg/util/uuid"

	"github.com/tendhq/tend/apiserver/storage"
	"github.com/tendhq/tend/schemas/defaults"
	"github.com/tendhq/tend/schemas/validation"
)

func parseDryRun(rq *request) (bool, error) {
	vals := rq.q["dryRun"]
	for _, v := range vals {
		if v != "All" {
			return false, apierrors.NewBadRequest(fmt.Sprintf("Invalid dryRun value: %s. Only \"All\" is supported.", v))
		}
	}
	return len(vals) > 0, nil
}

// writeParams is what every write reads from its request before acting.
type writeParams struct {
	out    output
	fv     fieldValidation
	dryRun bool
	body   []byte
}

// writeParams parses a write's response form, fieldValidation and dryRun, and
// reads its body.
func (rq *request) writeParams() (writeParams, error) {
	var p writeParams
	var err error
	if p.out, err = negotiateOutput(rq.r, false); err != nil {
		return p, err
	}
	if p.fv, err = parseFieldValidation(rq.r); err != nil {
		return p, err
	}
	if p.dryRun, err = parseDryRun(rq); err != nil {
		return p, err
	}
	p.body, err = readBody(rq.r)
	return p, err
}

// decodeBody decodes the body into a new object of the served kind.
func (rq *request) decodeBody(p writeParams) (runtime.Object, []string, error) {
	obj := rq.kind.New()
	warnings, err := rq.s.decoder.decodeInto(rq.r, p.body, obj, p.fv)
	return obj, warnings, err
}

// create serves POST of a new object.
func (rq *request) create() {
	p, err := rq.writeParams()
	if err != nil {
		rq.fail(err)
		return
	}
	obj, warnings, err := rq.decodeBody(p)
	if err != nil {
		rq.fail(err)
		return
	}
	o, err := rq.createObject(obj, p.dryRun)
	if err != nil {
		writeError(rq.w, rq.r, err)
		return
	}
	addWarnings(rq.w, warnings)
	rq.respond(p.out, http.StatusCreated, o)
}

// respond writes a stored object in the negotiated form.
func (rq *request) respond(out output, code int, o *storage.Object) {
	if out.media == mediaProtobuf {
		rq.keepProtobuf(o)
	}
	rd, err := rq.renderer(out)
	if err != nil {
		rq.fail(err)
		return
	}
	body, err := rd.viewBody(o, true)
	if err != nil {
		rq.fail(err)
		return
	}
	writeRaw(rq.w, code, out, body)
}

// createObject prepares and stores a new served-version object. Errors are API
// errors.
func (rq *request) createObject(obj runtime.Object, dryRun bool) (*storage.Object, error) {
	for attempt := 0; ; attempt++ {
		stored, err := rq.prepareCreate(obj.DeepCopyObject())
		if err != nil {
			return nil, err
		}
		name := mustMeta(stored).GetName()
		o, err := rq.cache.Create(rq.ctx(), stored, storage.WriteOptions{DryRun: dryRun})
		if err == nil {
			rq.written = stored
			return o, nil
		}
		retry := attempt < 8 && (storage.IsExists(err) && mustMeta(obj).GetName() == "" ||
			rq.isRandomClaim(err))
		if !retry {
			if claim, ok := storage.ClaimOf(err); ok {
				return nil, rq.claimTaken(stored, claim)
			}
			return nil, toAPIError(err, rq.gr(), name)
		}
	}
}

// prepareCreate turns a served-version object from a client into the stored
// object to create: namespace, generated name, server-set metadata, defaults,
// create-time preparation, admission and validation.
func (rq *request) prepareCreate(obj runtime.Object) (runtime.Object, error) {
	m := mustMeta(obj)
	if rq.kind.Namespaced {
		if ns := m.GetNamespace(); ns != "" && ns != rq.namespace {
			return nil, apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request")
		}
		m.SetNamespace(rq.namespace)
	} else {
		m.SetNamespace("")
	}
	if m.GetName() == "" && m.GetGenerateName() != "" {
		m.SetName(generateName(m.GetGenerateName()))
	}
	defaults.Default(obj)
	stored, err := rq.toStorage(obj)
	if err != nil {
		return nil, err
	}
	sm := mustMeta(stored)
	sm.SetUID(uuid.NewUUID())
	sm.SetCreationTimestamp(metav1.NewTime(time.Now().Truncate(time.Second)))
	sm.SetResourceVersion("")
	sm.SetSelfLink("")
	sm.SetDeletionTimestamp(nil)
	sm.SetDeletionGracePeriodSeconds(nil)
	sm.SetManagedFields(nil)
	sm.SetGeneration(0)
	if rq.kind.Storage.Generation {
		sm.SetGeneration(1)
	}
	defaults.PrepareForCreate(stored)
	if err := rq.admitCreate(stored); err != nil {
		return nil, err
	}
	if err := rq.allocate(stored, nil); err != nil {
		return nil, err
	}
	if errs := validation.Validate(stored); len(errs) > 0 {
		return nil, apierrors.NewInvalid(rq.groupKind(), sm.GetName(), errs)
	}
	return stored, nil
}

func (rq *request) groupKind() schema.GroupKind {
	return schema.GroupKind{Group: rq.kind.Group, Kind: rq.kind.Kind}
}

// generateName appends five random characters to base, as upstream's
// SimpleNameGenerator does.
func generateName(base string) string {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	const maxBase = 63 - 5
	if len(base) > maxBase {
		base = base[:maxBase]
	}
	b := make([]byte, 5)
	for i := range b {
		b[i] = alphabet[rand.IntN(len(alphabet))]
	}
	return base + string(b)
}

func mustMeta(obj runtime.Object) metav1.Object {
	m, err := meta.Accessor(obj)
	if err != nil {
		panic(fmt.Sprintf("apiserver: %T has no ObjectMeta: %v", obj, err))
	}
	return m
}

// update serves PUT of an object or of one of its subresources that replace a
// part of it (status, finalize).
func (rq *request) update(sub string) {
	p, err := rq.writeParams()
	if err != nil {
		rq.fail(err)
		return
	}
	obj, warnings, err := rq.decodeBody(p)
	if err != nil {
		rq.fail(err)
		return
	}
	o, created, err := rq.updateObject(sub, p.dryRun, rq.kind.Storage.AllowCreateOnUpdate && sub == "",
		func(runtime.Object) (runtime.Object, error) { return obj.DeepCopyObject(), nil })
	if err != nil {
		writeError(rq.w, rq.r, err)
		return
	}
	addWarnings(rq.w, warnings)
	code := http.StatusOK
	if created {
		code = http.StatusCreated
	}
	rq.respond(p.out, code, o)
}

// nextFunc computes the served-version object to store from the current
// served-version object (nil when the object does not exist).
type nextFunc func(cur runtime.Object) (runtime.Object, error)

// updateObject runs the update path with storage's compare-and-swap loop: next
// computes what the client wants, and the server's rules (preconditions,
// spec/status split, metadata it owns, generation, admission, validation) make
// it the stored object. It deletes an object whose last finalizer the update
// removed. Errors are API errors.
func (rq *request) updateObject(sub string, dryRun, allowCreate bool, next nextFunc) (*storage.Object, bool, error) {
	for attempt := 0; ; attempt++ {
		o, created, err := rq.updateOnce(sub, dryRun, allowCreate, next)
		if err != nil && attempt < 8 && rq.isRandomClaim(err) {
			continue
		}
		if err != nil {
			if claim, ok := storage.ClaimOf(err); ok {
				return nil, false, rq.claimTaken(nil, claim)
			}
			return nil, false, toAPIError(err, rq.gr(), rq.name)
		}
		if !dryRun {
			if o, err = rq.deleteIfFinalized(o); err != nil {
				return nil, false, err
			}
		}
		return o, created, nil
	}
}

func (rq *request) updateOnce(sub string, dryRun, allowCreate bool, next nextFunc) (*storage.Object, bool, error) {
	var created bool
	var last runtime.Object
	defer func() { rq.written = last }()
	o, err := rq.cache.GuaranteedUpdate(rq.ctx(), rq.key(), storage.UpdateOptions{
		WriteOptions:    storage.WriteOptions{DryRun: dryRun},
		CreateIfMissing: allowCreate,
	}, func(cur runtime.Object) (runtime.Object, error) {
		var curServed runtime.Object
		if cur != nil {
			var err error
			if curServed, err = rq.served(cur.DeepCopyObject()); err != nil {
				return nil, err
			}
		}
		want, err := next(curServed)
		if err != nil {
			return nil, err
		}
		if err := rq.checkName(want); err != nil {
			return nil, err
		}
		var out runtime.Object
		if cur == nil {
			created = true
			if rv := mustMeta(want).GetResourceVersion(); rv != "" {
				return nil, apierrors.NewNotFound(rq.gr(), rq.name)
			}
			out, err = rq.prepareCreate(want)
		} else {
			created = false
			out, err = rq.prepareUpdate(want, cur, sub)
		}
		last = out
		return out, err
	})
	return o, created, err
}

// checkName requires the object's name and namespace to match the URL's.
func (rq *request) checkName(obj runtime.Object) error {
	m := mustMeta(obj)
	if m.GetName() != rq.name {
		return apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", m.GetName(), rq.name))
	}
	if rq.kind.Namespaced {
		if ns := m.GetNamespace(); ns != "" && ns != rq.namespace {
			return apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request")
		}
		m.SetNamespace(rq.namespace)
	}
	return nil
}

// prepareUpdate makes want (served version) the stored object replacing cur.
func (rq *request) prepareUpdate(want, cur runtime.Object, sub string) (runtime.Object, error) {
	defaults.Default(want)
	next, err := rq.toStorage(want)
	if err != nil {
		return nil, err
	}
	cm, nm := mustMeta(cur), mustMeta(next)
	if rv := nm.GetResourceVersion(); rv != "" && rv != cm.GetResourceVersion() {
		return nil, apierrors.NewConflict(rq.gr(), rq.name, fmt.Errorf(registryConflictMsg))
	}
	// A UID in the body (or left by a patch) is a precondition: the update is
	// for that object, not another one since created under the same name.
	if uid := nm.GetUID(); uid != "" && uid != cm.GetUID() {
		return nil, apierrors.NewConflict(rq.gr(), rq.name,
			fmt.Errorf("Precondition failed: UID in precondition: %s, UID in object meta: %s", uid, cm.GetUID()))
	}
	switch sub {
	case "status":
		next = withStatus(cur, next)
	case "finalize":
		next = withFinalizers(cur, next)
	default:
		if rq.kind.Storage.HasStatus {
			next = withField(next, cur, "Status")
		}
	}
	nm = mustMeta(next)
	if nm.GetUID() == "" {
		nm.SetUID(cm.GetUID())
	}
	nm.SetCreationTimestamp(cm.GetCreationTimestamp())
	nm.SetDeletionTimestamp(cm.GetDeletionTimestamp())
	nm.SetDeletionGracePeriodSeconds(cm.GetDeletionGracePeriodSeconds())
	nm.SetResourceVersion(cm.GetResourceVersion())
	nm.SetSelfLink("")
	nm.SetManagedFields(nil)
	nm.SetGeneration(cm.GetGeneration())
	if rq.kind.Storage.Generation && sub == "" && specChanged(cur, next) {
		nm.SetGeneration(cm.GetGeneration() + 1)
	}
	if sub == "" {
		if err := rq.admitUpdate(next, cur); err != nil {
			return nil, err
		}
		if err := rq.allocate(next, cur); err != nil {
			return nil, err
		}
	}
	var errs = validation.ValidateUpdate(next, cur)
	if sub == "status" {
		errs = validation.ValidateStatusUpdate(next, cur)
	}
	if len(errs) > 0 {
		return nil, apierrors.NewInvalid(rq.groupKind(), rq.name, errs)
	}
	return next, nil
}

// withField returns a copy of base with the named top-level field taken from
// from. Both must be pointers to the same struct type.
func withField(base, from runtime.Object, field string) runtime.Object {
	out := base.DeepCopyObject()
	dst := reflect.ValueOf(out).Elem().FieldByName(field)
	src := reflect.ValueOf(from).Elem().FieldByName(field)
	if dst.IsValid() && src.IsValid() && dst.CanSet() {
		dst.Set(src)
	}
	if field == "Status" {
		// The client's resourceVersion is the update's precondition.
		mustMeta(out).SetResourceVersion(mustMeta(from).GetResourceVersion())
	}
	return out
}

// withStatus is a status update of cur: the client's status and annotations
// (upstream's status strategies keep annotation changes, which is how a
// Deployment's revision annotation is written), everything else as stored.
func withStatus(cur, next runtime.Object) runtime.Object {
	out := withField(cur, next, "Status")
	mustMeta(out).SetAnnotations(mustMeta(next).GetAnnotations())
	return out
}

// specChanged reports whether anything but metadata and status differs, the rule
// for bumping metadata.generation. A Deployment's annotations count too, as
// upstream's: they are copied to its ReplicaSets.
func specChanged(old, cur runtime.Object) bool {
	a, b := reflect.ValueOf(old).Elem(), reflect.ValueOf(cur).Elem()
	for i := 0; i < a.NumField(); i++ {
		name := a.Type().Field(i).Name
		switch name {
		case "TypeMeta", "ObjectMeta", "Status":
			continue
		}
		if !apiequality.Semantic.DeepEqual(a.Field(i).Interface(), b.Field(i).Interface()) {
			return true
		}
	}
	if a.Type().Name() == "Deployment" {
		return !apiequality.Semantic.DeepEqual(mustMeta(old).GetAnnotations(), mustMeta(cur).GetAnnotations())
	}
	return false
}

// patch serves PATCH of an object or its status.
func (rq *request) patch(sub string) {
	pt, err := patchType(rq.r)
	if err != nil {
		rq.fail(err)
		return
	}
	p, err := rq.writeParams()
	if err != nil {
		rq.fail(err)
		return
	}
	var warnings []string
	o, _, err := rq.updateObject(sub, p.dryRun, false, func(cur runtime.Object) (runtime.Object, error) {
		if cur == nil {
			return nil, apierrors.NewNotFound(rq.gr(), rq.name)
		}
		patched, err := applyPatch(pt, cur, p.body)
		if err != nil {
			return nil, err
		}
		obj := rq.kind.New()
		warnings, err = decodeJSONInto(patched, obj, p.fv, nil)
		return obj, err
	})
	if err != nil {
		writeError(rq.w, rq.r, err)
		return
	}
	addWarnings(rq.w, warnings)
	rq.respond(p.out, http.StatusOK, o)
}

func patchType(r *http.Request) (types.PatchType, error) {
	media, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch pt := types.PatchType(media); pt {
	case types.JSONPatchType, types.MergePatchType, types.StrategicMergePatchType:
		return pt, nil
	case types.ApplyYAMLPatchType, types.ApplyCBORPatchType:
		return "", apierrors.NewGenericServerResponse(http.StatusUnsupportedMediaType, "", schema.GroupResource{}, "",
			"server-side apply is not supported yet: use client-side apply (kubectl apply without --server-side)", 0, false)
	}
	return "", unsupportedMediaType(r.Header.Get("Content-Type"))
}

// applyPatch applies a patch to cur (a served-version object) and returns the
// patched JSON.
func applyPatch(pt types.PatchType, cur runtime.Object, patch []byte) ([]byte, error) {
	original, err := json.Marshal(cur)
	if err != nil {
		return nil, err
	}
	switch pt {
	case types.JSONPatchType:
		p, err := jsonpatch.DecodePatch(patch)
		if err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
		out, err := p.Apply(original)
		if err != nil {
			return nil, unprocessable(err.Error())
		}
		return out, nil
	case types.MergePatchType:
		out, err := jsonpatch.MergePatch(original, patch)
		if err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
		return out, nil
	default:
		out, err := strategicpatch.StrategicMergePatch(original, patch, cur)
		if err != nil {
			return nil, interpretStrategicMergePatchError(err)
		}
		return out, nil
	}
}

func unprocessable(msg string) error {
	return apierrors.NewGenericServerResponse(http.StatusUnprocessableEntity, "", schema.GroupResource{}, "", msg, 0, false)
}

func interpretStrategicMergePatchError(err error) error {
	switch err {
	case mergepatch.ErrNoListOfLists, mergepatch.ErrPatchContentNotMatchRetainKeys:
		return unprocessable(err.Error())
	}
	return apierrors.NewBadRequest(err.Error())
}

// keepProtobuf gives a just-written object its protobuf encoding from the typed
// object the write stored, sparing a protobuf client's response (and watchers)
// a decode of the JSON. It does nothing unless o is the state that object became.
func (rq *request) keepProtobuf(o *storage.Object) {
	w, ok := rq.written.(protoMarshaler)
	if !ok || rq.kind.FromStorage != nil || mustMeta(rq.written).GetResourceVersion() != strconv.FormatInt(o.RV, 10) {
		return
	}
	_, _ = o.Encoding(w.Marshal)
}
