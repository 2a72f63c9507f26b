package controllers

import (
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// TestSpamFilter checks the Recorder's budgets: a burst per object and type,
// refilled one event per five minutes, separate for Normal and Warning, and
// bounded in the objects it remembers.
func TestSpamFilter(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	r := NewRecorder(nil, "test", RecorderOptions{Host: "h"})
	r.now = func() time.Time { return now }

	spend := func(uid types.UID, eventType string, n int) (allowed int) {
		for range n {
			if r.allow(uid, eventType) {
				allowed++
			}
		}
		return allowed
	}

	if got := spend("a", corev1.EventTypeNormal, 100); got != eventBurst {
		t.Fatalf("first 100 Normal events: %d allowed; want the burst of %d", got, eventBurst)
	}
	if got := spend("a", corev1.EventTypeWarning, 3); got != 3 {
		t.Errorf("Warnings after the Normal budget is spent: %d of 3 allowed; want all", got)
	}
	if got := spend("b", corev1.EventTypeNormal, 3); got != 3 {
		t.Errorf("another object's events: %d of 3 allowed; want all", got)
	}

	now = now.Add(eventRefill - time.Second)
	if got := spend("a", corev1.EventTypeNormal, 1); got != 0 {
		t.Errorf("just under one refill later: %d allowed; want 0", got)
	}
	now = now.Add(time.Second)
	if got := spend("a", corev1.EventTypeNormal, 5); got != 1 {
		t.Errorf("one refill later: %d of 5 allowed; want 1", got)
	}
	now = now.Add(24 * time.Hour)
	if got := spend("a", corev1.EventTypeNormal, 100); got != eventBurst {
		t.Errorf("a day later: %d allowed; want the burst of %d, no more", got, eventBurst)
	}

	for i := range 2 * maxAggregated {
		r.allow(types.UID(strconv.Itoa(i)), corev1.EventTypeNormal)
	}
	if n := len(r.budgets); n != maxAggregated || r.budgetOrder.Len() != maxAggregated {
		t.Errorf("budgets remembered: map %d, list %d; want %d", n, r.budgetOrder.Len(), maxAggregated)
	}
}
