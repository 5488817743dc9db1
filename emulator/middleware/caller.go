package middleware

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// Limits on what Caller looks at, so that a hostile request cannot make it
// expensive.
const (
	maxCallerLen = 128      // longer identities are cut
	maxTokenLen  = 16 << 10 // bearer tokens longer than this are not decoded
	maxFormPeek  = 64 << 10 // form bodies longer than this are not parsed
)

// Caller identifies who sent r, for logging and rate limiting:
//
//   - Authorization: Basic: the client id (the user name), never the secret;
//   - Authorization: Bearer with a JWT: its client_id claim, or else its sub
//     claim;
//   - a form-encoded POST carrying client_id (client_secret_post): that
//     client_id;
//   - otherwise the remote IP address.
//
// The JWT is decoded WITHOUT verifying its signature, expiry or audience: a
// client can claim to be anyone here. The result is fit only for logs and for
// sharing out rate limits, never for authentication or authorization, which
// the server does separately on the verified token.
//
// To read a form-posted client_id, Caller reads up to 64 KiB of the body and
// replaces r.Body with a reader that yields the same bytes, so the handler
// still sees the whole body. Caller never returns secrets and cuts identities
// to 128 bytes.
func Caller(r *http.Request) string {
	if id := authHeaderCaller(r.Header.Get("Authorization")); id != "" {
		return cut(id)
	}
	if id := formCaller(r); id != "" {
		return cut(id)
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return cut(r.RemoteAddr)
}

func authHeaderCaller(h string) string {
	scheme, cred, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok {
		return ""
	}
	cred = strings.TrimSpace(cred)
	switch {
	case strings.EqualFold(scheme, "Basic"):
		raw, err := base64.StdEncoding.DecodeString(cred)
		if err != nil {
			return ""
		}
		id, _, ok := strings.Cut(string(raw), ":")
		if !ok {
			return ""
		}
		// RFC 6749 §2.3.1 form-encodes the client id inside Basic.
		if u, err := url.QueryUnescape(id); err == nil {
			id = u
		}
		return id
	case strings.EqualFold(scheme, "Bearer"):
		return jwtCaller(cred)
	}
	return ""
}

// jwtCaller returns the client_id (or sub) claim of an unverified JWT.
func jwtCaller(tok string) string {
	if len(tok) > maxTokenLen {
		return ""
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return ""
	}
	var claims struct {
		ClientID any `json:"client_id"`
		Sub      any `json:"sub"`
	}
	if json.Unmarshal(payload, &claims) != nil {
		return ""
	}
	if s, ok := claims.ClientID.(string); ok && s != "" {
		return s
	}
	if s, ok := claims.Sub.(string); ok {
		return s
	}
	return ""
}

// formCaller returns the client_id of a form-encoded POST body, leaving the
// body readable for the handler.
func formCaller(r *http.Request) string {
	if r.Method != http.MethodPost || r.Body == nil || r.Body == http.NoBody {
		return ""
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return ""
	}
	if r.ContentLength > maxFormPeek {
		return ""
	}
	buf, err := io.ReadAll(io.LimitReader(r.Body, maxFormPeek+1))
	r.Body = &replayBody{Reader: io.MultiReader(bytes.NewReader(buf), errReader{err}, r.Body), Closer: r.Body}
	if err != nil || len(buf) > maxFormPeek {
		return ""
	}
	form, err := url.ParseQuery(string(buf))
	if err != nil {
		return ""
	}
	return form.Get("client_id")
}

// replayBody gives back the bytes Caller read, then the rest of the body.
type replayBody struct {
	io.Reader
	io.Closer
}

// errReader returns err once the peeked bytes are used up, so a read error
// seen while peeking reaches the handler too; a nil err reads as EOF.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	return 0, io.EOF
}

func cut(s string) string {
	if len(s) > maxCallerLen {
		return s[:maxCallerLen]
	}
	return s
}
