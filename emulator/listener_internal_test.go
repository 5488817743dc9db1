package emulator

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/p1ctl/p1ctl/emulator/certs"
)

func TestListenerSniffsFirstByte(t *testing.T) {
	t.Parallel()
	bundle, err := certs.Ensure(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := newSniffListener(inner, bundle.TLSConfig())
	t.Cleanup(func() { l.Close() })
	addr := inner.Addr().String()

	// A client that connects and says nothing must not hold up the others.
	silent, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()

	plain, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if _, err := io.WriteString(plain, "GET / HTTP/1.1\r\n"); err != nil {
		t.Fatal(err)
	}
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.(*tls.Conn); ok {
		t.Error("plain HTTP came out as a *tls.Conn")
	}
	got := make([]byte, len("GET / HTTP/1.1\r\n"))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "GET / HTTP/1.1\r\n" {
		t.Errorf("plain connection reads %q, %v; want the request line with its first byte put back", got, err)
	}
	c.Close()

	hs := make(chan error, 1)
	go func() {
		tc, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: bundle.CertPool(), ServerName: "localhost"})
		if err == nil {
			tc.Close()
		}
		hs <- err
	}()
	c, err = l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	tc, ok := c.(*tls.Conn)
	if !ok {
		t.Fatalf("a TLS handshake came out as %T, want *tls.Conn", c)
	}
	if err := tc.Handshake(); err != nil {
		t.Errorf("server handshake: %v", err)
	}
	if err := <-hs; err != nil {
		t.Errorf("client handshake: %v", err)
	}
	tc.Close()

	// Close drops the silent connection and ends Accept.
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close: %v, want net.ErrClosed", err)
	}
	silent.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := silent.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("silent connection after Close: %v, want EOF", err)
	}
}

func TestListenerInjectAfterCloseClosesConn(t *testing.T) {
	t.Parallel()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := newSniffListener(inner, nil)
	l.Close()
	a, b := net.Pipe()
	defer b.Close()
	l.inject(a)
	if _, err := a.Write([]byte{1}); !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("injected connection after Close: write %v, want it closed", err)
	}
}
