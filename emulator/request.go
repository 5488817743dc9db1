package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
)

// maxBody bounds request bodies; PingOne's objects are small.
const maxBody = 1 << 20

// mediaType returns the request's media type, lower-cased, without
// parameters such as ;charset=UTF-8 (which PingOne tolerates).
func mediaType(r *http.Request) string {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(strings.SplitN(ct, ";", 2)[0]))
	}
	return mt
}

// decodeJSON reads a JSON body of one of the allowed media types into v
// (application/json when none are given). Unknown fields are ignored, as
// PingOne ignores read-only and unknown attributes; fields of the wrong JSON
// type are a validation error naming the field.
func decodeJSON(r *http.Request, v any, allowed ...string) *apiError {
	if len(allowed) == 0 {
		allowed = []string{"application/json"}
	}
	if mt := mediaType(r); !slices.Contains(allowed, mt) {
		return errUnsupportedMedia(r.Header.Get("Content-Type"))
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return errRequest("The request could not be completed. The request body could not be read.")
	}
	if len(body) > maxBody {
		return errRequest("The request could not be completed. The request body is too large.")
	}
	return unmarshalBody(body, v)
}

func unmarshalBody(body []byte, v any) *apiError {
	if len(strings.TrimSpace(string(body))) == 0 {
		return errRequest("The request could not be completed. The request body is empty.")
	}
	err := json.Unmarshal(body, v)
	var te *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &te):
		target := te.Field
		if target == "" {
			target = "body"
		}
		return errInvalid(errorDetail{Code: "INVALID_VALUE", Target: target,
			Message: fmt.Sprintf("%s must be a JSON %s, not %s", target, jsonTypeName(te.Type.Kind().String()), te.Value)})
	default:
		return errRequest("The request could not be completed. The request body is not valid JSON.")
	}
}

func jsonTypeName(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "slice", "array":
		return "array"
	case "struct", "map", "ptr":
		return "object"
	default:
		return "number"
	}
}

// checker collects validation problems into one INVALID_DATA error, the way
// PingOne reports every bad field of a request at once.
type checker struct {
	details []errorDetail
}

func (c *checker) add(code, target, msg string, inner map[string]any) {
	c.details = append(c.details, errorDetail{Code: code, Target: target, Message: msg, InnerError: inner})
}

// required reports target as missing unless ok.
func (c *checker) required(target string, ok bool) {
	if !ok {
		c.add("REQUIRED_VALUE", target, fmt.Sprintf("%s is required and cannot be empty.", target), nil)
	}
}

// enum checks that v (when set) is one of allowed.
func (c *checker) enum(target, v string, allowed ...string) {
	if v != "" && !slices.Contains(allowed, v) {
		c.add("INVALID_VALUE", target, fmt.Sprintf("%s must be one of %s.", target, strings.Join(allowed, ", ")),
			map[string]any{"allowedValues": allowed})
	}
}

// enumAll checks every element of vs.
func (c *checker) enumAll(target string, vs []string, allowed ...string) {
	for _, v := range vs {
		c.enum(target, v, allowed...)
	}
}

// size checks a string's length in [lo, hi].
func (c *checker) size(target, v string, lo, hi int) {
	if n := len([]rune(v)); v != "" && (n < lo || n > hi) {
		c.add("SIZE_LIMIT_EXCEEDED", target, fmt.Sprintf("%s must be between %d and %d characters.", target, lo, hi),
			map[string]any{"rangeMinimumValue": lo, "rangeMaximumValue": hi})
	}
}

// rangeInt checks a number in [lo, hi].
func (c *checker) rangeInt(target string, v, lo, hi int) {
	if v < lo || v > hi {
		c.add("OUT_OF_RANGE", target, fmt.Sprintf("%s must be between %d and %d.", target, lo, hi),
			map[string]any{"rangeMinimumValue": lo, "rangeMaximumValue": hi})
	}
}

func (c *checker) err() *apiError {
	if len(c.details) == 0 {
		return nil
	}
	return errInvalid(c.details...)
}
