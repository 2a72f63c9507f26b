package apiserver

// Service account tokens, as upstream's: the TokenRequest subresource
// (POST .../serviceaccounts/NAME/token) issues JWTs signed with the server's
// service account key, bearer-token authentication accepts them while the
// service account (and the object the token is bound to) still exists, and
// /.well-known/openid-configuration and /openid/v1/jwks publish the keys.

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/tendhq/tend/apiserver/pki"
	"github.com/tendhq/tend/apiserver/storage"
)

const (
	// DefaultServiceAccountIssuer is upstream's usual --service-account-issuer.
	DefaultServiceAccountIssuer = "https://kubernetes.default.svc.cluster.local"

	// warnOnlyExpirationSeconds is the lifetime the ServiceAccount admission
	// asks for in kube-api-access volumes; a pod-bound token asked with it is
	// valid for extendedExpirationSeconds instead, with a warnafter claim, so
	// that clients that never reread the file keep working (upstream's
	// WarnOnlyBoundTokenExpirationSeconds and ExpirationExtensionSeconds).
	warnOnlyExpirationSeconds = 60*60 + 7
	extendedExpirationSeconds = 24 * 365 * 60 * 60
	// minTokenSeconds and maxTokenSeconds bound spec.expirationSeconds.
	minTokenSeconds = 10 * 60
	maxTokenSeconds = 1 << 32
	// defaultTokenSeconds is spec.expirationSeconds when unset.
	defaultTokenSeconds = 60 * 60
)

var tokenRequestGVK = authenticationv1.SchemeGroupVersion.WithKind("TokenRequest")

// saClaims is the private part of a token, upstream's "kubernetes.io" claim.
type saClaims struct {
	Kubernetes saKubernetes `json:"kubernetes.io,omitempty"`
}

type saKubernetes struct {
	Namespace string           `json:"namespace,omitempty"`
	Svcacct   saRef            `json:"serviceaccount,omitempty"`
	Pod       *saRef           `json:"pod,omitempty"`
	Secret    *saRef           `json:"secret,omitempty"`
	Node      *saRef           `json:"node,omitempty"`
	WarnAfter *jwt.NumericDate `json:"warnafter,omitempty"`
}

type saRef struct {
	Name string `json:"name,omitempty"`
	UID  string `json:"uid,omitempty"`
}

// boundObjects are what a token may be bound to; nil means not bound to it.
type boundObjects struct {
	pod    *corev1.Pod
	secret *corev1.Secret
	node   *metav1.ObjectMeta
}

// serviceAccountUser is upstream's user name of a service account.
func serviceAccountUser(ns, name string) string { return "system:serviceaccount:" + ns + ":" + name }

// tokenClaims builds a token's claims, as upstream's serviceaccount.Claims.
func tokenClaims(sa *corev1.ServiceAccount, b boundObjects, now time.Time, expirationSeconds, warnAfter int64, audiences []string) (*jwt.Claims, *saClaims) {
	sc := &jwt.Claims{
		Subject:   serviceAccountUser(sa.Namespace, sa.Name),
		Audience:  jwt.Audience(audiences),
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now),
		Expiry:    jwt.NewNumericDate(now.Add(time.Duration(expirationSeconds) * time.Second)),
		ID:        string(uuid.NewUUID()),
	}
	pc := &saClaims{Kubernetes: saKubernetes{
		Namespace: sa.Namespace,
		Svcacct:   saRef{Name: sa.Name, UID: string(sa.UID)},
	}}
	switch {
	case b.pod != nil:
		pc.Kubernetes.Pod = &saRef{Name: b.pod.Name, UID: string(b.pod.UID)}
		if b.node != nil {
			pc.Kubernetes.Node = &saRef{Name: b.node.Name, UID: string(b.node.UID)}
		}
	case b.secret != nil:
		pc.Kubernetes.Secret = &saRef{Name: b.secret.Name, UID: string(b.secret.UID)}
	case b.node != nil:
		pc.Kubernetes.Node = &saRef{Name: b.node.Name, UID: string(b.node.UID)}
	}
	if warnAfter != 0 {
		pc.Kubernetes.WarnAfter = jwt.NewNumericDate(now.Add(time.Duration(warnAfter) * time.Second))
	}
	return sc, pc
}

