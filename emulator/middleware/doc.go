// Package middleware holds the HTTP middleware that the emulator wraps around
// its route table, in this order (outermost first):
//
//	Logger -> (*Stats).Middleware -> (*FaultInjector).Middleware -> (*RateLimiter).Middleware -> server (auth, roles, routes)
//
// Each constructor returns a func(http.Handler) http.Handler that is safe for
// concurrent use. Control endpoints under /_emulator/ and CONNECT requests
// (see [Exempt]) are logged but never counted, faulted or rate-limited.
//
// Middleware that needs a request's route takes a [RouteFunc]; middleware that
// answers with an error takes an [ErrorWriter], so that the server's own
// writer stays the only producer of PingOne's error body ([WriteError] is a
// stand-in for tests).
//
// This package uses only the standard library and golang.org/x/time/rate. It
// must not import the emulator package, its store, engine or providers: the
// emulator composes it, never the other way round.
package middleware
