// Package schema embeds the manifest JSON Schema (manifest.schema.json, draft
// 2020-12) and validates decoded manifest documents against it, returning
// violations addressed by JSON pointer.
//
// It uses only the standard library and santhosh-tekuri/jsonschema/v5.
package schema
