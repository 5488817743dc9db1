// Package graph is a small generic directed acyclic graph: it finds all cycles
// in a stable order, groups nodes into parallel waves, and walks them.
//
// An edge from a to b means "a depends on b". Results never depend on map
// iteration order: they follow the compare function given to New. Walk runs
// a function over the nodes in dependency order with bounded parallelism,
// skips (and reports) the dependents of failed nodes, and honours context
// cancellation. Validation uses Cycles; the planner uses Waves and Walk.
//
// It uses only the standard library.
package graph
