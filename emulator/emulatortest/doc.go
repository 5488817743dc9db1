// Package emulatortest starts an in-process PingOne emulator for tests: the
// real server over httptest, with an in-memory store (or a SQLite file),
// its bootstrap credentials, and clients that hold a worker token.
//
// It imports the emulator and its store, and is imported only by tests; the
// emulator never imports it.
package emulatortest