// validateTokenRequest is upstream's static validation of a TokenRequest.
func validateTokenRequest(tr *authenticationv1.TokenRequest) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("spec", "expirationSeconds")
	exp := int64(0)
	if tr.Spec.ExpirationSeconds != nil {
		exp = *tr.Spec.ExpirationSeconds
	}
	if exp < minTokenSeconds {
		errs = append(errs, field.Invalid(p, exp, "may not specify a duration less than 10 minutes"))
	}
	if exp > maxTokenSeconds {
		errs = append(errs, field.Invalid(p, exp, "may not specify a duration larger than 2^32 seconds"))
	}
	return errs
}

// tokens signs and verifies service account tokens.
type tokens struct {
	issuer    string
	audiences []string
	// maxSeconds caps a request's expirationSeconds; 0: no cap.
	maxSeconds int64
	extend     bool
	now        func() time.Time

	signer jose.Signer
	// keys verify tokens: the signing key's public half first.
	keys []jose.JSONWebKey
	// discovery documents, built once.
	openIDConfig, jwks []byte

	mu sync.Mutex
	// verified remembers tokens whose signature and claims were checked, so
	// that a client's requests after its first cost a map lookup; what they
	// refer to is checked on every request.
	verified map[string]*verifiedToken
}

type verifiedToken struct {
	expiry  time.Time
	private saClaims
}

// maxVerifiedTokens bounds the verified tokens remembered.
const maxVerifiedTokens = 4096

// newTokens loads the keys the Config names and builds the token signer and
// verifier. externalURL is where /openid/v1/jwks is served.
func newTokens(cfg *Config, externalURL string) (*tokens, error) {
	keyFile := cfg.ServiceAccountSigningKeyFile
	if keyFile == "" {
		keyFile = defaultServiceAccountKeyFile(cfg.DataDir)
	}
	key, err := pki.LoadOrCreateServiceAccountKey(keyFile)
	if err != nil {
		return nil, err
	}
	publics := []crypto.PublicKey{key.Public()}
	for _, f := range cfg.ServiceAccountKeyFiles {
		ks, err := pki.LoadPublicKeys(f)
		if err != nil {
			return nil, err
		}
		publics = append(publics, ks...)
	}
	t := &tokens{
		issuer:     cfg.ServiceAccountIssuer,
		audiences:  cfg.APIAudiences,
		maxSeconds: int64(cfg.ServiceAccountMaxTokenExpiration / time.Second),
		extend:     cfg.ServiceAccountExtendTokenExpiration,
		now:        time.Now,
		verified:   make(map[string]*verifiedToken),
	}
	if t.issuer == "" {
		t.issuer = DefaultServiceAccountIssuer
	}
	if len(t.audiences) == 0 {
		t.audiences = []string{t.issuer}
	}
	var algs []string
	for _, pub := range publics {
		kid, alg, err := keyIDAndAlgorithm(pub)
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(t.keys, func(k jose.JSONWebKey) bool { return k.KeyID == kid }) {
			continue
		}
		t.keys = append(t.keys, jose.JSONWebKey{Key: pub, KeyID: kid, Algorithm: string(alg), Use: "sig"})
		if !slices.Contains(algs, string(alg)) {
			algs = append(algs, string(alg))
		}
	}
	t.signer, err = jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(t.keys[0].Algorithm),
		Key: jose.JSONWebKey{Key: key, KeyID: t.keys[0].KeyID}}, nil)
	if err != nil {
		return nil, fmt.Errorf("service account signer: %w", err)
	}
	t.jwks, err = json.Marshal(jose.JSONWebKeySet{Keys: t.keys})
	if err != nil {
		return nil, err
	}
	t.openIDConfig, err = json.Marshal(map[string]any{
		"issuer":                                t.issuer,
		"jwks_uri":                              externalURL + "/openid/v1/jwks",
		"response_types_supported":              []string{"id_token"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": algs,
	})
	return t, err
}

func defaultServiceAccountKeyFile(dataDir string) string {
	return filepath.Join(dataDir, "pki", "sa.key")
}

