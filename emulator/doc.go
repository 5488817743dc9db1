// Package emulator is a local PingOne-compatible server: the management API,
// worker tokens, role checks and faults, over an embedded SQLite store.
//
// It never imports engine or providers: it has its own wire structs, so that a
// JSON bug in our client cannot be mirrored here and hidden.
package emulator
