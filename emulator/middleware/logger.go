package middleware

import (
	"log/slog"
	"net/http"
	"time"
)

// TransactionHeader is PingOne's optional client telemetry header; the log
// carries it so that a client's log line can be matched to the emulator's.
const TransactionHeader = "X-Ping-External-Transaction-ID"

// Logger logs one structured line per request after the handler has finished,
// with the message "request" and the attributes:
//
//	method, route (Unmatched if none), path, status (0 if no response was sent),
//	duration, caller, bytes (body bytes sent), transaction_id (if the
//	request had X-Ping-External-Transaction-ID), fault (the fault the
//	FaultInjector applied, if any), unsent_status (timeout-after-commit: the
//	status the handler produced but the client never got), outcome (reset,
//	panic, canceled or hijacked when there is no ordinary status).
//
// Levels: Info below 500, Warn for 5xx and dropped connections, Error when a
// handler panicked, Debug for Exempt requests (so that tests polling
// /_emulator/stats do not flood the log).
//
// It never logs headers, bodies, the query string (secrets travel in
// queries), tokens or secrets: the path is URL.Path, and caller comes from
// the caller func (nil means Caller), computed before the handler runs
// because it may peek at the body. A nil l means slog.Default().
func Logger(l *slog.Logger, route RouteFunc, caller func(*http.Request) string) func(http.Handler) http.Handler {
	if caller == nil {
		caller = Caller
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			l := l
			if l == nil {
				l = slog.Default()
			}
			if !l.Enabled(r.Context(), slog.LevelError) {
				next.ServeHTTP(w, r)
				return
			}
			start := time.Now()
			who := caller(r)
			rec := NewRecorder(w)
			returned := false
			defer func() {
				outcome := ""
				var v any
				if !returned {
					v = recover()
					outcome = StatusPanic
					if v == http.ErrAbortHandler {
						outcome = StatusReset
					}
				}
				logRequest(l, r, rec, route, who, outcome, time.Since(start))
				if !returned {
					panic(v)
				}
			}()
			next.ServeHTTP(rec, r)
			returned = true
		})
	}
}

func logRequest(l *slog.Logger, r *http.Request, rec *Recorder, route RouteFunc, who, outcome string, d time.Duration) {
	status := rec.status
	if outcome == "" {
		switch {
		case status != 0:
		case rec.hijacked:
			outcome = StatusHijacked
		case r.Context().Err() != nil:
			outcome = StatusCanceled
		default:
			status = http.StatusOK // net/http sends an implicit 200
		}
	}
	level := slog.LevelInfo
	switch {
	case Exempt(r):
		level = slog.LevelDebug
	case outcome == StatusPanic:
		level = slog.LevelError
	case status >= 500 || outcome == StatusReset:
		level = slog.LevelWarn
	}
	ctx := r.Context()
	if !l.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, 11)
	attrs = append(attrs,
		slog.String("method", r.Method),
		slog.String("route", routeOf(route, r)),
		slog.String("path", r.URL.Path),
		slog.Int("status", status),
		slog.Duration("duration", d),
		slog.String("caller", who),
		slog.Int64("bytes", rec.bytes),
	)
	if tx := r.Header.Get(TransactionHeader); tx != "" {
		attrs = append(attrs, slog.String("transaction_id", sanitizeTransactionID(tx)))
	}
	if rec.fault != "" {
		attrs = append(attrs, slog.String("fault", rec.fault))
	}
	if rec.unsent != 0 {
		attrs = append(attrs, slog.Int("unsent_status", rec.unsent))
	}
	if outcome != "" {
		attrs = append(attrs, slog.String("outcome", outcome))
	}
	l.LogAttrs(ctx, level, "request", attrs...)
}

// sanitizeTransactionID applies PingOne's rule for the telemetry headers: at
// most 100 characters, anything unexpected replaced by '_'.
func sanitizeTransactionID(s string) string {
	const maxLen = 100
	if len(s) > maxLen {
		s = s[:maxLen]
	}
	b := []byte(s)
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == ':'
		if !ok {
			b[i] = '_'
		}
	}
	return string(b)
}
