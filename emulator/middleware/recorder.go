package middleware

import (
	"bufio"
	"net"
	"net/http"
)

// Recorder is an http.ResponseWriter that passes everything through to the
// writer it wraps and records the status code and the number of body bytes
// written. It works with http.ResponseController: Flush and Hijack are
// implemented directly (so plain type assertions keep working too) and
// everything else (deadlines, full duplex) reaches the wrapped writer through
// Unwrap.
//
// Like any ResponseWriter, a Recorder belongs to the goroutine serving the
// request; read it after the handler has returned.
type Recorder struct {
	w        http.ResponseWriter
	status   int
	bytes    int64
	hijacked bool
	onCommit func(status int) // called once, before the status reaches w

	// Set by the fault injector so that the log can say what happened.
	fault  string
	unsent int // status the handler produced but that was never sent
}

// NewRecorder wraps w.
func NewRecorder(w http.ResponseWriter) *Recorder { return &Recorder{w: w} }

// Status returns the status code sent (200 if the handler wrote a body or
// flushed without calling WriteHeader), or 0 if none was sent yet.
// Informational 1xx responses other than 101 are not recorded.
func (rec *Recorder) Status() int { return rec.status }

// Bytes returns the number of body bytes written through rec.
func (rec *Recorder) Bytes() int64 { return rec.bytes }

// Hijacked reports whether the connection was hijacked through rec.
func (rec *Recorder) Hijacked() bool { return rec.hijacked }

// Unwrap returns the wrapped writer, for http.ResponseController.
func (rec *Recorder) Unwrap() http.ResponseWriter { return rec.w }

// Header returns the wrapped writer's header map.
func (rec *Recorder) Header() http.Header { return rec.w.Header() }

// WriteHeader records code and passes it on.
func (rec *Recorder) WriteHeader(code int) {
	final := code >= 200 && code <= 999 || code == http.StatusSwitchingProtocols
	if final {
		rec.commit(code)
	}
	rec.w.WriteHeader(code)
}

// Write records the implicit 200 and the number of bytes written.
func (rec *Recorder) Write(b []byte) (int, error) {
	rec.commit(http.StatusOK)
	n, err := rec.w.Write(b)
	rec.bytes += int64(n)
	return n, err
}

// Flush implements http.Flusher; it does nothing if the wrapped writer cannot
// flush.
func (rec *Recorder) Flush() { _ = rec.FlushError() }

// FlushError flushes the wrapped writer, as http.ResponseController.Flush
// does; flushing sends the headers, so it records the implicit 200.
func (rec *Recorder) FlushError() error {
	rec.commit(http.StatusOK)
	return http.NewResponseController(rec.w).Flush()
}

// Hijack implements http.Hijacker by way of the wrapped writer.
func (rec *Recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(rec.w).Hijack()
	if err == nil {
		rec.hijacked = true
	}
	return c, rw, err
}

func (rec *Recorder) commit(status int) {
	if rec.status != 0 || rec.hijacked {
		return
	}
	rec.status = status
	if rec.onCommit != nil {
		rec.onCommit(status)
	}
}

// annotate records fault (and, for timeout-after-commit, the status the
// handler produced but that was never sent) on every Recorder in w's chain.
func annotate(w http.ResponseWriter, fault string, unsent int) {
	for w != nil {
		if rec, ok := w.(*Recorder); ok {
			rec.fault, rec.unsent = fault, unsent
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return
		}
		w = u.Unwrap()
	}
}
