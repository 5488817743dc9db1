package middleware

import (
	"net/http"
	"strings"
)

// RouteFunc returns the route pattern that serves r, such as
// "GET /v1/environments/{envID}/users", or "" when no route matches. The
// server passes a func that calls its http.ServeMux's Handler method, which
// does not modify r. It must be safe for concurrent use.
//
// Middleware given a nil RouteFunc falls back to r.Pattern as the ServeMux set
// it while serving r; that works only when no handler in between replaced the
// request (r.WithContext makes a copy the outer middleware never sees).
type RouteFunc func(r *http.Request) string

// Unmatched is the route under which requests that match no route are counted
// and logged: unknown paths and wrong methods (the mux's 404 and 405) alike.
// The method is not part of it; the request log has it.
const Unmatched = "unmatched"

// ControlPrefix is the path prefix of the emulator's control endpoints.
const ControlPrefix = "/_emulator/"

// Exempt reports whether r is left alone by the counting, faulting and rate
// limiting middleware: control endpoints (/_emulator and everything under
// ControlPrefix) and CONNECT requests. A CONNECT only opens the tunnel of
// issue 7; the requests inside the tunnel are what count.
func Exempt(r *http.Request) bool {
	if r.Method == http.MethodConnect {
		return true
	}
	p := r.URL.Path
	return p == "/_emulator" || strings.HasPrefix(p, ControlPrefix)
}

// routeOf names the route of r for stats and logs.
func routeOf(route RouteFunc, r *http.Request) string {
	var p string
	if route != nil {
		p = route(r)
	} else {
		p = r.Pattern
	}
	if p == "" {
		return Unmatched
	}
	return p
}
