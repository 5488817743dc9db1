// Package store keeps the emulator's objects in SQLite (pure Go, no cgo):
// WAL mode, one transaction per write, uniqueness enforced by the database,
// schema versioned by migrations. SQL stays inside this package.
package store
