package apiserver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// User is an authenticated identity.
type User struct {
	Name   string
	Groups []string
}

type userKey struct{}

// UserFrom returns the authenticated user of a request.
func UserFrom(ctx context.Context) (*User, bool) {
	u, ok := ctx.Value(userKey{}).(*User)
	return u, ok
}

// Authorizer decides whether a user may make a request. It is the slot later
// authorization modes (RBAC) fill; a nil Authorizer allows every authenticated
// request.
type Authorizer interface {
	// Authorize returns whether u may do what ri describes, and why not.
	Authorize(ctx context.Context, u *User, ri *RequestInfo) (allowed bool, reason string, err error)
}

// publicPaths answer without authentication.
func isPublic(path string) bool {
	switch path {
	case "/version", "/livez", "/readyz", "/healthz":
		return true
	}
	return strings.HasPrefix(path, "/livez/") || strings.HasPrefix(path, "/readyz/") || strings.HasPrefix(path, "/healthz/")
}

// buildHandler wraps the routes in the filter chain.
func (s *Server) buildHandler() http.Handler {
	h := s.routes()
	h = withLimits(h, 400)
	h = withAuthorization(h, s.cfg.Authorizer)
	h = withAuthentication(h, newCertAuthenticator(s.ca.Pool()), newTokenAuthenticator(s.tokens, s.caches), s.logf)
	h = s.metrics.filter(h)
	h = withRequestInfo(h)
	return withRecover(h, s.logf)
}

func withRecover(next http.Handler, logf func(string, ...any)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				if logf != nil {
					logf("panic serving %s %s: %v\n%s", r.Method, r.URL.Path, v, debug.Stack())
				}
				writeError(w, r, apierrors.NewInternalError(fmt.Errorf("%v", v)))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func withRequestInfo(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ri := parseRequestInfo(r)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, ri)))
	})
}

// withAuthentication accepts client certificates signed by the cluster CA (the
// certificate's CN is the user and its O entries the groups) and, failing
// that, service account tokens as "Authorization: Bearer". A token that does
// not authenticate gets 401 on every path, as upstream; no credential gets 401
// except on the public paths.
func withAuthentication(next http.Handler, authn *certAuthenticator, tokens *tokenAuthenticator, logf func(string, ...any)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, ok := authn.authenticate(r.TLS); ok {
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, u)))
			return
		}
		if raw, ok := bearerToken(r); ok {
			u, err := tokens.authenticate(r.Context(), raw)
			if err != nil {
				if logf != nil {
					logf("unable to authenticate the request to %s: %v", r.URL.Path, err)
				}
				writeError(w, r, apierrors.NewUnauthorized("Unauthorized"))
				return
			}
			// The credential goes no further, as upstream's.
			r.Header.Del("Authorization")
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, u)))
			return
		}
		if isPublic(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		writeError(w, r, apierrors.NewUnauthorized("Unauthorized"))
	})
}

// certAuthenticator verifies client certificates against the cluster CA and
// remembers the ones it verified, so that a connection's requests after the
// first cost a map lookup.
type certAuthenticator struct {
	roots *x509.CertPool
	mu    sync.Mutex
	users map[string]*User // by the certificate's signature
}

// maxCachedCerts bounds the verified certificates remembered.
const maxCachedCerts = 4096

func newCertAuthenticator(roots *x509.CertPool) *certAuthenticator {
	return &certAuthenticator{roots: roots, users: make(map[string]*User)}
}

func (a *certAuthenticator) authenticate(cs *tls.ConnectionState) (*User, bool) {
	if cs == nil || len(cs.PeerCertificates) == 0 {
		return nil, false
	}
	leaf := cs.PeerCertificates[0]
	now := time.Now()
	if now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
		return nil, false
	}
	key := string(leaf.Signature)
	a.mu.Lock()
	u, ok := a.users[key]
	a.mu.Unlock()
	if ok {
		return u, true
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{
		Roots: a.roots, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}); err != nil {
		return nil, false
	}
	u = &User{Name: leaf.Subject.CommonName, Groups: append([]string{"system:authenticated"}, leaf.Subject.Organization...)}
	a.mu.Lock()
	if len(a.users) >= maxCachedCerts {
		clear(a.users)
	}
	a.users[key] = u
	a.mu.Unlock()
	return u, true
}

func withAuthorization(next http.Handler, a Authorizer) http.Handler {
	if a == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, ok := UserFrom(r.Context())
		ri, _ := RequestInfoFrom(r.Context())
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		allowed, reason, err := a.Authorize(r.Context(), u, ri)
		if err != nil {
			writeError(w, r, apierrors.NewInternalError(err))
			return
		}
		if !allowed {
			writeError(w, r, forbidden(u, ri, reason))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func forbidden(u *User, ri *RequestInfo, reason string) error {
	var msg string
	if ri.IsResourceRequest {
		res := ri.Resource
		if ri.Subresource != "" {
			res += "/" + ri.Subresource
		}
		msg = fmt.Sprintf("User %q cannot %s resource %q in API group %q", u.Name, ri.Verb, res, ri.APIGroup)
		if ri.Namespace != "" {
			msg += fmt.Sprintf(" in the namespace %q", ri.Namespace)
		} else {
			msg += " at the cluster scope"
		}
	} else {
		msg = fmt.Sprintf("User %q cannot %s path %q", u.Name, ri.Verb, ri.Path)
	}
	if reason != "" {
		msg += ": " + reason
	}
	return apierrors.NewForbidden(schema.GroupResource{Group: ri.APIGroup, Resource: ri.Resource}, ri.Name, errors.New(msg))
}

// withLimits bounds the requests in flight, long-running watches aside, and
// answers the excess with 429 as upstream's max-in-flight filter does.
func withLimits(next http.Handler, maxInFlight int) http.Handler {
	sem := make(chan struct{}, maxInFlight)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ri, ok := RequestInfoFrom(r.Context()); ok && isLongRunning(ri) {
			next.ServeHTTP(w, r)
			return
		}
		select {
		case sem <- struct{}{}:
			defer func() { <-sem }()
			next.ServeHTTP(w, r)
		default:
			writeError(w, r, apierrors.NewTooManyRequests("Too many requests, please try again later.", 1))
		}
	})
}
