package replicaset

import (
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tendhq/tend/controllers"
)

// Upstream's event spam filter (client-go's EventSourceObjectSpamFilter):
// each object may have a burst of 25 events, then one per five minutes. A set
// scaled to 10,000 replicas so records a few dozen events, not 10,000 writes
// competing with the pods' own. Unlike upstream, Normal and Warning events
// have separate budgets, so that a FailedCreate is never silenced by the
// SuccessfulCreates before it.
const (
	eventBurst  = 25
	eventRefill = 5 * time.Minute
)

// eventLimiter records events about sets through a Recorder, within the
// budget above. It is safe for concurrent use; a nil Recorder records nothing.
type eventLimiter struct {
	rec *controllers.Recorder
	now func() time.Time

	mu      sync.Mutex
	buckets map[bucketKey]*bucket
}

type bucketKey struct {
	uid       types.UID
	eventType string
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newEventLimiter(rec *controllers.Recorder) *eventLimiter {
	return &eventLimiter{rec: rec, now: time.Now, buckets: map[bucketKey]*bucket{}}
}

// eventf records an event about s if its budget allows.
func (l *eventLimiter) eventf(s *set, eventType, reason, format string, args ...any) {
	if l.rec == nil || !l.allow(bucketKey{s.meta.GetUID(), eventType}) {
		return
	}
	l.rec.Eventf(s.obj, eventType, reason, format, args...)
}

func (l *eventLimiter) allow(k bucketKey) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, ok := l.buckets[k]
	if !ok {
		b = &bucket{tokens: eventBurst, at: now}
		l.buckets[k] = b
	}
	b.tokens = min(eventBurst, b.tokens+float64(now.Sub(b.at))/float64(eventRefill))
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// forget drops the budgets of a set that is gone.
func (l *eventLimiter) forget(uid types.UID) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.buckets, bucketKey{uid, corev1.EventTypeNormal})
	delete(l.buckets, bucketKey{uid, corev1.EventTypeWarning})
}
