package emulator

import (
	"net/http"
)

// controlHandler serves the emulator's own endpoints under /_emulator/,
// outside PingOne's namespace. They are not authenticated (the emulator
// binds loopback by default) and never counted, faulted or rate limited.
func (s *Server) controlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_emulator/health", func(w http.ResponseWriter, r *http.Request) {
		if err := s.db.Ping(r.Context()); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("POST /_emulator/reset", func(w http.ResponseWriter, r *http.Request) {
		if err := s.Reset(r.Context()); err != nil {
			s.log.Error("reset", "err", err)
			s.writeError(w, errUnexpected())
			return
		}
		if s.onReset != nil {
			s.onReset()
		}
		w.WriteHeader(http.StatusNoContent)
	})
	for pattern, h := range s.control {
		mux.Handle(pattern, h)
	}
	// Unknown control paths and methods answer JSON too, never ServeMux's
	// text/plain.
	mux.HandleFunc("/_emulator/", func(w http.ResponseWriter, r *http.Request) { s.writeError(w, errNotFound()) })
	return mux
}

// HandleControl mounts h at pattern under /_emulator/ (for example the
// stats endpoint of the middleware). Call before serving.
func (s *Server) HandleControl(pattern string, h http.Handler) {
	if s.control == nil {
		s.control = map[string]http.Handler{}
	}
	s.control[pattern] = h
}

// OnReset registers fn to run after POST /_emulator/reset (to clear stats).
func (s *Server) OnReset(fn func()) { s.onReset = fn }
