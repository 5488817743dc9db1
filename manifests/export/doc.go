// Package export turns live PingOne objects into a manifest: the inverse of
// manifests.Manifest.Resources, so that `p1ctl plan` of an exported file
// shows no changes.
//
// Read lists what an export needs through an engine.Provider (one bulk,
// paged List per kind per environment, environments once). Build derives
// keys from names, writes references as keys, leaves out values equal to
// PingOne's defaults and the objects PingOne creates itself, and never
// writes a secret: passwords become ${PASSWORD_<KEY>} placeholders only when
// asked. Output is deterministic: the same live state gives the same bytes.
//
// It imports engine, manifests, schema and yaml.v3, and never net/http or
// providers.
package export
