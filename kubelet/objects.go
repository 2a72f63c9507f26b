package kubelet

import (
	"context"
	"fmt"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"
)

// objectCache reads the ConfigMaps and Secrets pods use, as upstream's
// TTL cache-based manager: a GET the first time a pod asks for an object
// (a pod seen for the first time always reads it fresh), then the answer
// is reused for ttl. A kubelet never lists or watches every ConfigMap or
// Secret of the cluster. Errors are not cached; not-found ones say
// `configmap "x" not found`, as upstream's do.
type objectCache struct {
	client kubernetes.Interface
	clock  clock.Clock
	ttl    time.Duration

	mu      sync.Mutex
	entries map[objectKey]*objectEntry
}

type objectKey struct {
	kind, namespace, name string
}

type objectEntry struct {
	obj     any
	fetched time.Time
}

func newObjectCache(client kubernetes.Interface, clk clock.Clock, ttl time.Duration) *objectCache {
	return &objectCache{client: client, clock: clk, ttl: ttl, entries: map[objectKey]*objectEntry{}}
}

// get returns the object, from the cache when it was read after
// freshAfter and less than ttl ago.
func (c *objectCache) get(ctx context.Context, key objectKey, freshAfter time.Time) (any, error) {
	now := c.clock.Now()
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && !e.fetched.Before(freshAfter) && now.Sub(e.fetched) < c.ttl {
		return e.obj, nil
	}
	var obj any
	var err error
	switch key.kind {
	case "configmap":
		obj, err = c.client.CoreV1().ConfigMaps(key.namespace).Get(ctx, key.name, metav1.GetOptions{})
	case "secret":
		obj, err = c.client.CoreV1().Secrets(key.namespace).Get(ctx, key.name, metav1.GetOptions{})
	default:
		return nil, fmt.Errorf("objectCache: unknown kind %q", key.kind)
	}
	if apierrors.IsNotFound(err) {
		err = apierrors.NewNotFound(schema.GroupResource{Resource: key.kind}, key.name)
	}
	if err != nil {
		// Not cached: a pod waiting for an object to appear asks again at
		// its next retry, and starts as soon as it exists.
		return nil, err
	}
	c.mu.Lock()
	c.entries[key] = &objectEntry{obj: obj, fetched: now}
	c.mu.Unlock()
	return obj, nil
}

func (c *objectCache) configMap(ctx context.Context, namespace, name string, freshAfter time.Time) (*corev1.ConfigMap, error) {
	obj, err := c.get(ctx, objectKey{"configmap", namespace, name}, freshAfter)
	if err != nil {
		return nil, err
	}
	return obj.(*corev1.ConfigMap), nil
}

func (c *objectCache) secret(ctx context.Context, namespace, name string, freshAfter time.Time) (*corev1.Secret, error) {
	obj, err := c.get(ctx, objectKey{"secret", namespace, name}, freshAfter)
	if err != nil {
		return nil, err
	}
	return obj.(*corev1.Secret), nil
}

// prune forgets entries older than ttl.
func (c *objectCache) prune() {
	now := c.clock.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.entries {
		if now.Sub(e.fetched) >= c.ttl {
			delete(c.entries, k)
		}
	}
}

// tokenCache holds the service account tokens of projected volumes, as
// upstream's token manager: a token is asked for (TokenRequest, bound to
// the pod) the first time, and again once 80% of its life or 24 hours
// passed.
type tokenCache struct {
	client kubernetes.Interface
	clock  clock.Clock

	mu     sync.Mutex
	tokens map[tokenKey]tokenEntry
}

type tokenKey struct {
	pod       types.UID
	account   string
	audience  string
	expiresIn int64
}

type tokenEntry struct {
	token              string
	issued, expiration time.Time
}

func newTokenCache(client kubernetes.Interface, clk clock.Clock) *tokenCache {
	return &tokenCache{client: client, clock: clk, tokens: map[tokenKey]tokenEntry{}}
}

// token returns a token for pod's service account with the projection's
// audience and life.
func (c *tokenCache) token(ctx context.Context, pod *corev1.Pod, p *corev1.ServiceAccountTokenProjection) (string, error) {
	expiresIn := int64(3600)
	if p.ExpirationSeconds != nil {
		expiresIn = *p.ExpirationSeconds
	}
	account := pod.Spec.ServiceAccountName
	if account == "" {
		account = "default"
	}
	key := tokenKey{pod: pod.UID, account: account, audience: p.Audience, expiresIn: expiresIn}
	now := c.clock.Now()
	c.mu.Lock()
	e, ok := c.tokens[key]
	c.mu.Unlock()
	if ok && !needsRefresh(e, now) {
		return e.token, nil
	}
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		ExpirationSeconds: &expiresIn,
		BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
	}}
	if p.Audience != "" {
		req.Spec.Audiences = []string{p.Audience}
	}
	tr, err := c.client.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, account, req, metav1.CreateOptions{})
	if err != nil {
		if ok && now.Before(e.expiration) {
			return e.token, nil // keep the old one while it is good
		}
		return "", fmt.Errorf("failed to fetch token: %w", err)
	}
	exp := tr.Status.ExpirationTimestamp.Time
	if exp.IsZero() {
		exp = now.Add(time.Duration(expiresIn) * time.Second)
	}
	c.mu.Lock()
	c.tokens[key] = tokenEntry{token: tr.Status.Token, issued: now, expiration: exp}
	c.mu.Unlock()
	return tr.Status.Token, nil
}

// needsRefresh says a token is past 80% of its life or older than a day.
func needsRefresh(e tokenEntry, now time.Time) bool {
	life := e.expiration.Sub(e.issued)
	return now.After(e.issued.Add(life*8/10)) || now.Sub(e.issued) > 24*time.Hour
}

// forget drops the tokens of a pod.
func (c *tokenCache) forget(uid types.UID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.tokens {
		if k.pod == uid {
			delete(c.tokens, k)
		}
	}
}
