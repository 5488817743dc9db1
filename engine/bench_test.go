package engine_test

import (
	"context"
	"fmt"
	"net/http"
	"runtime/metrics"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/p1ctl/p1ctl/emulator"
	"github.com/p1ctl/p1ctl/emulator/middleware"
	"github.com/p1ctl/p1ctl/engine"
	"github.com/p1ctl/p1ctl/providers/pingone"
)

// The benchmarks of issue #4 run the engine against the emulator over
// loopback HTTP with a SQLite file store, for the manifest of the issue:
// 1 environment, 10 populations, 10,000 users (half with a password) and
// 100 apps (50 worker apps with one role each, 50 web apps with scopes).
// Run them with
//
//	go test -run '^$' -bench 'PlanUpToDate|ApplyFromEmpty|Throughput' -benchtime 1x -benchmem ./engine/
//
// Besides ns/op they report api-calls/op (the emulator's request counter,
// token requests included) and peak-heap-MB (the largest live heap seen
// while timing; it includes the in-process emulator and its SQLite pages).
// Route counts per operation go to the benchmark log.

// benchFleet is the manifest of the benchmarks.
var benchFleet = fleet{env: "Bench", pops: 10, users: 10_000, workers: 50, webs: 50}

// benchServer serves an emulator over a SQLite file store in a temporary
// folder, as `p1ctl emulator` does.
func benchServer(b *testing.B, tr emulator.Traffic) *server {
	b.Helper()
	return serve(b, openStore(b, b.TempDir()), emulator.Options{Seed: 1}, tr)
}

// planApply plans desired through p and applies it, failing b unless it
// converges.
func planApply(b *testing.B, p engine.Provider, desired []engine.Resource) (*engine.Plan, *engine.Result) {
	b.Helper()
	ctx := context.Background()
	plan, err := engine.MakePlan(ctx, p, desired, engine.Options{})
	if err != nil {
		b.Fatalf("MakePlan: %v", err)
	}
	res, err := engine.Apply(ctx, p, plan, engine.ApplyOptions{})
	if err != nil {
		b.Fatalf("Apply: %v", err)
	}
	return plan, res
}

// reset empties the emulator through its control endpoint, which also
// clears the stats and rewinds the faults.
func (s *server) reset(b *testing.B) {
	b.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.url+"/_emulator/reset", nil)
	doJSON(b, req, nil)
}

// routeCounts adds the requests of snap by route, and returns them as
// "count route" lines divided by n, largest first.
func routeCounts(snap middleware.Snapshot, n int) string {
	type rc struct {
		route string
		count int64
	}
	var rs []rc
	for route, byStatus := range snap.Routes {
		var c int64
		for _, v := range byStatus {
			c += v
		}
		rs = append(rs, rc{route, c})
	}
	slices.SortFunc(rs, func(a, b rc) int {
		if a.count != b.count {
			return int(b.count - a.count)
		}
		return strings.Compare(a.route, b.route)
	})
	var sb strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&sb, "  %8.1f  %s\n", float64(r.count)/float64(n), r.route)
	}
	return sb.String()
}

// writes counts the requests of snap that change something.
func writes(snap middleware.Snapshot) int64 {
	var n int64
	for route, byStatus := range snap.Routes {
		method, _, _ := strings.Cut(route, " ")
		if method == http.MethodGet || strings.HasSuffix(route, "/as/token") {
			continue
		}
		for _, v := range byStatus {
			n += v
		}
	}
	return n
}

// heapPeak samples the live heap until stopped and returns its peak in MB.
func heapPeak() (stop func() float64) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var (
		mu   sync.Mutex
		peak uint64
		done = make(chan struct{})
		wg   sync.WaitGroup
	)
	read := func() {
		metrics.Read(sample)
		mu.Lock()
		peak = max(peak, sample[0].Value.Uint64())
		mu.Unlock()
	}
	wg.Go(func() {
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				read()
			}
		}
	})
	return func() float64 {
		close(done)
		wg.Wait()
		read()
		return float64(peak) / (1 << 20)
	}
}

