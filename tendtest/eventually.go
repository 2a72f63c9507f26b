package tendtest

import (
	"testing"
	"time"
)

// Eventually polls cond every 20 ms until it returns "", and fails t with cond's
// last complaint if timeout passes first: for asserting what controllers will
// have done ("want 5 pods, have 3").
func Eventually(t testing.TB, timeout time.Duration, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msg := cond()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", timeout, msg)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
