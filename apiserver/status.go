package apiserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tendhq/tend/apiserver/storage"
)

// toAPIError turns an error from storage or elsewhere into an upstream-shaped
// API error about resource gr and object name.
func toAPIError(err error, gr schema.GroupResource, name string) error {
	if err == nil {
		return nil
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return err
	}
	var se *storage.Error
	if errors.As(err, &se) {
		switch se.Code {
		case storage.CodeNotFound:
			return apierrors.NewNotFound(gr, name)
		case storage.CodeExists:
			return apierrors.NewAlreadyExists(gr, name)
		case storage.CodeConflict:
			return apierrors.NewConflict(gr, name, errors.New(registryConflictMsg))
		case storage.CodeExpired:
			return apierrors.NewResourceExpired(se.Msg)
		case storage.CodeTooLargeRV:
			// The cause is how client-go's reflector tells this from other timeouts.
			err := apierrors.NewTimeoutError(se.Msg, 1)
			err.ErrStatus.Details.Causes = []metav1.StatusCause{{
				Type: metav1.CauseTypeResourceVersionTooLarge, Message: "Too large resource version"}}
			return err
		case storage.CodeInvalid:
			return apierrors.NewBadRequest(se.Msg)
		case storage.CodeTooLarge:
			return apierrors.NewRequestEntityTooLargeError(se.Msg)
		case storage.CodeUnavailable:
			return apierrors.NewServiceUnavailable(se.Msg)
		case storage.CodeClaimTaken:
			return apierrors.NewConflict(gr, name, fmt.Errorf("%s is held by another object", se.Claim))
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return apierrors.NewTimeoutError(err.Error(), 1)
	}
	if errors.Is(err, context.Canceled) {
		// The client went away; nobody reads this.
		return apierrors.NewGenericServerResponse(499, "", gr, name, "the request was canceled", 0, false)
	}
	return apierrors.NewInternalError(err)
}

const registryConflictMsg = "the object has been modified; please apply your changes to the latest version and try again"

// statusOf returns the Status to send for err.
func statusOf(err error) *metav1.Status {
	var s apierrors.APIStatus
	if errors.As(err, &s) {
		st := s.Status()
		return &st
	}
	st := apierrors.NewInternalError(err).Status()
	return &st
}

// writeError answers a request with err as a metav1.Status.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	st := statusOf(err)
	st.Kind, st.APIVersion = "Status", "v1"
	if st.Status == "" {
		st.Status = metav1.StatusFailure
	}
	code := int(st.Code)
	if code == 0 {
		code = http.StatusInternalServerError
	}
	if st.Details != nil && st.Details.RetryAfterSeconds > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(st.Details.RetryAfterSeconds)))
	}
	writeJSON(w, r, code, st)
}

// errNotFoundPath is the 404 for a path that names no resource.
func errNotFoundPath() error {
	return apierrors.NewGenericServerResponse(http.StatusNotFound, "", schema.GroupResource{}, "",
		"the server could not find the requested resource", 0, false)
}
