package middleware

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
)

// ErrorWriter writes PingOne's error envelope with the given status, code and
// message. Middleware sets any extra headers (Retry-After) on w before calling
// it. The server supplies its own writer so that one function produces every
// error body; [WriteError] is the default.
type ErrorWriter func(w http.ResponseWriter, r *http.Request, status int, code, message string)

// Error codes and messages the middleware answers with.
const (
	CodeRequestLimited  = "REQUEST_LIMITED"
	CodeUnexpectedError = "UNEXPECTED_ERROR"

	MessageRequestLimited  = "The request could not be completed. You have exceeded the request rate limit."
	MessageUnexpectedError = "The request could not be completed. An unexpected error occurred."
)

// WriteError is the default ErrorWriter: it writes
// {"id":"<uuid>","code":code,"message":message} with Content-Type
// application/json;charset=UTF-8 and a fresh random id, as PingOne does.
func WriteError(w http.ResponseWriter, _ *http.Request, status int, code, message string) {
	body, _ := json.Marshal(struct {
		ID      string `json:"id"`
		Code    string `json:"code"`
		Message string `json:"message"`
	}{newUUID(), code, message}) // cannot fail: three strings
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Del("Content-Length")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

func errorWriterOr(errw ErrorWriter) ErrorWriter {
	if errw == nil {
		return WriteError
	}
	return errw
}

// SpecError is the error ParseFaults and ParseRate return: which item of the
// specification is wrong and why.
type SpecError struct {
	Kind string // "faults" or "rate"
	Item string // the offending item as written, e.g. "5xx=1.5"
	Msg  string // what is wrong with it
}

func (e *SpecError) Error() string {
	return e.Kind + " " + strconv.Quote(e.Item) + ": " + e.Msg
}