// keyIDAndAlgorithm returns upstream's key ID of a public key (the unpadded
// base64url SHA-256 of its PKIX DER) and the algorithm it signs with.
func keyIDAndAlgorithm(pub crypto.PublicKey) (string, jose.SignatureAlgorithm, error) {
	var alg jose.SignatureAlgorithm
	switch k := pub.(type) {
	case *rsa.PublicKey:
		alg = jose.RS256
	case *ecdsa.PublicKey:
		switch k.Curve.Params().BitSize {
		case 256:
			alg = jose.ES256
		case 384:
			alg = jose.ES384
		case 521:
			alg = jose.ES512
		default:
			return "", "", fmt.Errorf("service account key: unsupported curve %s", k.Curve.Params().Name)
		}
	default:
		return "", "", fmt.Errorf("service account key: a %T is neither an ECDSA nor an RSA key", pub)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", "", err
	}
	sum := sha256.Sum256(der)
	return base64.RawURLEncoding.EncodeToString(sum[:]), alg, nil
}

// sign returns a signed token with the claims.
func (t *tokens) sign(sc *jwt.Claims, pc *saClaims) (string, error) {
	c := *sc
	c.Issuer = t.issuer
	return jwt.Signed(t.signer).Claims(&c).Claims(pc).Serialize()
}

// isAPIAudiences reports whether every audience is one of the server's.
func (t *tokens) isAPIAudiences(auds []string) bool {
	for _, a := range auds {
		if !slices.Contains(t.audiences, a) {
			return false
		}
	}
	return true
}

var errNotOurToken = errors.New("not a service account token of this issuer")

// verify checks a token's signature, issuer, audience and times, and returns
// its private claims. errNotOurToken means another issuer's token or no JWT.
func (t *tokens) verify(raw string) (*saClaims, error) {
	now := t.now()
	t.mu.Lock()
	v, ok := t.verified[raw]
	t.mu.Unlock()
	if ok {
		// A remembered token was valid at its first use; only time changes that.
		if now.After(v.expiry.Add(jwt.DefaultLeeway)) {
			return nil, errors.New("service account token has expired")
		}
		return &v.private, nil
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.ES384, jose.ES512})
	if err != nil {
		return nil, errNotOurToken
	}
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil || unverified.Issuer != t.issuer {
		return nil, errNotOurToken
	}
	var public jwt.Claims
	var private saClaims
	var errs []error
	found := false
	for _, k := range t.keys {
		if len(tok.Headers) > 0 && tok.Headers[0].KeyID != "" && tok.Headers[0].KeyID != k.KeyID {
			continue
		}
		if err := tok.Claims(k.Key, &public, &private); err != nil {
			errs = append(errs, err)
			continue
		}
		found = true
		break
	}
	if !found {
		if len(errs) == 0 {
			return nil, errors.New("no key matches the token's key ID")
		}
		return nil, errors.Join(errs...)
	}
	if public.Issuer != t.issuer {
		return nil, fmt.Errorf("token issuer %q is invalid", public.Issuer)
	}
	auds := []string(public.Audience)
	if len(auds) == 0 {
		auds = t.audiences
	}
	if !slices.ContainsFunc(auds, func(a string) bool { return slices.Contains(t.audiences, a) }) {
		return nil, fmt.Errorf("token audiences %q is invalid for the target audiences %q", auds, t.audiences)
	}
	switch err := public.ValidateWithLeeway(jwt.Expected{Time: now}, jwt.DefaultLeeway); {
	case err == nil:
	case errors.Is(err, jwt.ErrExpired):
		return nil, errors.New("service account token has expired")
	case errors.Is(err, jwt.ErrNotValidYet):
		return nil, errors.New("service account token is not valid yet")
	case errors.Is(err, jwt.ErrIssuedInTheFuture):
		return nil, errors.New("service account token is issued in the future")
	default:
		return nil, fmt.Errorf("service account token claims could not be validated: %w", err)
	}
	// Upstream requires exp; a token without one is not a service account token.
	if public.Expiry == nil {
		return nil, errors.New("service account token has no expiry")
	}
	if private.Kubernetes.Namespace == "" || private.Kubernetes.Svcacct.Name == "" {
		return nil, errors.New("service account token is missing its kubernetes.io claims")
	}
	t.mu.Lock()
	if len(t.verified) >= maxVerifiedTokens {
		clear(t.verified)
	}
	t.verified[raw] = &verifiedToken{expiry: public.Expiry.Time(), private: private}
	t.mu.Unlock()
	return &private, nil
}

