package middleware_test

import (
	"bufio"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/p1ctl/p1ctl/emulator/middleware"
)

func TestRecorderRecordsStatusAndBytes(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		reason     string
		handle     func(w http.ResponseWriter)
		wantStatus int
		wantBytes  int64
	}{
		"Explicit":      {"WriteHeader then Write", func(w http.ResponseWriter) { w.WriteHeader(201); _, _ = w.Write([]byte("abc")) }, 201, 3},
		"Implicit":      {"Write alone sends 200", func(w http.ResponseWriter) { _, _ = w.Write([]byte("ab")); _, _ = w.Write([]byte("c")) }, 200, 3},
		"FirstWins":     {"a second WriteHeader changes nothing", func(w http.ResponseWriter) { w.WriteHeader(404); w.WriteHeader(500) }, 404, 0},
		"Informational": {"1xx is not the final status", func(w http.ResponseWriter) { w.WriteHeader(103); w.WriteHeader(204) }, 204, 0},
		"Flush":         {"flushing sends 200", func(w http.ResponseWriter) { http.NewResponseController(w).Flush() }, 200, 0},
		"Nothing":       {"nothing written yet", func(http.ResponseWriter) {}, 0, 0},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			rec := middleware.NewRecorder(httptest.NewRecorder())
			tc.handle(rec)
			if rec.Status() != tc.wantStatus || rec.Bytes() != tc.wantBytes {
				t.Errorf("%s\nstatus %d bytes %d, want %d and %d", tc.reason, rec.Status(), rec.Bytes(), tc.wantStatus, tc.wantBytes)
			}
		})
	}
}

func TestResponseControllerThroughChain(t *testing.T) {
	t.Parallel()
	mux, h, _ := chain(t, middleware.Faults{Latency: time.Nanosecond}, slog.LevelInfo)
	release := make(chan struct{})
	mux.HandleFunc("GET /v1/stream", func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if err := rc.SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
			t.Errorf("SetWriteDeadline: %v", err)
		}
		_, _ = io.WriteString(w, "first")
		if err := rc.Flush(); err != nil {
			t.Errorf("Flush: %v", err)
		}
		<-release
		_, _ = io.WriteString(w, "second")
	})
	mux.HandleFunc("GET /v1/hijack", func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("Hijack: %v", err)
			return
		}
		defer conn.Close()
		_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi")
		_ = buf.Flush()
	})
	srv := startServer(t, h)

	// The flushed part arrives while the handler is still blocked.
	resp, err := srv.Client().Get(srv.URL + "/v1/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	first := make([]byte, len("first"))
	if _, err := io.ReadFull(br, first); err != nil || string(first) != "first" {
		t.Fatalf("read %q, %v; want the flushed part", first, err)
	}
	close(release)
	if rest, _ := io.ReadAll(br); string(rest) != "second" {
		t.Errorf("rest = %q", rest)
	}

	status, body, _, err := do(freshClient(), "GET", srv.URL+"/v1/hijack", nil)
	if err != nil || status != 200 || string(body) != "hi" {
		t.Errorf("hijacked response: %d %q %v", status, body, err)
	}
}
