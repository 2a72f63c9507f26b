package workqueue

import (
	"math"
	"time"
)

// limiter is client-go's default controller rate limiter: a key waits for the
// longer of its own exponential back-off and a token bucket shared by all keys.
// It is guarded by Queue.mu, and takes the time as an argument so that it is a
// pure function of its calls.
type limiter[K comparable] struct {
	base, max time.Duration
	failures  map[K]int
	bucket    bucket
}

func newLimiter[K comparable](o Options, now time.Time) limiter[K] {
	return limiter[K]{
		base:     o.BaseDelay,
		max:      o.MaxDelay,
		failures: map[K]int{},
		bucket:   bucket{qps: o.QPS, burst: float64(o.Burst), tokens: float64(o.Burst), last: now},
	}
}

// when counts a failure of k and returns how long k should wait.
func (l *limiter[K]) when(k K, now time.Time) time.Duration {
	n := l.failures[k]
	l.failures[k] = n + 1
	return max(backoff(l.base, l.max, n), l.bucket.reserve(now))
}

func (l *limiter[K]) forget(k K) { delete(l.failures, k) }

// backoff is base*2^failures, at most max.
func backoff(base, max time.Duration, failures int) time.Duration {
	d := float64(base) * math.Pow(2, float64(failures))
	if d >= float64(max) {
		return max
	}
	return time.Duration(d)
}

// bucket is a token bucket that, like golang.org/x/time/rate's
// Limiter.Reserve, always grants a token: when none is left it goes into debt
// and reports how long until the debt is repaid. It starts full.
type bucket struct {
	qps    float64 // tokens added per second; +Inf means no limit
	burst  float64 // most tokens held
	tokens float64
	last   time.Time // when tokens was last brought up to date
}

func (b *bucket) reserve(now time.Time) time.Duration {
	if math.IsInf(b.qps, 1) {
		return 0
	}
	if now.After(b.last) {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.qps)
		b.last = now
	}
	b.tokens--
	if b.tokens >= 0 {
		return 0
	}
	return time.Duration(-b.tokens / b.qps * float64(time.Second))
}
