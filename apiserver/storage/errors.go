package storage

import (
	"errors"
	"fmt"
)

// Code classifies a storage error so the API layer can map it to a Status.
type Code int

const (
	// CodeNotFound: the key does not exist.
	CodeNotFound Code = iota + 1
	// CodeExists: a create found the key present.
	CodeExists
	// CodeConflict: a precondition (resourceVersion or UID) did not hold.
	CodeConflict
	// CodeExpired: the requested resourceVersion is older than the history held.
	CodeExpired
	// CodeTooLargeRV: the cache did not reach the requested resourceVersion in time.
	CodeTooLargeRV
	// CodeClaimTaken: a claim the object needs is held by another object.
	CodeClaimTaken
	// CodeInvalid: the request itself is malformed (a bad continue token, say).
	CodeInvalid
	// CodeTooLarge: the object exceeds the size etcd accepts.
	CodeTooLarge
	// CodeUnavailable: the cache is not ready or was stopped.
	CodeUnavailable
)

// Error is the error storage returns for conditions callers act on.
type Error struct {
	Code Code
	// Key is the object key (namespace/name) the error is about, if any.
	Key string
	// Claim is the claim key for CodeClaimTaken.
	Claim string
	// Msg is a human-readable explanation.
	Msg string
}

func (e *Error) Error() string {
	if e.Key != "" {
		return fmt.Sprintf("%s: %s", e.Key, e.Msg)
	}
	return e.Msg
}

// CodeOf returns the Code of a storage error anywhere in err's chain, or 0.
func CodeOf(err error) Code {
	var se *Error
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

// IsNotFound reports whether err says the key does not exist.
func IsNotFound(err error) bool { return CodeOf(err) == CodeNotFound }

// IsConflict reports whether err says a precondition failed.
func IsConflict(err error) bool { return CodeOf(err) == CodeConflict }

// IsExists reports whether err says a create found the key present.
func IsExists(err error) bool { return CodeOf(err) == CodeExists }

// ClaimOf returns the claim key of a CodeClaimTaken error.
func ClaimOf(err error) (string, bool) {
	var se *Error
	if errors.As(err, &se) && se.Code == CodeClaimTaken {
		return se.Claim, true
	}
	return "", false
}

func errorf(code Code, key, format string, args ...any) *Error {
	return &Error{Code: code, Key: key, Msg: fmt.Sprintf(format, args...)}
}
