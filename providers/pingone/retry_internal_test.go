package pingone

import (
	"net/http"
	"testing"
	"time"
)

func TestRetryAfter(t *testing.T) {
	c := &Client{maxRA: 30 * time.Second}
	now := time.Now()
	cases := map[string]struct {
		header string
		want   time.Duration
		ok     bool
	}{
		"Seconds":  {"3", 3 * time.Second, true},
		"Capped":   {"3600", 30 * time.Second, true},
		"Date":     {now.Add(10 * time.Second).UTC().Format(http.TimeFormat), 10 * time.Second, true},
		"PastDate": {now.Add(-time.Hour).UTC().Format(http.TimeFormat), 0, true},
		"Absent":   {"", 0, false},
		"Garbage":  {"soon", 0, false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			h := http.Header{}
			if tc.header != "" {
				h.Set("Retry-After", tc.header)
			}
			got, ok := c.retryAfter(h)
			// HTTP dates have whole seconds: allow one second of rounding.
			if ok != tc.ok || got > tc.want || got < tc.want-time.Second {
				t.Errorf("retryAfter(%q) = %v, %v; want about %v, %v", tc.header, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestJitterBounds(t *testing.T) {
	c := &Client{baseDelay: 100 * time.Millisecond, maxDelay: time.Second}
	for n := range 40 {
		limit := min(c.baseDelay<<min(n, 20), c.maxDelay)
		for range 50 {
			if d := c.jitter(n); d < 0 || d > limit {
				t.Fatalf("jitter(%d) = %v, want within [0, %v]", n, d, limit)
			}
		}
	}
}
