package emulator

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// apiError is PingOne's error envelope (pingone-api.md §3.5) with its HTTP
// status. Handlers return one; writeError is the only code that writes it.
type apiError struct {
	Status  int           `json:"-"`
	Code    string        `json:"code"`
	Message string        `json:"message"`
	Details []errorDetail `json:"details,omitempty"`
}

type errorDetail struct {
	Code       string         `json:"code"`
	Target     string         `json:"target,omitempty"`
	Message    string         `json:"message"`
	InnerError map[string]any `json:"innerError,omitempty"`
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// Messages PingOne clients have been seen to match on.
const (
	msgInvalidData   = "The request could not be completed. One or more validation errors were in the request."
	msgNotFound      = "The request could not be completed. The requested resource was not found."
	msgNoAccess      = "The request could not be completed. You do not have access to this resource."
	msgNotAuthorized = "The actor attempting to perform the request is not authorized."
	msgBadToken      = "The request could not be completed. The authorization token is either missing or invalid, or it has expired."
	msgUnexpected    = "An unexpected error has occurred."
)

func errNotFound() *apiError {
	return &apiError{Status: http.StatusNotFound, Code: "NOT_FOUND", Message: msgNotFound}
}

// errNotFoundID is the message PingOne gives for an unknown object id.
func errNotFoundID(kind, id string) *apiError {
	return &apiError{Status: http.StatusNotFound, Code: "NOT_FOUND",
		Message: fmt.Sprintf("Unable to find %s with ID: '%s'", kind, id)}
}

func errBadToken() *apiError {
	return &apiError{Status: http.StatusUnauthorized, Code: "ACCESS_FAILED", Message: msgBadToken,
		Details: []errorDetail{{Code: "INVALID_TOKEN", Target: "Authentication Credentials", Message: msgBadToken}}}
}

// errForbidden is the answer for a caller without the role a call needs,
// and for an environment the caller cannot see (PingOne answers 403, not
// 404, for a missing environment in a sub-resource URL).
func errForbidden() *apiError {
	return &apiError{Status: http.StatusForbidden, Code: "ACCESS_FAILED", Message: msgNoAccess,
		Details: []errorDetail{{Code: "INSUFFICIENT_PERMISSIONS", Message: msgNotAuthorized}}}
}

// errNotAuthorized is PingOne's 403 for an actor that lacks a role, e.g.
// reading the secret of an app that holds more roles than the actor.
func errNotAuthorized() *apiError {
	return &apiError{Status: http.StatusForbidden, Code: "ACCESS_FAILED", Message: msgNotAuthorized,
		Details: []errorDetail{{Code: "INSUFFICIENT_PERMISSIONS", Message: msgNotAuthorized}}}
}

func errInvalid(details ...errorDetail) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: "INVALID_DATA", Message: msgInvalidData, Details: details}
}

func errRequest(msg string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: "INVALID_REQUEST", Message: msg}
}

// errFailed is a semantic refusal (REQUEST_FAILED), e.g. deleting a
// PRODUCTION environment.
func errFailed(msg string, details ...errorDetail) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: "REQUEST_FAILED", Message: msg, Details: details}
}

func errUnsupportedMedia(got string) *apiError {
	return &apiError{Status: http.StatusUnsupportedMediaType, Code: "INVALID_REQUEST",
		Message: fmt.Sprintf("The request could not be completed. Content-Type %q is not supported for this request.", got)}
}

func errUnexpected() *apiError {
	return &apiError{Status: http.StatusInternalServerError, Code: "UNEXPECTED_ERROR", Message: msgUnexpected}
}

// errUnique is PingOne's answer for a taken natural key: 400 INVALID_DATA
// with a UNIQUENESS_VIOLATION detail (not 409).
func errUnique(target, existingID string) *apiError {
	d := errorDetail{Code: "UNIQUENESS_VIOLATION", Target: target,
		Message: fmt.Sprintf("%s must be unique. A resource with the specified %s already exists.", target, target)}
	if existingID != "" {
		d.InnerError = map[string]any{"existingId": existingID}
	}
	return errInvalid(d)
}

// writeError writes PingOne's error envelope with a fresh id. It is the only
// code that produces error bodies, the middleware's included.
func (s *Server) writeError(w http.ResponseWriter, e *apiError) {
	body := struct {
		ID string `json:"id"`
		*apiError
	}{s.ids.New(), e}
	b, err := json.Marshal(body)
	if err != nil {
		b = []byte(`{"code":"UNEXPECTED_ERROR","message":"` + msgUnexpected + `"}`)
	}
	w.Header().Set("Content-Type", contentTypeJSON)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(e.Status)
	w.Write(b)
}

// writeErrorStatus adapts writeError to the middleware's ErrorWriter.
func (s *Server) writeErrorStatus(w http.ResponseWriter, _ *http.Request, status int, code, message string) {
	s.writeError(w, &apiError{Status: status, Code: code, Message: message})
}
