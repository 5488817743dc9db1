package emulator_test

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

	"golang.org/x/sync/errgroup"

	"github.com/p1ctl/p1ctl/emulator/emulatortest"
)

// BenchmarkCreateUser creates users over HTTP from parallel clients.
func BenchmarkCreateUser(b *testing.B) {
	env := emulatortest.Start(b)
	c := newClient(b, env)
	envID := sandbox(b, c, "bench")
	var n atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			if err := c.try(http.StatusCreated, "POST", "/environments/"+envID+"/users",
				map[string]any{"username": fmt.Sprintf("u%d", i), "email": fmt.Sprintf("u%d@example.com", i)}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "creates/s")
}

// BenchmarkListUsers walks 10,000 users with limit=1000 through
// _links.next.
func BenchmarkListUsers(b *testing.B) {
	env := emulatortest.Start(b)
	c := newClient(b, env)
	envID := sandbox(b, c, "bench")
	const total = 10000
	var g errgroup.Group
	var n atomic.Int64
	for range 8 {
		g.Go(func() error {
			for i := n.Add(1); i <= total; i = n.Add(1) {
				if err := c.try(http.StatusCreated, "POST", "/environments/"+envID+"/users",
					map[string]any{"username": fmt.Sprintf("u%d", i), "email": fmt.Sprintf("u%d@example.com", i)}); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
	calls := 0
	for b.Loop() {
		next := env.APIURL + "/environments/" + envID + "/users?limit=1000"
		seen := 0
		for next != "" {
			m := c.must(http.StatusOK, "GET", next, nil)
			calls++
			seen += len(items(b, m, "users"))
			next = str(m, "_links.next.href")
		}
		if seen != total {
			b.Fatalf("listed %d users, want %d", seen, total)
		}
	}
	b.ReportMetric(float64(calls)/float64(b.N), "api-calls/op")
}
