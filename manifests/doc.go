// Package manifests loads p1ctl manifests: files -> ${VAR} substitution ->
// yaml.Node -> JSON Schema -> semantic checks -> desired state.
//
// Every problem is reported as a Problem with file, line, column and address,
// all of them at once. It imports schema, engine, engine/graph and yaml.v3.
package manifests
