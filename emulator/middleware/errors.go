package middleware

import (
	"encoding/json"
	"github.com/google/uuid"
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
	}{uuid.NewString(), code, message}) // cannot fail: three strings
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Del("Content-Length")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
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
