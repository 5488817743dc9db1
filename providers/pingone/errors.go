package pingone

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// APIError is PingOne's error envelope (reference §3.5) with the HTTP status
// it came with. Its text is one line: status, code, message and the details'
// messages. It never holds a request body.
type APIError struct {
	Status  int
	Code    string // e.g. INVALID_DATA, ACCESS_FAILED, NOT_FOUND
	Message string
	Details []ErrorDetail
	// ID is PingOne's id of the error, for support requests.
	ID string
	// Method and Route say which call failed, e.g. "POST" and
	// "/environments/{id}/users"; ids are kept, queries dropped.
	Method, Route string
}

// ErrorDetail is one entry of an error's details.
type ErrorDetail struct {
	Code    string // e.g. UNIQUENESS_VIOLATION, INVALID_VALUE, INVALID_TOKEN
	Target  string // the attribute it is about, e.g. "name"
	Message string
}

func (e *APIError) Error() string {
	var b strings.Builder
	if e.Method != "" {
		fmt.Fprintf(&b, "%s %s: ", e.Method, e.Route)
	}
	fmt.Fprintf(&b, "%d", e.Status)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	b.WriteString(": " + oneLine(msg))
	for _, d := range e.Details {
		b.WriteString(" [")
		if d.Target != "" {
			b.WriteString(d.Target + ": ")
		}
		m := d.Message
		if m == "" {
			m = d.Code
		}
		b.WriteString(oneLine(m) + "]")
	}
	if e.ID != "" {
		b.WriteString(" (error id " + e.ID + ")")
	}
	return b.String()
}

// Forbidden reports a 403: the actor lacks a role for the call. The engine
// asks for it to name the missing role.
func (e *APIError) Forbidden() bool { return e.Status == 403 }

// HasDetail reports whether one of the error's details has code.
func (e *APIError) HasDetail(code string) bool {
	for _, d := range e.Details {
		if d.Code == code {
			return true
		}
	}
	return false
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// decodeAPIError reads an error envelope. A body that is not one (a proxy's
// HTML page) leaves Code empty; the body itself is never kept.
func decodeAPIError(status int, body []byte) *APIError {
	var env struct {
		ID      string `json:"id"`
		Code    string `json:"code"`
		Message string `json:"message"`
		Details []struct {
			Code    string `json:"code"`
			Target  string `json:"target"`
			Message string `json:"message"`
		} `json:"details"`
	}
	e := &APIError{Status: status}
	if json.Unmarshal(body, &env) != nil {
		return e
	}
	e.ID, e.Code, e.Message = env.ID, env.Code, env.Message
	for _, d := range env.Details {
		e.Details = append(e.Details, ErrorDetail(d))
	}
	return e
}

func asAPIError(err error) *APIError {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae
	}
	return nil
}

// IsNotFound reports whether err is PingOne's 404.
func IsNotFound(err error) bool {
	ae := asAPIError(err)
	return ae != nil && ae.Status == http.StatusNotFound
}

// IsForbidden reports whether err is a 403: a missing role, or an
// environment that does not exist (PingOne answers 403 for those).
func IsForbidden(err error) bool {
	ae := asAPIError(err)
	return ae != nil && ae.Status == http.StatusForbidden
}

// IsUnauthorized reports whether err is a 401 (a bad or expired token).
func IsUnauthorized(err error) bool {
	ae := asAPIError(err)
	return ae != nil && ae.Status == http.StatusUnauthorized
}

// IsRateLimited reports whether err is a 429 that outlasted the retries.
func IsRateLimited(err error) bool {
	ae := asAPIError(err)
	return ae != nil && ae.Status == http.StatusTooManyRequests
}

// IsUniquenessViolation reports whether err says the natural key is taken
// (400 with detail UNIQUENESS_VIOLATION; 409 is accepted too).
func IsUniquenessViolation(err error) bool {
	ae := asAPIError(err)
	return ae != nil && (ae.Status == http.StatusConflict || ae.HasDetail("UNIQUENESS_VIOLATION"))
}

// IsInvalidData reports whether err is a validation failure (400
// INVALID_DATA).
func IsInvalidData(err error) bool {
	ae := asAPIError(err)
	return ae != nil && ae.Status == http.StatusBadRequest && ae.Code == "INVALID_DATA"
}

// TokenError is a failure to get an access token. It carries the OAuth
// error code and description, never the credentials or the body.
type TokenError struct {
	Status      int    // 0 when no response came
	Code        string // RFC 6749 error, e.g. invalid_client
	Description string
	Err         error // the transport error when no response came
}

func (e *TokenError) Error() string {
	if e.Status == 0 {
		return "get access token: " + e.Err.Error()
	}
	s := fmt.Sprintf("get access token: %d", e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Description != "" {
		s += ": " + oneLine(e.Description)
	}
	if e.Status == http.StatusUnauthorized {
		s += " (check PINGONE_CLIENT_ID, PINGONE_CLIENT_SECRET and PINGONE_ENVIRONMENT_ID)"
	}
	return s
}

func (e *TokenError) Unwrap() error { return e.Err }

// ConfigError is a configuration problem; Var names the environment
// variable (or Config field) at fault.
type ConfigError struct {
	Var string
	Msg string
}

func (e *ConfigError) Error() string { return e.Var + ": " + e.Msg }
