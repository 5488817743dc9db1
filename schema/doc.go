// Package schema embeds the manifest JSON Schema (manifest.schema.json, draft
// 2020-12) and validates decoded manifest documents against it, returning
// violations addressed by JSON pointer with short, human messages.
//
// The schema is the manifest format's reference: every property has a
// description, and every object forbids unknown properties. Editors read it
// through the "# yaml-language-server: $schema=<URL>" line of a manifest, and
// `p1ctl schema` prints it.
//
// It uses only the standard library and santhosh-tekuri/jsonschema/v5.
package schema
