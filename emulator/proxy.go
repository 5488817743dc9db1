package emulator

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
)

// connectEstablished is the answer to an accepted CONNECT. After it the
// connection carries the client's TLS handshake.
const connectEstablished = "HTTP/1.1 200 Connection established\r\n\r\n"

// tunnels answers HTTP CONNECT for the names of the emulator's own
// certificate, so that a client whose HTTPS_PROXY is the emulator reaches
// it as https://api.pingone.test (pingone-api.md §8.1). The emulator is the
// far end of every tunnel: it terminates TLS with its own certificate and
// serves the tunnelled requests with the same handler, so r.Host is the name
// the client asked for and links are built on it. It never dials out: every
// other target is refused, so it is not an open proxy.
type tunnels struct {
	s     *Server
	next  http.Handler
	tls   *tls.Config       // nil: the port serves no TLS and every CONNECT is refused
	leaf  *x509.Certificate // the certificate whose names may be tunnelled to
	names string            // its names, for the refusal message
	ln    *sniffListener    // takes the tunnelled connections
}

// withTunnels wraps next with CONNECT handling. cfg and ln are nil when the
// port serves no TLS.
func (s *Server) withTunnels(next http.Handler, cfg *tls.Config, ln *sniffListener) http.Handler {
	t := &tunnels{s: s, next: next, tls: cfg, ln: ln}
	if cfg != nil && len(cfg.Certificates) > 0 {
		t.leaf = cfg.Certificates[0].Leaf
		if t.leaf == nil && len(cfg.Certificates[0].Certificate) > 0 {
			t.leaf, _ = x509.ParseCertificate(cfg.Certificates[0].Certificate[0])
		}
	}
	if t.leaf != nil {
		names := append([]string(nil), t.leaf.DNSNames...)
		for _, ip := range t.leaf.IPAddresses {
			names = append(names, ip.String())
		}
		t.names = strings.Join(names, ", ")
	}
	return t
}

func (t *tunnels) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodConnect {
		t.next.ServeHTTP(w, r)
		return
	}
	if t.leaf == nil || t.ln == nil {
		t.s.log.Warn("CONNECT refused: no TLS", "target", r.Host, "remote", r.RemoteAddr)
		t.s.writeError(w, &apiError{Status: http.StatusMethodNotAllowed, Code: "INVALID_REQUEST",
			Message: "CONNECT is served only when the emulator serves TLS (p1ctl emulator --tls); it is not a proxy."})
		return
	}
	if !t.allowed(r.Host) {
		t.s.log.Warn("CONNECT refused: not one of the emulator's names", "target", r.Host, "remote", r.RemoteAddr)
		t.s.writeError(w, &apiError{Status: http.StatusForbidden, Code: "ACCESS_FAILED",
			Message: fmt.Sprintf("CONNECT to %q is refused: the emulator tunnels only to its own names on port 443 (%s) and is not an open proxy.", r.Host, t.names)})
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok { // HTTP/2 has no hijacking; clients send CONNECT over HTTP/1.1
		t.s.writeError(w, &apiError{Status: http.StatusMethodNotAllowed, Code: "INVALID_REQUEST",
			Message: "CONNECT is served over HTTP/1.1 only."})
		return
	}
	conn, brw, err := hj.Hijack()
	if err != nil {
		t.s.log.Warn("CONNECT: hijack", "target", r.Host, "err", err)
		return
	}
	_ = conn.SetDeadline(time.Time{})
	if _, err := brw.WriteString(connectEstablished); err != nil {
		conn.Close()
		return
	}
	if err := brw.Flush(); err != nil {
		conn.Close()
		return
	}
	// A client may send its ClientHello without waiting for the 200; the
	// server may already have buffered it.
	var c net.Conn = conn
	if n := brw.Reader.Buffered(); n > 0 {
		b, _ := brw.Reader.Peek(n)
		c = &prefixConn{Conn: conn, prefix: bytes.Clone(b)}
	}
	t.s.log.Debug("CONNECT tunnel opened", "target", r.Host, "remote", r.RemoteAddr)
	t.ln.inject(tls.Server(c, t.tls))
}

// allowed reports whether target (host:port of a CONNECT) is one of the
// certificate's names (wildcards included) on port 443.
func (t *tunnels) allowed(target string) bool {
	host, port, err := net.SplitHostPort(target)
	if err != nil || port != "443" || host == "" {
		return false
	}
	return t.leaf.VerifyHostname(host) == nil
}
