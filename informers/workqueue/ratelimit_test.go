package workqueue

import (
	"fmt"
	"math"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	const base, max = 5 * time.Millisecond, 1000 * time.Second
	for _, tc := range []struct {
		failures int
		want     time.Duration
	}{
		{0, 5 * time.Millisecond},
		{1, 10 * time.Millisecond},
		{2, 20 * time.Millisecond},
		{10, 5120 * time.Millisecond},
		{17, 655360 * time.Millisecond},
		{18, max}, // 1310.72s
		{100, max},
		{10000, max}, // 2^10000 is +Inf
	} {
		if got := backoff(base, max, tc.failures); got != tc.want {
			t.Errorf("backoff(%v, %v, %d) = %v; want %v", base, max, tc.failures, got, tc.want)
		}
	}
}

func TestBucket(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	b := bucket{qps: 10, burst: 3, tokens: 3, last: t0}
	for i, tc := range []struct {
		at   time.Time
		want time.Duration
	}{
		{t0, 0}, // the burst
		{t0, 0},
		{t0, 0},
		{t0, 100 * time.Millisecond}, // in debt: one token per 100ms
		{t0, 200 * time.Millisecond},
		{ms(150), 150 * time.Millisecond}, // 1.5 tokens repaid
		{ms(1000), 0},                     // debt repaid at 300ms, full again since
		{ms(1000), 0},
		{ms(1000), 0},
		{ms(1000), 100 * time.Millisecond},
		{ms(900), 200 * time.Millisecond}, // time going back changes nothing
	} {
		if got := b.reserve(tc.at); got != tc.want {
			t.Errorf("reserve %d at +%v = %v; want %v", i, tc.at.Sub(t0), got, tc.want)
		}
	}

	off := bucket{qps: math.Inf(1), burst: 1, tokens: 1, last: t0}
	for i := range 3 {
		if got := off.reserve(t0); got != 0 {
			t.Errorf("reserve %d with QPS +Inf = %v; want 0", i, got)
		}
	}
}

func TestLimiterTakesTheLonger(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLimiter[string](Options{}.withDefaults(), t0)
	// The default bucket, 10 QPS with a burst of 100, lets 100 keys through
	// on their back-off alone; the 101st waits for a token.
	for i := range 100 {
		if got, want := l.when(fmt.Sprint(i), t0), 5*time.Millisecond; got != want {
			t.Fatalf("when(%d) = %v; want %v (back-off)", i, got, want)
		}
	}
	if got, want := l.when("b", t0), 100*time.Millisecond; got != want {
		t.Errorf("when(b) past the burst = %v; want %v (bucket)", got, want)
	}
	for range 20 {
		l.when("c", t0)
	}
	if got, want := l.when("c", t0), 1000*time.Second; got != want {
		t.Errorf("when(c) after 20 failures = %v; want %v (MaxDelay)", got, want)
	}
}
