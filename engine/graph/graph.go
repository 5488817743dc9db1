package graph

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Graph is a directed graph of comparable nodes in which an edge from a to b
// means "a depends on b": b comes first in Waves and Walk.
//
// Every ordered result (Nodes, Cycles, Waves, Walk's reports) is sorted by the
// compare function given to New, or by insertion order when it is nil, so the
// same graph always gives the same answer whatever the map iteration order.
//
// A Graph is not safe for concurrent mutation. Once built, its read-only
// methods may be called from several goroutines at once.
type Graph[T comparable] struct {
	cmp   func(a, b T) int
	ids   map[T]int
	nodes []T
	deps  [][]int // deps[i]: nodes that node i depends on
	rdeps [][]int // rdeps[i]: nodes that depend on node i
	edges map[[2]int]struct{}

	mu   sync.Mutex // guards rank, which read-only methods compute lazily
	rank []int      // rank[i]: position of node i in the stable order; nil when stale
}

// New returns an empty graph. cmp orders nodes in every result (it must be a
// strict weak order returning <0, 0, >0 like strings.Compare); when cmp is nil,
// nodes are ordered by when they were first added.
func New[T comparable](cmp func(a, b T) int) *Graph[T] {
	return &Graph[T]{cmp: cmp, ids: map[T]int{}, edges: map[[2]int]struct{}{}}
}

// Grow makes room for n more nodes, so that building a large graph does not
// reallocate as it goes. It changes nothing else.
func (g *Graph[T]) Grow(n int) {
	if n <= 0 {
		return
	}
	ids := make(map[T]int, len(g.nodes)+n)
	for k, v := range g.ids {
		ids[k] = v
	}
	g.ids = ids
	g.nodes = slices.Grow(g.nodes, n)
	g.deps = slices.Grow(g.deps, n)
	g.rdeps = slices.Grow(g.rdeps, n)
}

// AddNode adds n to the graph. Adding a node twice is a no-op.
func (g *Graph[T]) AddNode(n T) { g.id(n) }

// AddEdge records that from depends on to, adding either node if needed.
// Adding an edge twice is a no-op. An edge from a node to itself is a cycle.
func (g *Graph[T]) AddEdge(from, to T) {
	f, t := g.id(from), g.id(to)
	if _, ok := g.edges[[2]int{f, t}]; ok {
		return
	}
	g.edges[[2]int{f, t}] = struct{}{}
	g.deps[f] = append(g.deps[f], t)
	g.rdeps[t] = append(g.rdeps[t], f)
}

func (g *Graph[T]) id(n T) int {
	if i, ok := g.ids[n]; ok {
		return i
	}
	i := len(g.nodes)
	g.ids[n] = i
	g.nodes = append(g.nodes, n)
	g.deps = append(g.deps, nil)
	g.rdeps = append(g.rdeps, nil)
	g.mu.Lock()
	g.rank = nil
	g.mu.Unlock()
	return i
}

// Len returns the number of nodes.
func (g *Graph[T]) Len() int { return len(g.nodes) }

// Has reports whether n is a node of the graph.
func (g *Graph[T]) Has(n T) bool {
	_, ok := g.ids[n]
	return ok
}

// Nodes returns every node in stable order.
func (g *Graph[T]) Nodes() []T { return g.values(g.order()) }

// DependenciesOf returns the nodes n depends on directly, in stable order.
// It returns nil when n is not in the graph.
func (g *Graph[T]) DependenciesOf(n T) []T {
	i, ok := g.ids[n]
	if !ok {
		return nil
	}
	return g.values(g.sorted(g.deps[i]))
}

// DependentsOf returns the nodes that depend on n directly, in stable order.
// It returns nil when n is not in the graph.
func (g *Graph[T]) DependentsOf(n T) []T {
	i, ok := g.ids[n]
	if !ok {
		return nil
	}
	return g.values(g.sorted(g.rdeps[i]))
}

// Reverse returns a new graph with every edge turned around, for work that
// must visit dependents before their dependencies, such as deletes.
func (g *Graph[T]) Reverse() *Graph[T] {
	r := New(g.cmp)
	for _, n := range g.nodes { // insertion order, so a nil cmp keeps its meaning
		r.AddNode(n)
	}
	for from, tos := range g.deps {
		for _, to := range tos {
			r.AddEdge(g.nodes[to], g.nodes[from])
		}
	}
	return r
}

// Cycles returns one cycle for every strongly connected component that has
// one, or nil when the graph is acyclic. Each cycle is the shortest path that
// starts at the component's first node in stable order and comes back to it:
// [a b c] means a depends on b, b on c and c on a. Cycles are sorted by their
// first node. A component can hold more cycles than the one reported; breaking
// it and calling Cycles again reports the next, so a user fixing them one at a
// time always sees a real, minimal loop rather than a flood of overlapping ones.
func (g *Graph[T]) Cycles() [][]T {
	var out [][]T
	for _, scc := range g.components() {
		if c := g.shortestCycle(scc); c != nil {
			out = append(out, g.values(c))
		}
	}
	r := g.ranks()
	slices.SortFunc(out, func(a, b []T) int { return r[g.ids[a[0]]] - r[g.ids[b[0]]] })
	return out
}

