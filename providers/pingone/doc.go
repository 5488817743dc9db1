// Package pingone is the PingOne Management and Auth API client: tokens,
// retries with backoff, rate and concurrency limits, paging, typed errors.
// Its Provider implements the Provider interface owned by package engine.
//
// It imports engine (for the interface and its types) and engine/diff (to
// compare attribute values the way plans do), never manifests, render or the
// emulator. Tests use the real emulator through emulatortest.
//
// Nothing this package returns or logs ever contains a token, a client
// secret, a password or a request body.
package pingone