// bearerToken returns the token of an "Authorization: Bearer" header, as
// upstream's bearertoken authenticator reads it.
func bearerToken(r *http.Request) (string, bool) {
	auth := strings.TrimSpace(r.Header.Get("Authorization"))
	if auth == "" {
		return "", false
	}
	parts := strings.SplitN(auth, " ", 3)
	if len(parts) < 2 || !strings.EqualFold(parts[0], "bearer") || parts[1] == "" {
		return "", false
	}
	return parts[1], true
}

// tokenAuthenticator authenticates service account tokens against the
// server's own storage.
type tokenAuthenticator struct {
	tokens *tokens
	caches map[schema.GroupResource]*storage.Cache

	mu sync.Mutex
	// metas remembers the uid and deletionTimestamp of the objects checked,
	// by key and revision, so that the check costs no decoding per request.
	metas map[objectRevision]objectMeta
}

type objectRevision struct {
	gr  schema.GroupResource
	key string
	rv  int64
}

type objectMeta struct {
	uid     types.UID
	deleted *time.Time
}

const maxRememberedMetas = 8192

func newTokenAuthenticator(t *tokens, caches map[schema.GroupResource]*storage.Cache) *tokenAuthenticator {
	return &tokenAuthenticator{tokens: t, caches: caches, metas: make(map[objectRevision]objectMeta)}
}

// authenticate returns the service account user of a token, or why the token
// does not authenticate.
func (a *tokenAuthenticator) authenticate(ctx context.Context, raw string) (*User, error) {
	pc, err := a.tokens.verify(raw)
	if err != nil {
		return nil, err
	}
	k := pc.Kubernetes
	// Things deleted before now minus the leeway no longer authenticate, as upstream.
	deletedBefore := a.tokens.now().Add(-jwt.DefaultLeeway)
	check := func(gr schema.GroupResource, key, what string, ref saRef) error {
		m, err := a.meta(ctx, gr, key, types.UID(ref.UID))
		if storage.IsNotFound(err) {
			return fmt.Errorf("%s %s has been deleted", what, ref.Name)
		}
		if err != nil {
			return fmt.Errorf("looking up %s %s: %w", what, ref.Name, err)
		}
		if m.deleted != nil && m.deleted.Before(deletedBefore) {
			return fmt.Errorf("%s %s has been deleted", what, ref.Name)
		}
		if string(m.uid) != ref.UID {
			return fmt.Errorf("%s UID (%s) does not match claim (%s)", what, m.uid, ref.UID)
		}
		return nil
	}
	if err := check(schema.GroupResource{Resource: "serviceaccounts"}, k.Namespace+"/"+k.Svcacct.Name, "service account", k.Svcacct); err != nil {
		return nil, err
	}
	if k.Secret != nil {
		if err := check(schema.GroupResource{Resource: "secrets"}, k.Namespace+"/"+k.Secret.Name, "secret", *k.Secret); err != nil {
			return nil, err
		}
	}
	if k.Pod != nil {
		if err := check(schema.GroupResource{Resource: "pods"}, k.Namespace+"/"+k.Pod.Name, "pod", *k.Pod); err != nil {
			return nil, err
		}
	} else if k.Node != nil {
		// A token bound to a node (not one that only names its pod's node).
		if err := check(schema.GroupResource{Resource: "nodes"}, k.Node.Name, "node", *k.Node); err != nil {
			return nil, err
		}
	}
	return &User{
		Name:   serviceAccountUser(k.Namespace, k.Svcacct.Name),
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + k.Namespace, "system:authenticated"},
	}, nil
}

// meta returns the uid and deletion time of an object: from the cache as it
// is, and consistently when the cache may lag (the object is absent or has
// another uid than the claim's).
func (a *tokenAuthenticator) meta(ctx context.Context, gr schema.GroupResource, key string, want types.UID) (objectMeta, error) {
	c := a.caches[gr]
	if c == nil {
		return objectMeta{}, fmt.Errorf("no storage for %s", gr)
	}
	m, err := a.metaAt(ctx, c, gr, key, "0")
	if (err == nil && m.uid != want) || storage.IsNotFound(err) {
		m, err = a.metaAt(ctx, c, gr, key, "")
	}
	return m, err
}

