package graph

import (
	"container/heap"
	"context"
	"slices"
)

// WalkResult reports what Walk did with every node. Each node of the graph is
// in exactly one of Done, Failed and Skipped; each list is in stable order.
type WalkResult[T comparable] struct {
	Done    []T          // fn returned nil
	Failed  []Failure[T] // fn returned an error
	Skipped []Skip[T]    // fn was never called
}

// Failure is a node whose function returned an error.
type Failure[T comparable] struct {
	Node T
	Err  error
}

// Skip is a node that was not visited. Because lists, in stable order, the
// failed nodes it depends on directly or through other nodes; it is empty when
// the node was skipped only because the walk's context was done.
type Skip[T comparable] struct {
	Node    T
	Because []T
}

// Walk calls fn once for every node, after fn has succeeded for all of the
// node's dependencies, running at most parallelism calls at a time
// (parallelism < 1 means 1). When fn fails for a node, every node that depends
// on it, directly or not, is skipped rather than visited: a dependent of a
// failure is not a failure of its own. Among the nodes that are ready, Walk
// starts them in stable order, so a walk with parallelism 1 is deterministic.
//
// fn receives ctx and must return when it is done. Once ctx is done Walk
// starts no more calls, waits for the running ones, and reports every node not
// yet started as skipped; it then returns ctx.Err() along with the result.
// When the graph has a cycle Walk calls nothing and returns a *CycleError.
// Otherwise the error is nil, whatever fn returned: failures are in the result.
//
// fn may be called from several goroutines at once and must not change g.
func (g *Graph[T]) Walk(ctx context.Context, parallelism int, fn func(context.Context, T) error) (*WalkResult[T], error) {
	if cycles := g.Cycles(); cycles != nil {
		return nil, &CycleError[T]{Cycles: cycles}
	}
	parallelism = max(parallelism, 1)
	rank := g.ranks()
	n := len(g.nodes)

	const (
		waiting = iota
		running
		done
		failed
		skipped
	)
	state := make([]int, n)
	errs := make([]error, n)
	because := make([]map[int]struct{}, n)
	pending := make([]int, n)
	ready := &readyQueue{rank: rank}
	for i := range n {
		pending[i] = len(g.deps[i])
		if pending[i] == 0 {
			heap.Push(ready, i)
		}
	}

	// skip marks every transitive dependent of the failed node f as skipped
	// because of f. Dependents of a failure cannot have started, so each is
	// waiting or already skipped (because of another failure).
	skip := func(f int) {
		seen := map[int]bool{}
		queue := slices.Clone(g.rdeps[f])
		for len(queue) > 0 {
			d := queue[0]
			queue = queue[1:]
			if seen[d] {
				continue
			}
			seen[d] = true
			state[d] = skipped
			if because[d] == nil {
				because[d] = map[int]struct{}{}
			}
			because[d][f] = struct{}{}
			queue = append(queue, g.rdeps[d]...)
		}
	}

	type result struct {
		id  int
		err error
	}
	results := make(chan result, n)
	inflight := 0
	for {
		for inflight < parallelism && ready.Len() > 0 && ctx.Err() == nil {
			id := heap.Pop(ready).(int)
			if state[id] != waiting {
				continue // skipped after it became ready
			}
			state[id] = running
			inflight++
			go func(id int) {
				results <- result{id, fn(ctx, g.nodes[id])}
			}(id)
		}
		if inflight == 0 {
			break
		}
		r := <-results
		inflight--
		if r.err != nil {
			state[r.id], errs[r.id] = failed, r.err
			skip(r.id)
			continue
		}
		state[r.id] = done
		for _, d := range g.rdeps[r.id] {
			if pending[d]--; pending[d] == 0 && state[d] == waiting {
				heap.Push(ready, d)
			}
		}
	}

	res := &WalkResult[T]{}
	canceled := false
	for _, id := range g.order() {
		switch state[id] {
		case done:
			res.Done = append(res.Done, g.nodes[id])
		case failed:
			res.Failed = append(res.Failed, Failure[T]{Node: g.nodes[id], Err: errs[id]})
		case skipped:
			causes := make([]int, 0, len(because[id]))
			for c := range because[id] {
				causes = append(causes, c)
			}
			res.Skipped = append(res.Skipped, Skip[T]{Node: g.nodes[id], Because: g.values(g.sorted(causes))})
		default: // never started: the context was done
			canceled = true
			res.Skipped = append(res.Skipped, Skip[T]{Node: g.nodes[id]})
		}
	}
	if canceled {
		return res, ctx.Err()
	}
	return res, nil
}

// readyQueue is a min-heap of node ids by stable rank.
type readyQueue struct {
	ids  []int
	rank []int
}

func (q *readyQueue) Len() int           { return len(q.ids) }
func (q *readyQueue) Less(i, j int) bool { return q.rank[q.ids[i]] < q.rank[q.ids[j]] }
func (q *readyQueue) Swap(i, j int)      { q.ids[i], q.ids[j] = q.ids[j], q.ids[i] }
func (q *readyQueue) Push(x any)         { q.ids = append(q.ids, x.(int)) }
func (q *readyQueue) Pop() any {
	x := q.ids[len(q.ids)-1]
	q.ids = q.ids[:len(q.ids)-1]
	return x
}