// BenchmarkPlanUpToDate plans the manifest after it was applied:
// nothing to change. Each iteration is one `p1ctl plan` run: a new client,
// so its token and the role names are fetched again. Targets: under 2 s
// and at most 30 API calls.
func BenchmarkPlanUpToDate(b *testing.B) {
	desired := benchFleet.resources(b)
	s := benchServer(b, emulator.Traffic{})
	planApply(b, s.provider(b), desired)
	s.stats.Reset()
	peak := heapPeak()
	for b.Loop() {
		plan, err := engine.MakePlan(context.Background(), s.provider(b), desired, engine.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if plan.HasChanges() {
			b.Fatalf("the plan after an apply has changes:\n%s", describe(plan))
		}
	}
	b.ReportMetric(peak(), "peak-heap-MB")
	snap := s.stats.Snapshot()
	b.ReportMetric(float64(snap.Total)/float64(b.N), "api-calls/op")
	b.Logf("%d resources; API calls per plan by route:\n%s", len(desired), routeCounts(snap, b.N))
}

// BenchmarkApplyFromEmpty applies the manifest to an empty
// organization: each iteration resets the emulator, then plans and applies.
// Target: one write call per new resource; a user with a password is one
// POST with the user-import content type.
func BenchmarkApplyFromEmpty(b *testing.B) {
	desired := benchFleet.resources(b)
	s := benchServer(b, emulator.Traffic{})
	var (
		total, wr, created int64
		applying           time.Duration
		all                = middleware.Snapshot{Routes: map[string]map[string]int64{}}
	)
	peak := heapPeak()
	for b.Loop() {
		b.StopTimer()
		s.reset(b)
		p := s.provider(b)
		b.StartTimer()
		start := time.Now()
		_, res := planApply(b, p, desired)
		applying += time.Since(start)
		b.StopTimer()
		for _, o := range res.Outcomes {
			if o.Outcome == engine.Created {
				created++
			}
		}
		snap := s.stats.Snapshot()
		total += snap.Total
		wr += writes(snap)
		for route, byStatus := range snap.Routes {
			if all.Routes[route] == nil {
				all.Routes[route] = map[string]int64{}
			}
			for st, c := range byStatus {
				all.Routes[route][st] += c
			}
		}
		b.StartTimer()
	}
	b.ReportMetric(peak(), "peak-heap-MB")
	n := float64(b.N)
	b.ReportMetric(float64(total)/n, "api-calls/op")
	b.ReportMetric(float64(wr)/float64(created), "writes/resource")
	b.ReportMetric(float64(total)/float64(created), "calls/resource")
	b.ReportMetric(float64(created)/applying.Seconds(), "creates/s")
	users := all.Routes["POST /v1/environments/{envID}/users"]
	b.Logf("%d resources created per apply; API calls per apply by route:\n%s", created/int64(b.N), routeCounts(all, b.N))
	if pw := all.Routes["PUT /v1/environments/{envID}/users/{userID}/password"]; len(pw) > 0 {
		b.Errorf("users with a password cost a second call: %v", pw)
	}
	if got := users["201"]; got != int64(benchFleet.users)*int64(b.N) {
		b.Errorf("%d user POSTs answered 201, want one per user (%d)", got, benchFleet.users*b.N)
	}
}

// BenchmarkApplyThroughput applies 1 environment, 2 populations, 400 users
// and 4 apps against an emulator that allows 50 requests a second per
// caller, with the client limited to the same; it reports the requests per
// second achieved and their share of the limit (target: at least 80%).
func BenchmarkApplyThroughput(b *testing.B) {
	const limit = 50.0
	desired := fleet{env: "Throughput", pops: 2, users: 400, workers: 2, webs: 2}.resources(b)
	s := benchServer(b, emulator.Traffic{RateLimit: limit})
	var (
		requests, limited int64
		elapsed           time.Duration
	)
	for b.Loop() {
		b.StopTimer()
		s.reset(b)
		p := s.provider(b, func(c *pingone.Config) { c.RateLimit = limit })
		b.StartTimer()
		start := time.Now()
		planApply(b, p, desired)
		elapsed += time.Since(start)
		b.StopTimer()
		snap := s.stats.Snapshot()
		requests += snap.Total
		for _, byStatus := range snap.Routes {
			limited += byStatus["429"]
		}
		b.StartTimer()
	}
	rate := float64(requests) / elapsed.Seconds()
	b.ReportMetric(float64(requests)/float64(b.N), "api-calls/op")
	b.ReportMetric(rate, "req/s")
	b.ReportMetric(100*rate/limit, "%-of-limit")
	// Both sides start with a full bucket of `limit` requests; without it
	// the rate is what the limit sustains.
	b.ReportMetric((float64(requests)-limit*float64(b.N))/elapsed.Seconds(), "steady-req/s")
	b.ReportMetric(float64(limited)/float64(b.N), "429s/op")
}

// BenchmarkApplyDeletes applies a prune of n users through an in-memory
// provider, so that only the engine's own cost is measured. It grows with
// n²: Apply orders each delete after the changes of kinds below it by
// looping over every other change (engine/apply.go), 100M iterations for
// 10,000 deletes, before the first call is made.
func BenchmarkApplyDeletes(b *testing.B) {
	for _, n := range []int{1000, 4000, 8000} {
		b.Run(fmt.Sprintf("Deletes=%d", n), func(b *testing.B) {
			env := engine.Resource{Addr: addr(engine.KindEnvironments, "e"), Name: "E", Attrs: map[string]any{"name": "E"}}
			mp := &memProvider{live: map[string][]engine.Live{
				engine.KindEnvironments: {{Kind: engine.KindEnvironments, ID: "env-1", Name: "E", Attrs: map[string]any{"name": "E"}}}}}
			for i := range n {
				name := fmt.Sprintf("user%05d", i)
				mp.live[engine.KindUsers] = append(mp.live[engine.KindUsers], engine.Live{Kind: engine.KindUsers,
					ID: fmt.Sprint("user-", i), EnvID: "env-1", Name: name, Attrs: map[string]any{"username": name}})
			}
			plan, err := engine.MakePlan(context.Background(), mp, []engine.Resource{env}, engine.Options{Prune: true})
			if err != nil || plan.Summary().Delete != n {
				b.Fatalf("MakePlan: %v, %+v", err, plan.Summary())
			}
			for b.Loop() {
				if _, err := engine.Apply(context.Background(), mp, plan, engine.ApplyOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
