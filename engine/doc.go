// Package engine turns a desired state (from manifests) and the live state (from
// a Provider) into a Plan, and applies a Plan in dependency order.
//
// It owns the Provider interface that providers/pingone implements. It imports
// engine/graph, engine/diff and go-multierror, and never net/http, yaml,
// providers or manifests.
package engine
