// Package manifests loads p1ctl manifests: files -> ${VAR} -> yaml.Node ->
// JSON Schema -> semantic checks -> desired state.
//
// Load (or LoadFiles, for manifests in memory) reads files and folders, parses
// every YAML document into nodes, substitutes variables inside scalar values
// (so positions stay exact), converts the nodes to JSON values itself while
// indexing every JSON pointer back to its node, validates each document with
// package schema, merges the documents into one Manifest, and runs the checks
// the schema cannot express: references between resources, names PingOne
// keeps unique, existing environments, role scopes, application settings,
// literal passwords and dependency cycles (through engine/graph).
//
// Every problem is reported as a Problem with file, line, column and address,
// all of them at once, sorted by position; Load returns them as one
// *multierror.Error when any is an error. No problem ever contains the value
// of a variable, and passwords are carried as Secret, which never prints.
//
// It imports schema, engine, engine/graph, yaml.v3 and go-multierror, and
// never net/http or providers.
package manifests
