// Package diff compares a desired object with its live counterpart, field by
// field, and returns data: which fields change, from what to what, whether a
// change is sensitive or forces replacement. It never formats for people;
// engine/render does.
//
// Only fields the desired side sets are compared, so server defaults and
// fields a user left out are never drift. It uses only the standard library
// and go-cmp (for equality of decoded JSON values).
package diff
