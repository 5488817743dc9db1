// Package graph is a small generic directed acyclic graph: it finds all cycles
// in a stable order, groups nodes into parallel waves, and walks them.
//
// It uses only the standard library.
package graph
