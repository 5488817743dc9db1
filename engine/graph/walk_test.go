package graph

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var errBoom = errors.New("boom")

func TestWalk(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		reason    string
		edges     []string
		fail      []string
		wantOrder []string // call order with parallelism 1
		want      *WalkResult[string]
	}{
		"DependenciesFirst": {
			reason:    "with parallelism 1 nodes run dependencies first, ties in stable order",
			edges:     []string{"c->a", "b->a", "d"},
			wantOrder: []string{"a", "b", "c", "d"},
			want:      &WalkResult[string]{Done: []string{"a", "b", "c", "d"}},
		},
		"FailureSkipsDependents": {
			reason:    "dependents of a failure, direct or not, are skipped and name the failure",
			edges:     []string{"b->a", "c->b", "e->a", "e->d", "d"},
			fail:      []string{"a"},
			wantOrder: []string{"a", "d"},
			want: &WalkResult[string]{
				Done:   []string{"d"},
				Failed: []Failure[string]{{Node: "a", Err: errBoom}},
				Skipped: []Skip[string]{
					{Node: "b", Because: []string{"a"}},
					{Node: "c", Because: []string{"a"}},
					{Node: "e", Because: []string{"a"}},
				},
			},
		},
		"TwoFailuresOneDependent": {
			reason:    "a node behind two failures lists both",
			edges:     []string{"z->x", "z->y", "w->z"},
			fail:      []string{"x", "y"},
			wantOrder: []string{"x", "y"},
			want: &WalkResult[string]{
				Failed: []Failure[string]{{Node: "x", Err: errBoom}, {Node: "y", Err: errBoom}},
				Skipped: []Skip[string]{
					{Node: "w", Because: []string{"x", "y"}},
					{Node: "z", Because: []string{"x", "y"}},
				},
			},
		},
		"FailureDoesNotStopSiblings": {
			reason:    "nodes that do not depend on the failure still run",
			edges:     []string{"b->a", "c"},
			fail:      []string{"c"},
			wantOrder: []string{"a", "b", "c"},
			want: &WalkResult[string]{
				Done:   []string{"a", "b"},
				Failed: []Failure[string]{{Node: "c", Err: errBoom}},
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var order []string
			got, err := build(tc.edges...).Walk(t.Context(), 1, func(_ context.Context, n string) error {
				order = append(order, n) // parallelism 1: no concurrent calls
				for _, f := range tc.fail {
					if n == f {
						return errBoom
					}
				}
				return nil
			})
			if err != nil {
				t.Fatalf("%s\nWalk error = %v", tc.reason, err)
			}
			if diff := cmp.Diff(tc.wantOrder, order); diff != "" {
				t.Errorf("%s\ncall order: -want +got:\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateErrors()); diff != "" {
				t.Errorf("%s\nWalk: -want +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestWalkCycle(t *testing.T) {
	t.Parallel()
	called := false
	_, err := build("a->b", "b->a").Walk(t.Context(), 4, func(context.Context, string) error {
		called = true
		return nil
	})
	var ce *CycleError[string]
	if !errors.As(err, &ce) {
		t.Fatalf("Walk on a cycle: error = %v, want *CycleError", err)
	}
	if called {
		t.Errorf("Walk on a cycle called fn; it must call nothing")
	}
}

func TestWalkCanceled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	got, err := build("b->a", "c").Walk(ctx, 1, func(_ context.Context, n string) error {
		cancel() // the first node cancels; nothing else may start
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Walk error = %v, want context.Canceled", err)
	}
	want := &WalkResult[string]{
		Done:    []string{"a"},
		Skipped: []Skip[string]{{Node: "b"}, {Node: "c"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Walk after cancel: -want +got:\n%s", diff)
	}
}

// TestWalkParallelismLimit proves that exactly `limit` calls run at once: the
// first calls block until the test has seen `limit` of them start, and none
// may start while they block.
func TestWalkParallelismLimit(t *testing.T) {
	t.Parallel()
	const limit, nodes = 3, 12
	g := New(strings.Compare)
	for i := range nodes {
		g.AddNode(fmt.Sprintf("n%02d", i))
	}
	var inflight, peak atomic.Int32
	started := make(chan struct{}, nodes)
	release := make(chan struct{})
	done := make(chan *WalkResult[string])
	go func() {
		res, err := g.Walk(t.Context(), limit, func(context.Context, string) error {
			cur := inflight.Add(1)
			for {
				p := peak.Load()
				if cur <= p || peak.CompareAndSwap(p, cur) {
					break
				}
			}
			started <- struct{}{}
			<-release
			inflight.Add(-1)
			return nil
		})
		if err != nil {
			t.Errorf("Walk error = %v", err)
		}
		done <- res
	}()
	for range limit {
		<-started
	}
	close(release)
	res := <-done
	if got := peak.Load(); got != limit {
		t.Errorf("peak concurrency = %d, want %d", got, limit)
	}
	if len(res.Done) != nodes {
		t.Errorf("Done has %d nodes, want %d", len(res.Done), nodes)
	}
}

// TestWalkConcurrentOrdering runs a layered graph with many workers (under
// -race in CI) and checks every call sees all its dependencies finished.
func TestWalkConcurrentOrdering(t *testing.T) {
	t.Parallel()
	g := New(strings.Compare)
	const layers, width = 8, 25
	name := func(l, i int) string { return fmt.Sprintf("l%d-%02d", l, i) }
	for l := range layers {
		for i := range width {
			g.AddNode(name(l, i))
			if l > 0 {
				g.AddEdge(name(l, i), name(l-1, i))
				g.AddEdge(name(l, i), name(l-1, (i*7+3)%width))
			}
		}
	}
	var mu sync.Mutex
	finished := map[string]bool{}
	res, err := g.Walk(t.Context(), 8, func(_ context.Context, n string) error {
		mu.Lock()
		for _, d := range g.DependenciesOf(n) {
			if !finished[d] {
				t.Errorf("%s started before its dependency %s finished", n, d)
			}
		}
		mu.Unlock()
		if strings.HasSuffix(n, "-13") && strings.HasPrefix(n, "l3") {
			return errBoom
		}
		mu.Lock()
		finished[n] = true
		mu.Unlock()
		return nil
	})
	if err != nil {
		t.Fatalf("Walk error = %v", err)
	}
	total := len(res.Done) + len(res.Failed) + len(res.Skipped)
	if total != layers*width {
		t.Errorf("Walk reported %d nodes, want %d", total, layers*width)
	}
	if len(res.Failed) != 1 || len(res.Skipped) == 0 {
		t.Errorf("Walk: %d failed, %d skipped; want 1 failed and its dependents skipped", len(res.Failed), len(res.Skipped))
	}
	for _, s := range res.Skipped {
		if diff := cmp.Diff([]string{"l3-13"}, s.Because); diff != "" {
			t.Errorf("%s skipped: Because -want +got:\n%s", s.Node, diff)
		}
	}
}
