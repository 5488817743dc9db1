package middleware

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"
)

func TestRateLimiterForgetsFullBuckets(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		rl := NewRateLimiter(1, 1, nil, nil)
		for i := range minSweep {
			rl.reserve(fmt.Sprint("idle-", i))
		}
		time.Sleep(time.Second) // every bucket has refilled
		if d := rl.reserve("busy"); d != 0 {
			t.Fatalf("busy: wait %v", d)
		}
		if d := rl.reserve("busy"); d == 0 {
			t.Fatalf("busy: second request allowed")
		}
		rl.mu.Lock()
		n := len(rl.buckets)
		rl.mu.Unlock()
		if n != 1 {
			t.Errorf("%d buckets kept, want 1 (only the busy caller)", n)
		}
		// A forgotten caller starts with a full bucket, as it would have.
		if d := rl.reserve("idle-1"); d != 0 {
			t.Errorf("idle-1 after sweep: wait %v, want 0", d)
		}
	})
}