func (a *tokenAuthenticator) metaAt(ctx context.Context, c *storage.Cache, gr schema.GroupResource, key, rv string) (objectMeta, error) {
	o, err := c.Get(ctx, key, storage.ReadOptions{RV: rv})
	if err != nil {
		return objectMeta{}, err
	}
	id := objectRevision{gr: gr, key: key, rv: o.RV}
	a.mu.Lock()
	m, ok := a.metas[id]
	a.mu.Unlock()
	if ok {
		return m, nil
	}
	var partial struct {
		Metadata struct {
			UID               types.UID    `json:"uid"`
			DeletionTimestamp *metav1.Time `json:"deletionTimestamp"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(o.JSON, &partial); err != nil {
		return objectMeta{}, fmt.Errorf("decoding %s %s: %w", gr, key, err)
	}
	m.uid = partial.Metadata.UID
	if ts := partial.Metadata.DeletionTimestamp; ts != nil {
		m.deleted = &ts.Time
	}
	a.mu.Lock()
	if len(a.metas) >= maxRememberedMetas {
		clear(a.metas)
	}
	a.metas[id] = m
	a.mu.Unlock()
	return m, nil
}

// createToken serves POST .../serviceaccounts/NAME/token, as upstream's
// TokenREST.
func (rq *request) createToken() {
	t := rq.s.tokens
	body, err := readBody(rq.r)
	if err != nil {
		rq.fail(err)
		return
	}
	req := &authenticationv1.TokenRequest{}
	req.GetObjectKind().SetGroupVersionKind(tokenRequestGVK)
	fv, err := parseFieldValidation(rq.r)
	if err != nil {
		rq.fail(err)
		return
	}
	warnings, err := rq.s.decoder.decodeInto(rq.r, body, req, fv)
	if err != nil {
		rq.fail(err)
		return
	}
	if req.Spec.ExpirationSeconds == nil {
		secs := int64(defaultTokenSeconds)
		req.Spec.ExpirationSeconds = &secs
	}
	gk := tokenRequestGVK.GroupKind()
	if req.Name != "" && req.Name != rq.name {
		rq.fail(apierrors.NewInvalid(gk, rq.name, field.ErrorList{field.Invalid(field.NewPath("metadata", "name"), req.Name, "must match the service account name if specified")}))
		return
	}
	if req.Namespace != "" && req.Namespace != rq.namespace {
		rq.fail(apierrors.NewInvalid(gk, rq.name, field.ErrorList{field.Invalid(field.NewPath("metadata", "namespace"), req.Namespace, "must match the service account namespace if specified")}))
		return
	}
	o, err := rq.cache.Get(rq.ctx(), rq.key(), storage.ReadOptions{})
	if err != nil {
		rq.fail(err)
		return
	}
	sa := &corev1.ServiceAccount{}
	if err := jsonUnmarshal(o.JSON, sa); err != nil {
		rq.fail(err)
		return
	}
	if req.UID != "" && req.UID != sa.UID {
		rq.fail(apierrors.NewConflict(schema.GroupResource{Group: gk.Group, Resource: gk.Kind}, rq.name,
			fmt.Errorf("the UID in the token request (%s) does not match the UID of the service account (%s)", req.UID, sa.UID)))
		return
	}
	if len(req.Spec.Audiences) == 0 {
		req.Spec.Audiences = slices.Clone(t.audiences)
	}
	req.Name, req.Namespace, req.UID = sa.Name, sa.Namespace, sa.UID
	now := t.now()
	req.CreationTimestamp = metav1.NewTime(now)
	req.Status = authenticationv1.TokenRequestStatus{}
	if errs := validateTokenRequest(req); len(errs) > 0 {
		rq.fail(apierrors.NewInvalid(gk, "", errs))
		return
	}
	bound, err := rq.boundObjects(req.Spec.BoundObjectRef)
	if err != nil {
		rq.fail(err)
		return
	}
	if t.maxSeconds > 0 && *req.Spec.ExpirationSeconds > t.maxSeconds {
		warnings = append(warnings, fmt.Sprintf("requested expiration of %d seconds shortened to %d seconds", *req.Spec.ExpirationSeconds, t.maxSeconds))
		*req.Spec.ExpirationSeconds = t.maxSeconds
	}
	exp, warnAfter := *req.Spec.ExpirationSeconds, int64(0)
	if t.extend && bound.pod != nil && exp == warnOnlyExpirationSeconds && t.isAPIAudiences(req.Spec.Audiences) {
		warnAfter, exp = exp, extendedExpirationSeconds
	}
	sc, pc := tokenClaims(sa, bound, now, exp, warnAfter, req.Spec.Audiences)
	tok, err := t.sign(sc, pc)
	if err != nil {
		rq.fail(apierrors.NewInternalError(fmt.Errorf("failed to generate token: %w", err)))
		return
	}
	req.Status = authenticationv1.TokenRequestStatus{
		Token:               tok,
		ExpirationTimestamp: metav1.NewTime(now.Add(time.Duration(*req.Spec.ExpirationSeconds) * time.Second)),
	}
	req.SetGroupVersionKind(tokenRequestGVK)
	addWarnings(rq.w, warnings)
	writeJSON(rq.w, rq.r, http.StatusCreated, req)
}

// boundObjects resolves a TokenRequest's boundObjectRef, as upstream: the
// object must exist (404) and, if the reference has a uid, have it (409).
func (rq *request) boundObjects(ref *authenticationv1.BoundObjectReference) (boundObjects, error) {
	var b boundObjects
	if ref == nil {
		return b, nil
	}
	gvk := schema.FromAPIVersionAndKind(ref.APIVersion, ref.Kind)
	get := func(resource, key string, into any) error {
		gr := schema.GroupResource{Resource: resource}
		o, err := rq.s.caches[gr].Get(rq.ctx(), key, storage.ReadOptions{})
		if err != nil {
			return toAPIError(err, gr, ref.Name)
		}
		return jsonUnmarshal(o.JSON, into)
	}
	var uid types.UID
	switch {
	case gvk.Group == "" && gvk.Kind == "Pod":
		pod := &corev1.Pod{}
		if err := get("pods", rq.namespace+"/"+ref.Name, pod); err != nil {
			return b, err
		}
		if rq.name != pod.Spec.ServiceAccountName {
			return b, apierrors.NewBadRequest(fmt.Sprintf("cannot bind token for serviceaccount %q to pod running with different serviceaccount name.", rq.name))
		}
		b.pod, uid = pod, pod.UID
		if nodeName := pod.Spec.NodeName; nodeName != "" {
			// The node's name goes in even if the Node is gone, as upstream.
			b.node = &metav1.ObjectMeta{Name: nodeName}
			o, err := rq.s.caches[schema.GroupResource{Resource: "nodes"}].Get(rq.ctx(), nodeName, storage.ReadOptions{RV: "0"})
			if err == nil {
				node := &corev1.Node{}
				if err := jsonUnmarshal(o.JSON, node); err != nil {
					return b, err
				}
				b.node = &node.ObjectMeta
			} else if !storage.IsNotFound(err) {
				return b, apierrors.NewInternalError(err)
			}
		}
	case gvk.Group == "" && gvk.Kind == "Node":
		node := &corev1.Node{}
		if err := get("nodes", ref.Name, node); err != nil {
			return b, err
		}
		b.node, uid = &node.ObjectMeta, node.UID
	case gvk.Group == "" && gvk.Kind == "Secret":
		secret := &corev1.Secret{}
		if err := get("secrets", rq.namespace+"/"+ref.Name, secret); err != nil {
			return b, err
		}
		b.secret, uid = secret, secret.UID
	default:
		return b, apierrors.NewBadRequest(fmt.Sprintf("cannot bind token to object of type %s", gvk.String()))
	}
	if ref.UID != "" && uid != ref.UID {
		return b, apierrors.NewConflict(schema.GroupResource{Group: gvk.Group, Resource: gvk.Kind}, ref.Name,
			fmt.Errorf("the UID in the bound object reference (%s) does not match the UID in record. The object might have been deleted and then recreated", ref.UID))
	}
	return b, nil
}

// serveOpenIDConfiguration and serveJWKS serve service account issuer
// discovery, as upstream's.
func (s *Server) serveOpenIDConfiguration(w http.ResponseWriter, r *http.Request) {
	serveKeyDocument(w, "application/json", s.tokens.openIDConfig)
}

func (s *Server) serveJWKS(w http.ResponseWriter, r *http.Request) {
	serveKeyDocument(w, "application/jwk-set+json", s.tokens.jwks)
}

func serveKeyDocument(w http.ResponseWriter, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}
