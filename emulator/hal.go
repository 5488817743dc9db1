package emulator

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/p1ctl/p1ctl/emulator/store"
)

// contentTypeJSON is what PingOne answers with. The public Go SDK refuses
// application/hal+json (pingone-api.md §8.1).
const contentTypeJSON = "application/json;charset=UTF-8"

// links maps a rel to an absolute href. Rendered with "self" first, then the
// other rels sorted, so output is deterministic.
type links map[string]string

func (l links) appendJSON(b *bytes.Buffer) {
	rels := make([]string, 0, len(l))
	for rel := range l {
		if rel != "self" {
			rels = append(rels, rel)
		}
	}
	sort.Strings(rels)
	if _, ok := l["self"]; ok {
		rels = append([]string{"self"}, rels...)
	}
	b.WriteByte('{')
	for i, rel := range rels {
		if i > 0 {
			b.WriteByte(',')
		}
		writeJSONString(b, rel)
		b.WriteString(`:{"href":`)
		writeJSONString(b, l[rel])
		b.WriteByte('}')
	}
	b.WriteByte('}')
}

func writeJSONString(b *bytes.Buffer, s string) {
	enc, _ := json.Marshal(s)
	b.Write(enc)
}

// apiBase is the management API base for links, on the host the client
// asked for: http(s)://HOST/v1.
func apiBase(r *http.Request) string { return origin(r) + "/v1" }

// authBase is the auth API base for links and token issuers.
func authBase(r *http.Request) string { return origin(r) }

func origin(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// appendHAL writes doc (a JSON object) with _links spliced in as its first
// member, without decoding doc again.
func appendHAL(b *bytes.Buffer, doc json.RawMessage, l links) {
	doc = bytes.TrimSpace(doc)
	b.WriteString(`{"_links":`)
	l.appendJSON(b)
	if len(doc) > 2 { // not "{}"
		b.WriteByte(',')
		b.Write(doc[1:])
	} else {
		b.WriteByte('}')
	}
}

// writeObject writes one HAL object.
func writeObject(w http.ResponseWriter, status int, doc json.RawMessage, l links) {
	var b bytes.Buffer
	appendHAL(&b, doc, l)
	w.Header().Set("Content-Type", contentTypeJSON)
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// writeJSON writes v as a plain JSON body (token endpoint, JWKS, control
// endpoints).
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil { // our own wire structs: a bug, answered as JSON all the same
		status = http.StatusInternalServerError
		b = []byte(`{"code":"UNEXPECTED_ERROR","message":"` + msgUnexpected + `"}`)
	}
	w.Header().Set("Content-Type", contentTypeJSON)
	w.WriteHeader(status)
	w.Write(b)
}

// collection is one page of a HAL collection under _embedded.<Name>.
type collection struct {
	Name  string
	Items []json.RawMessage // each already a HAL object (see appendHAL)
	Count int               // total matching objects
	Self  string
	Next  string // "" on the last page
}

func writeCollection(w http.ResponseWriter, c collection) {
	var b bytes.Buffer
	b.WriteString(`{"_links":`)
	l := links{"self": c.Self}
	if c.Next != "" {
		l["next"] = c.Next
	}
	l.appendJSON(&b)
	b.WriteString(`,"_embedded":{`)
	writeJSONString(&b, c.Name)
	b.WriteString(`:[`)
	for i, it := range c.Items {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(it)
	}
	b.WriteString(`]},"count":`)
	b.WriteString(strconv.Itoa(c.Count))
	b.WriteString(`,"size":`)
	b.WriteString(strconv.Itoa(len(c.Items)))
	b.WriteByte('}')
	w.Header().Set("Content-Type", contentTypeJSON)
	w.WriteHeader(http.StatusOK)
	w.Write(b.Bytes())
}

// paging is a parsed limit/cursor pair.
type paging struct {
	Limit int
	After int64
}

// parsePaging reads ?limit= and ?cursor=. def is the page size when limit is
// absent, max the largest page served (a larger limit is capped, as PingOne
// caps server page sizes; clients rely on size, not on limit).
func parsePaging(r *http.Request, def, max int) (paging, *apiError) {
	p := paging{Limit: def}
	q := r.URL.Query()
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return p, errInvalid(errorDetail{Code: "INVALID_VALUE", Target: "limit",
				Message:    "limit must be a positive whole number",
				InnerError: map[string]any{"rangeMinimumValue": 1, "rangeMaximumValue": max}})
		}
		p.Limit = min(n, max)
	}
	if v := q.Get("cursor"); v != "" {
		raw, err := base64.RawURLEncoding.DecodeString(v)
		if err == nil {
			p.After, err = strconv.ParseInt(strings.TrimPrefix(string(raw), "s:"), 10, 64)
		}
		if err != nil || !strings.HasPrefix(string(raw), "s:") {
			return p, errInvalid(errorDetail{Code: "INVALID_VALUE", Target: "cursor", Message: "cursor is not valid"})
		}
	}
	return p, nil
}

// nextLink returns the absolute URL of the page after the last item, keeping
// the request's other query parameters (filter, limit).
func nextLink(r *http.Request, last store.Object) string {
	q := r.URL.Query()
	q.Set("cursor", base64.RawURLEncoding.EncodeToString([]byte("s:"+strconv.FormatInt(last.Seq, 10))))
	return origin(r) + r.URL.Path + "?" + q.Encode()
}

// selfLink is the absolute URL of the request itself.
func selfLink(r *http.Request) string {
	u := url.URL{Path: r.URL.Path, RawQuery: r.URL.RawQuery}
	return origin(r) + u.String()
}