// Waves groups the nodes into waves: the first holds the nodes that depend on
// nothing, and every later wave holds the nodes whose dependencies are all in
// earlier waves. Nodes of one wave may be processed in parallel. Each wave is
// in stable order. When the graph has a cycle Waves returns a *CycleError.
func (g *Graph[T]) Waves() ([][]T, error) {
	pending := make([]int, len(g.nodes))
	var wave []int
	for i := range g.nodes {
		pending[i] = len(g.deps[i])
		if pending[i] == 0 {
			wave = append(wave, i)
		}
	}
	var out [][]T
	seen := 0
	for len(wave) > 0 {
		wave = g.sorted(wave)
		out = append(out, g.values(wave))
		seen += len(wave)
		var next []int
		for _, i := range wave {
			for _, d := range g.rdeps[i] {
				if pending[d]--; pending[d] == 0 {
					next = append(next, d)
				}
			}
		}
		wave = next
	}
	if seen < len(g.nodes) {
		return nil, &CycleError[T]{Cycles: g.Cycles()}
	}
	return out, nil
}

// CycleError reports that a graph has cycles, as returned by Cycles.
type CycleError[T comparable] struct {
	Cycles [][]T
}

func (e *CycleError[T]) Error() string {
	parts := make([]string, len(e.Cycles))
	for i, c := range e.Cycles {
		parts[i] = FormatCycle(c)
	}
	return "dependency cycle: " + strings.Join(parts, "; ")
}

// FormatCycle renders a cycle as returned by Cycles, closing the loop:
// [a b] prints "a -> b -> a". Nodes print with fmt's %v.
func FormatCycle[T any](c []T) string {
	if len(c) == 0 {
		return ""
	}
	var b strings.Builder
	for _, n := range c {
		fmt.Fprintf(&b, "%v -> ", n)
	}
	fmt.Fprintf(&b, "%v", c[0])
	return b.String()
}

// ranks returns the position of every node id in the stable order.
func (g *Graph[T]) ranks() []int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.rank == nil {
		order := make([]int, len(g.nodes))
		for i := range order {
			order[i] = i
		}
		if g.cmp != nil {
			slices.SortStableFunc(order, func(a, b int) int { return g.cmp(g.nodes[a], g.nodes[b]) })
		}
		rank := make([]int, len(g.nodes))
		for pos, i := range order {
			rank[i] = pos
		}
		g.rank = rank
	}
	return g.rank
}

// order returns every node id in stable order.
func (g *Graph[T]) order() []int {
	r := g.ranks()
	order := make([]int, len(r))
	for i, pos := range r {
		order[pos] = i
	}
	return order
}

// sorted returns a sorted copy of ids.
func (g *Graph[T]) sorted(ids []int) []int {
	out := slices.Clone(ids)
	r := g.ranks()
	slices.SortFunc(out, func(a, b int) int { return r[a] - r[b] })
	return out
}

func (g *Graph[T]) values(ids []int) []T {
	if ids == nil {
		return nil
	}
	out := make([]T, len(ids))
	for i, id := range ids {
		out[i] = g.nodes[id]
	}
	return out
}

// components returns the strongly connected components (Tarjan), visiting
// nodes and edges in stable order so the result does not depend on maps.
func (g *Graph[T]) components() [][]int {
	n := len(g.nodes)
	index := make([]int, n)
	low := make([]int, n)
	onStack := make([]bool, n)
	for i := range index {
		index[i] = -1
	}
	adj := make([][]int, n)
	for i := range adj {
		adj[i] = g.sorted(g.deps[i])
	}
	var (
		stack []int
		out   [][]int
		next  int
	)
	var visit func(v int)
	visit = func(v int) {
		index[v], low[v] = next, next
		next++
		stack = append(stack, v)
		onStack[v] = true
		for _, w := range adj[v] {
			if index[w] < 0 {
				visit(w)
				low[v] = min(low[v], low[w])
			} else if onStack[w] {
				low[v] = min(low[v], index[w])
			}
		}
		if low[v] == index[v] {
			var scc []int
			for {
				w := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				onStack[w] = false
				scc = append(scc, w)
				if w == v {
					break
				}
			}
			out = append(out, scc)
		}
	}
	for _, v := range g.order() {
		if index[v] < 0 {
			visit(v)
		}
	}
	return out
}

// shortestCycle returns the shortest cycle through the first node of scc, or
// nil when scc is a single node without a self edge.
func (g *Graph[T]) shortestCycle(scc []int) []int {
	start := g.sorted(scc)[0]
	if len(scc) == 1 {
		if _, self := g.edges[[2]int{start, start}]; self {
			return []int{start}
		}
		return nil
	}
	in := make(map[int]bool, len(scc))
	for _, v := range scc {
		in[v] = true
	}
	parent := map[int]int{start: -1}
	queue := []int{start}
	for len(queue) > 0 {
		v := queue[0]
		queue = queue[1:]
		for _, w := range g.sorted(g.deps[v]) {
			if w == start {
				var path []int
				for u := v; u != -1; u = parent[u] {
					path = append(path, u)
				}
				slices.Reverse(path)
				return path
			}
			if _, seen := parent[w]; !seen && in[w] {
				parent[w] = v
				queue = append(queue, w)
			}
		}
	}
	return nil // unreachable for a real component
}
