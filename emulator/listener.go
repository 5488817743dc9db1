package emulator

import (
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"time"
)

// tlsRecordHandshake is the first byte of every TLS connection: the record
// type of the ClientHello. No HTTP/1 request line starts with it.
const tlsRecordHandshake = 0x16

// sniffListener serves TLS and plain HTTP on one port. Each accepted
// connection is classified by its first byte: a TLS handshake comes out of
// Accept as a *tls.Conn (so http.Server completes the handshake, negotiates
// h2 and sets r.TLS), anything else as the plain connection with that byte
// put back in front.
//
// The first byte is read in a goroutine per connection, so a client that
// connects and says nothing never holds up Accept; it is dropped after
// sniffTimeout. Connections tunnelled through CONNECT are handed back to
// Accept with inject, so the http.Server that serves the port tracks them
// and its Shutdown waits for (or closes) them like any other.
//
// Close closes the inner listener and every connection not yet returned by
// Accept. Safe for concurrent use.
type sniffListener struct {
	inner   net.Listener
	tls     *tls.Config
	timeout time.Duration

	conns chan net.Conn
	errs  chan error
	done  chan struct{}
	once  sync.Once
	start sync.Once

	mu      sync.Mutex
	pending map[net.Conn]struct{} // being sniffed or waiting for Accept
}

// sniffTimeout bounds the wait for a client's first byte; it matches the
// server's ReadHeaderTimeout.
const sniffTimeout = 10 * time.Second

func newSniffListener(inner net.Listener, cfg *tls.Config) *sniffListener {
	return &sniffListener{
		inner:   inner,
		tls:     cfg,
		timeout: sniffTimeout,
		conns:   make(chan net.Conn),
		errs:    make(chan error, 1),
		done:    make(chan struct{}),
		pending: make(map[net.Conn]struct{}),
	}
}

// Accept returns the next classified connection.
func (l *sniffListener) Accept() (net.Conn, error) {
	l.start.Do(func() { go l.acceptLoop() })
	select {
	case c := <-l.conns:
		return c, nil
	case err := <-l.errs:
		return nil, err
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *sniffListener) acceptLoop() {
	var tempDelay time.Duration
	for {
		c, err := l.inner.Accept()
		if err != nil {
			var ne interface{ Temporary() bool }
			if errors.As(err, &ne) && ne.Temporary() && !errors.Is(err, net.ErrClosed) {
				// Back off as http.Server does, without handing it the error.
				tempDelay = min(max(2*tempDelay, 5*time.Millisecond), time.Second)
				select {
				case <-time.After(tempDelay):
					continue
				case <-l.done:
					return
				}
			}
			select {
			case l.errs <- err:
			case <-l.done:
			}
			return
		}
		tempDelay = 0
		if !l.track(c) {
			return
		}
		go l.sniff(c)
	}
}

// track records c as pending; it closes c and reports false once the
// listener is closed.
func (l *sniffListener) track(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case <-l.done:
		c.Close()
		return false
	default:
	}
	l.pending[c] = struct{}{}
	return true
}

func (l *sniffListener) untrack(c net.Conn) {
	l.mu.Lock()
	delete(l.pending, c)
	l.mu.Unlock()
}

func (l *sniffListener) sniff(c net.Conn) {
	var b [1]byte
	_ = c.SetReadDeadline(time.Now().Add(l.timeout))
	_, err := c.Read(b[:]) // a Read of one byte returns it or an error
	_ = c.SetReadDeadline(time.Time{})
	if err != nil {
		l.untrack(c)
		c.Close()
		return
	}
	var out net.Conn = &prefixConn{Conn: c, prefix: b[:]}
	if b[0] == tlsRecordHandshake {
		out = tls.Server(out, l.tls)
	}
	l.hand(c, out)
}

// hand passes out (which wraps the tracked raw) to Accept, or closes it
// when the listener closes first.
func (l *sniffListener) hand(raw, out net.Conn) {
	defer l.untrack(raw)
	select {
	case l.conns <- out:
	case <-l.done:
		out.Close()
	}
}

// inject hands c, a connection already classified (a tunnel opened by
// CONNECT), to Accept. It closes c if the listener is closed.
func (l *sniffListener) inject(c net.Conn) {
	if !l.track(c) {
		return
	}
	l.hand(c, c)
}

// Close stops accepting and closes every connection Accept has not
// returned yet. Connections already returned belong to the server.
func (l *sniffListener) Close() error {
	var err error
	l.once.Do(func() {
		l.mu.Lock()
		close(l.done)
		for c := range l.pending {
			c.Close()
		}
		l.mu.Unlock()
		err = l.inner.Close()
	})
	return err
}

func (l *sniffListener) Addr() net.Addr { return l.inner.Addr() }

// prefixConn is a net.Conn whose first Reads return prefix (bytes already
// read from Conn, or buffered by a hijacked http.Server connection).
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}
