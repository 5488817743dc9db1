package graph

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// build returns a graph of string nodes from "a->b" edges ("a depends on b")
// and bare "a" nodes.
func build(specs ...string) *Graph[string] {
	g := New(strings.Compare)
	for _, s := range specs {
		from, to, ok := strings.Cut(s, "->")
		if !ok {
			g.AddNode(s)
			continue
		}
		g.AddEdge(from, to)
	}
	return g
}

func TestCycles(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		reason string
		edges  []string
		want   [][]string
	}{
		"Acyclic": {
			reason: "a DAG has no cycles",
			edges:  []string{"a->b", "b->c", "a->c", "d"},
			want:   nil,
		},
		"SelfLoop": {
			reason: "a node that depends on itself is a cycle of one",
			edges:  []string{"a->a", "b->a"},
			want:   [][]string{{"a"}},
		},
		"TwoNodes": {
			reason: "a cycle starts at its smallest node",
			edges:  []string{"b->a", "a->b"},
			want:   [][]string{{"a", "b"}},
		},
		"ShortestThroughFirst": {
			reason: "one component with two loops reports the shortest loop through its first node",
			edges:  []string{"a->b", "b->c", "c->d", "d->a", "b->a"},
			want:   [][]string{{"a", "b"}},
		},
		"SeveralComponentsSorted": {
			reason: "separate components are reported once each, sorted by first node",
			edges:  []string{"z->y", "y->z", "m->n", "n->o", "o->m", "m->a", "a"},
			want:   [][]string{{"m", "n", "o"}, {"y", "z"}},
		},
		"StartsAtSmallestNotAtEntry": {
			reason: "the cycle is rotated to its smallest node even when reached from elsewhere",
			edges:  []string{"a->q", "q->c", "c->b", "b->q"},
			want:   [][]string{{"b", "q", "c"}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			// Insert edges in reverse too: the answer must not depend on order.
			for _, edges := range [][]string{tc.edges, reversed(tc.edges)} {
				got := build(edges...).Cycles()
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("%s\nCycles(%v): -want +got:\n%s", tc.reason, edges, diff)
				}
			}
		})
	}
}

func reversed(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[len(s)-1-i] = v
	}
	return out
}

func TestWaves(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		reason     string
		edges      []string
		want       [][]string
		wantCycles [][]string
	}{
		"Empty": {
			reason: "an empty graph has no waves",
			want:   nil,
		},
		"Independent": {
			reason: "nodes without edges share the first wave, sorted",
			edges:  []string{"c", "a", "b"},
			want:   [][]string{{"a", "b", "c"}},
		},
		"Diamond": {
			reason: "a node waits for its slowest dependency",
			edges:  []string{"d->b", "d->c", "b->a", "c->a", "c->e", "e->a"},
			want:   [][]string{{"a"}, {"b", "e"}, {"c"}, {"d"}},
		},
		"Cycle": {
			reason:     "a cycle makes waves impossible and is reported",
			edges:      []string{"a->b", "b->a", "c"},
			wantCycles: [][]string{{"a", "b"}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := build(tc.edges...).Waves()
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nWaves: -want +got:\n%s", tc.reason, diff)
			}
			var ce *CycleError[string]
			if errors.As(err, &ce) != (tc.wantCycles != nil) {
				t.Fatalf("%s\nWaves error = %v, want cycles %v", tc.reason, err, tc.wantCycles)
			}
			if ce != nil {
				if diff := cmp.Diff(tc.wantCycles, ce.Cycles); diff != "" {
					t.Errorf("%s\nCycleError.Cycles: -want +got:\n%s", tc.reason, diff)
				}
			}
		})
	}
}

func TestInsertionOrderWithoutCompare(t *testing.T) {
	t.Parallel()
	g := New[int](nil)
	for _, n := range []int{3, 1, 2} {
		g.AddNode(n)
	}
	g.AddEdge(1, 3)
	waves, err := g.Waves()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([][]int{{3, 2}, {1}}, waves); diff != "" {
		t.Errorf("with a nil compare, order is insertion order\nWaves: -want +got:\n%s", diff)
	}
}

func TestNeighbours(t *testing.T) {
	t.Parallel()
	g := build("b->a", "c->a", "c->b", "c->b")
	if diff := cmp.Diff([]string{"a", "b"}, g.DependenciesOf("c")); diff != "" {
		t.Errorf("DependenciesOf(c) dedups and sorts: -want +got:\n%s", diff)
	}
	if diff := cmp.Diff([]string{"b", "c"}, g.DependentsOf("a")); diff != "" {
		t.Errorf("DependentsOf(a): -want +got:\n%s", diff)
	}
	if got := g.DependenciesOf("nope"); got != nil {
		t.Errorf("DependenciesOf(missing) = %v, want nil", got)
	}
	if !g.Has("a") || g.Has("z") || g.Len() != 3 {
		t.Errorf("Has/Len wrong: Has(a)=%v Has(z)=%v Len=%d", g.Has("a"), g.Has("z"), g.Len())
	}
	r := g.Reverse()
	if diff := cmp.Diff([]string{"b", "c"}, r.DependenciesOf("a")); diff != "" {
		t.Errorf("Reverse: -want +got:\n%s", diff)
	}
}

func TestFormatCycle(t *testing.T) {
	t.Parallel()
	err := &CycleError[string]{Cycles: [][]string{{"a", "b"}, {"c"}}}
	want := "dependency cycle: a -> b -> a; c -> c"
	if err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
}

func TestGrow(t *testing.T) {
	t.Parallel()
	g := build("b->a")
	g.Grow(100)
	g.AddEdge("c", "b")
	if diff := cmp.Diff([]string{"a", "b", "c"}, g.Nodes()); diff != "" {
		t.Errorf("Grow keeps the graph: -want +got:\n%s", diff)
	}
	if diff := cmp.Diff([]string{"a"}, g.DependenciesOf("b")); diff != "" {
		t.Errorf("Grow keeps edges: -want +got:\n%s", diff)
	}
}
