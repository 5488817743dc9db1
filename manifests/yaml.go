package manifests

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/p1ctl/p1ctl/engine"
	"gopkg.in/yaml.v3"
)

// source is one manifest file.
type source struct {
	name  string
	data  []byte
	lines []int // byte offset of the start of every line; computed on demand
}

// lineCount returns the number of lines, as YAML counts them.
func (s *source) lineCount() int {
	s.split()
	return len(s.lines)
}

// line returns line n (1-based) without its line break, or "".
func (s *source) line(n int) string {
	s.split()
	if n < 1 || n > len(s.lines) {
		return ""
	}
	end := len(s.data)
	if n < len(s.lines) {
		end = s.lines[n]
	}
	return strings.TrimRight(string(s.data[s.lines[n-1]:end]), "\r\n\u0085\u2028\u2029")
}

// split finds where lines start. Like YAML, it takes \r\n, \r, \n, NEL (U+0085),
// LS (U+2028) and PS (U+2029) as line breaks, so line numbers agree with
// yaml.v3's.
func (s *source) split() {
	if s.lines != nil {
		return
	}
	s.lines = []int{0}
	d := s.data
	for i := 0; i < len(d); i++ {
		switch {
		case d[i] == '\r' && i+1 < len(d) && d[i+1] == '\n':
			i++
			s.lines = append(s.lines, i+1)
		case d[i] == '\r' || d[i] == '\n':
			s.lines = append(s.lines, i+1)
		case d[i] == 0xC2 && i+1 < len(d) && d[i+1] == 0x85:
			i++
			s.lines = append(s.lines, i+1)
		case d[i] == 0xE2 && i+2 < len(d) && d[i+1] == 0x80 && (d[i+2] == 0xA8 || d[i+2] == 0xA9):
			i += 2
			s.lines = append(s.lines, i+1)
		}
	}
}

// document is one YAML document of a manifest file, converted to the JSON
// value the schema validates, with the way back from JSON pointers to nodes.
type document struct {
	src   *source
	root  *yaml.Node
	value any
	// index maps the RFC 6901 pointer of every value to its node and, for a
	// mapping member, its key node. Values reached through an alias map to
	// the anchored node, where the text actually is.
	index map[string]entry
	// vars holds, for each scalar whose value came from variables, their
	// names. Messages about such a scalar never quote it.
	vars map[*yaml.Node][]string
	// literalDefault marks scalars with a ${NAME:-default} whose default is
	// not empty: text in the manifest.
	literalDefault map[*yaml.Node]bool
	// unresolved marks scalars with a variable that could not be replaced;
	// schema violations about them would only repeat that problem.
	unresolved map[*yaml.Node]bool
}

type entry struct {
	key   *yaml.Node // nil for list items and the document root
	value *yaml.Node
}

func (d *document) posOf(n *yaml.Node) Pos {
	if n == nil {
		return Pos{File: d.src.name, Line: 1, Col: 1}
	}
	return Pos{File: d.src.name, Line: max(n.Line, 1), Col: max(n.Column, 1)}
}

// valuePos returns the position of the value at ptr, or of the nearest
// ancestor that has one.
func (d *document) valuePos(ptr string) Pos {
	for {
		if e, ok := d.index[ptr]; ok {
			return d.posOf(e.value)
		}
		if ptr == "" {
			return d.posOf(d.root)
		}
		ptr = ptr[:strings.LastIndexByte(ptr, '/')]
	}
}

// keyPos returns the position of the key of the member at ptr, or of its
// value when it has no key (list items, the root).
func (d *document) keyPos(ptr string) Pos {
	if e, ok := d.index[ptr]; ok && e.key != nil {
		return d.posOf(e.key)
	}
	return d.valuePos(ptr)
}

// fromVars returns the names of the variables the value at ptr came from.
func (d *document) fromVars(ptr string) []string {
	if e, ok := d.index[ptr]; ok {
		return d.vars[e.value]
	}
	return nil
}

// escapeToken escapes a JSON pointer token (RFC 6901).
func escapeToken(t string) string {
	if !strings.ContainsAny(t, "~/") {
		return t
	}
	return strings.ReplaceAll(strings.ReplaceAll(t, "~", "~0"), "/", "~1")
}

func unescapeToken(t string) string {
	return strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
}

// addrOf names the resource a pointer falls in, such as "users.alice", or
// its top-level key, or "manifest" for the document itself.
func addrOf(ptr string) string {
	if ptr == "" {
		return "manifest"
	}
	tokens := strings.SplitN(ptr[1:], "/", 3)
	kind := unescapeToken(tokens[0])
	if len(tokens) >= 2 && slices.Contains(engine.Kinds, kind) {
		return engine.Address{Kind: kind, Key: unescapeToken(tokens[1])}.String()
	}
	return kind
}

// aliasBudget bounds how many nodes a document may expand through aliases,
// so that a few lines of nested aliases ("billion laughs") cannot exhaust
// memory.
const aliasBudget = 100_000

// converter turns a YAML node tree into a JSON value, substituting variables
// in scalar values, and records problems: duplicate keys, bad aliases and
// tags, unresolved variables.
type converter struct {
	doc       *document
	vars      variables
	problems  []Problem
	budget    int
	inAlias   int                 // depth of alias expansion
	inMerge   int                 // depth of merge key expansion
	active    map[*yaml.Node]bool // anchored nodes being converted
	expanded  map[*yaml.Node]bool // scalars already substituted
	outer     *yaml.Node          // the outermost alias or merge being expanded
	overspent bool
}

// overspend reports, once, that aliases expand to too much, at the
// outermost alias that led there.
func (c *converter) overspend(ptr string) {
	if !c.overspent {
		c.overspent = true
		c.problem(c.outer, ptr, "aliases expand to more than %d nodes", aliasBudget)
	}
}

func convert(src *source, root *yaml.Node, vars variables) (*document, []Problem) {
	d := &document{
		src:  src,
		root: root,
		// Sizing the index up front saves rehashing it as it grows, which
		// large manifests feel.
		index:          make(map[string]entry, countNodes(root)),
		vars:           map[*yaml.Node][]string{},
		literalDefault: map[*yaml.Node]bool{},
		unresolved:     map[*yaml.Node]bool{},
	}
	c := &converter{doc: d, vars: vars, budget: aliasBudget, active: map[*yaml.Node]bool{}, expanded: map[*yaml.Node]bool{}}
	d.value = c.value(root, "", nil)
	return d, c.problems
}

// countNodes counts the values of a tree, without following aliases.
func countNodes(n *yaml.Node) int {
	count := 1
	if n.Kind == yaml.MappingNode {
		count = 1 - len(n.Content)/2 // keys are not values
	}
	for _, child := range n.Content {
		count += countNodes(child)
	}
	return count
}

func (c *converter) problem(n *yaml.Node, ptr string, format string, args ...any) {
	c.problems = append(c.problems, at(c.doc.posOf(n), addrOf(ptr), Error, format, args...))
}

func (c *converter) value(n *yaml.Node, ptr string, key *yaml.Node) any {
	if c.inAlias > 0 {
		if c.budget--; c.budget < 0 {
			c.overspend(ptr)
			return nil
		}
	}
	if n.Anchor != "" {
		c.active[n] = true
		defer delete(c.active, n)
	}
	switch n.Kind {
	case yaml.MappingNode:
		c.doc.index[ptr] = entry{key, n}
		return c.mapping(n, ptr)
	case yaml.SequenceNode:
		c.doc.index[ptr] = entry{key, n}
		out := make([]any, len(n.Content))
		for i, item := range n.Content {
			out[i] = c.value(item, ptr+"/"+strconv.Itoa(i), nil)
		}
		return out
	case yaml.ScalarNode:
		c.doc.index[ptr] = entry{key, n}
		return c.scalar(n, ptr)
	case yaml.AliasNode:
		t := n.Alias
		var v any
		switch {
		case t == nil:
			c.problem(n, ptr, "unknown alias *%s", n.Value)
		case c.active[t]:
			c.problem(n, ptr, "alias *%s refers to a node that contains it", n.Value)
		default:
			if c.inAlias == 0 {
				c.outer = n
			}
			c.inAlias++
			v = c.value(t, ptr, key)
			c.inAlias--
		}
		// The alias is where the value is used: point there, while
		// anything inside the anchored value keeps its own position.
		c.doc.index[ptr] = entry{key, n}
		return v
	case yaml.DocumentNode:
		if len(n.Content) > 0 {
			return c.value(n.Content[0], ptr, key)
		}
	}
	return nil
}

// pair is a mapping member.
type pair struct {
	name       string
	key, value *yaml.Node
}

func (c *converter) mapping(n *yaml.Node, ptr string) map[string]any {
	if !hasMergeKey(n) {
		return c.plainMapping(n, ptr)
	}
	explicit, merged := c.pairs(n, ptr)
	out := make(map[string]any, len(explicit)+len(merged))
	for _, p := range explicit {
		child := ptr + "/" + escapeToken(p.name)
		if _, dup := out[p.name]; dup {
			c.problem(p.key, child, "duplicate key %q (first defined at %s)", p.name, c.doc.posOf(c.doc.index[child].key))
			continue
		}
		out[p.name] = c.value(p.value, child, p.key)
	}
	// Merged members never override explicit ones, and among merged
	// mappings the earlier wins, as the YAML merge key type specifies.
	if len(merged) > 0 && c.inAlias == 0 {
		c.outer = merged[0].value
	}
	c.inAlias++ // merged values are copies: count them against the budget
	for _, p := range merged {
		if _, ok := out[p.name]; ok {
			continue
		}
		out[p.name] = c.value(p.value, ptr+"/"+escapeToken(p.name), p.key)
	}
	c.inAlias--
	return out
}

// plainMapping converts a mapping without merge keys, the common case,
// without building a list of its members first.
func (c *converter) plainMapping(n *yaml.Node, ptr string) map[string]any {
	out := make(map[string]any, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		name, ok := c.keyName(k, ptr)
		if !ok {
			continue
		}
		child := ptr + "/" + escapeToken(name)
		if _, dup := out[name]; dup {
			c.problem(k, child, "duplicate key %q (first defined at %s)", name, c.doc.posOf(c.doc.index[child].key))
			continue
		}
		out[name] = c.value(v, child, k)
	}
	return out
}

func hasMergeKey(n *yaml.Node) bool {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if isMergeKey(n.Content[i]) {
			return true
		}
	}
	return false
}

func isMergeKey(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Tag == "!!merge" && k.Style&yaml.TaggedStyle == 0
}

// pairs returns the members of mapping n: those written in it, and those
// brought in by merge keys (<<: *anchor), flattened in merge order.
func (c *converter) pairs(n *yaml.Node, ptr string) (explicit, merged []pair) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if isMergeKey(k) {
			merged = append(merged, c.mergeSources(v, ptr)...)
			continue
		}
		name, ok := c.keyName(k, ptr)
		if !ok {
			continue
		}
		explicit = append(explicit, pair{name, k, v})
	}
	return explicit, merged
}

func (c *converter) mergeSources(v *yaml.Node, ptr string) []pair {
	var sources []*yaml.Node
	if v.Kind == yaml.SequenceNode {
		sources = v.Content
	} else {
		sources = []*yaml.Node{v}
	}
	var out []pair
	for _, s := range sources {
		if c.budget < 0 {
			return out // already reported
		}
		t := s
		if s.Kind == yaml.AliasNode {
			if s.Alias == nil || c.active[s.Alias] {
				c.problem(s, ptr, "merge key << refers to a node that contains it")
				continue
			}
			t = s.Alias
		}
		if t.Kind != yaml.MappingNode {
			c.problem(s, ptr, "merge key << needs a mapping or a list of mappings")
			continue
		}
		if c.inAlias == 0 && c.inMerge == 0 {
			c.outer = s
		}
		c.active[t] = true
		c.inMerge++
		ex, mg := c.pairs(t, ptr)
		c.inMerge--
		delete(c.active, t)
		if c.budget -= len(ex) + len(mg); c.budget < 0 {
			c.overspend(ptr)
			return out
		}
		out = append(out, ex...)
		out = append(out, mg...)
	}
	return out
}

func (c *converter) keyName(k *yaml.Node, ptr string) (string, bool) {
	if k.Kind == yaml.AliasNode && k.Alias != nil {
		k = k.Alias
	}
	if k.Kind != yaml.ScalarNode {
		c.problem(k, ptr, "a mapping key must be a plain value, not a mapping or a list")
		return "", false
	}
	return k.Value, true
}

// scalar substitutes variables in n, once, and returns its JSON value.
func (c *converter) scalar(n *yaml.Node, ptr string) any {
	substituted := c.doc.vars[n] != nil
	if strings.IndexByte(n.Value, '$') >= 0 && !c.expanded[n] {
		c.expanded[n] = true
		orig := n.Value
		out, used, bad := c.vars.expand(orig)
		n.Value = out
		if len(used) > 0 {
			c.doc.vars[n] = slices.Compact(used)
			substituted = true
		}
		if hasLiteralDefault(orig) {
			c.doc.literalDefault[n] = true
		}
		for _, b := range bad {
			c.doc.unresolved[n] = true
			pos := c.refPos(n, orig, b.offset)
			if b.invalid {
				c.problems = append(c.problems, at(pos, addrOf(ptr), Error,
					"invalid variable reference: write ${NAME} or ${NAME:-default}, and $${ for a literal ${"))
			} else {
				c.problems = append(c.problems, at(pos, addrOf(ptr), Error,
					"variable %s is not set (set it in the environment or in a --var-file)", b.name))
			}
		}
	}
	if n.Style&yaml.TaggedStyle != 0 {
		return c.tagged(n, ptr)
	}
	if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return n.Value
	}
	if substituted && n.Value == "" {
		return "" // ${X:-} means "empty", not null
	}
	return resolvePlain(n.Value)
}

var literalDefaultRE = regexp.MustCompile(`(^|[^$])\$\{[A-Za-z_][A-Za-z0-9_]*:-[^}]`)

func hasLiteralDefault(s string) bool { return literalDefaultRE.MatchString(s) }

// refPos returns the position of the variable reference at byte offset off
// of the original scalar value orig. It is exact when the scalar fits on one
// line, and the scalar's own position otherwise.
func (c *converter) refPos(n *yaml.Node, orig string, off int) Pos {
	pos := c.doc.posOf(n)
	if strings.ContainsAny(orig, "\n") || n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return pos
	}
	ref := orig[off:]
	if end := strings.IndexByte(ref, '}'); end >= 0 {
		ref = ref[:end+1]
	}
	nth := strings.Count(orig[:off], ref)
	line := c.doc.src.line(n.Line)
	// Columns count characters; find the scalar's start in bytes.
	start := 0
	for col := 1; col < n.Column && start < len(line); col++ {
		_, size := utf8.DecodeRuneInString(line[start:])
		start += size
	}
	if start > len(line) {
		return pos
	}
	rest := line[start:]
	idx := 0
	for i := 0; ; i++ {
		j := strings.Index(rest[idx:], ref)
		if j < 0 {
			return pos
		}
		if i == nth {
			idx += j
			break
		}
		idx += j + len(ref)
	}
	pos.Col = n.Column + utf8.RuneCountInString(rest[:idx])
	return pos
}

// tagged returns the value of a scalar with an explicit tag such as !!str.
func (c *converter) tagged(n *yaml.Node, ptr string) any {
	switch tag := n.ShortTag(); tag {
	case "!!str", "!!timestamp", "!!binary":
		return n.Value
	case "!!null":
		return nil
	case "!!bool", "!!int", "!!float":
		v := resolvePlain(n.Value)
		switch x := v.(type) {
		case bool:
			if tag == "!!bool" {
				return x
			}
		case int64:
			if tag == "!!int" {
				return x
			}
			if tag == "!!float" {
				return float64(x)
			}
		case float64:
			if tag == "!!float" {
				return x
			}
		}
		c.problem(n, ptr, "value is not a valid %s", tag)
		return n.Value
	default:
		c.problem(n, ptr, "unsupported YAML tag %q", tag)
		return n.Value
	}
}

// resolvePlain gives a plain (unquoted) scalar its type by the YAML 1.2 core
// schema: null, booleans, integers (decimal, 0x, 0o) and floats; everything
// else, including yes/no/on/off and dates, is a string. .inf and .nan stay
// strings because JSON has no such numbers.
func resolvePlain(s string) any {
	if s == "" {
		return nil
	}
	switch s[0] {
	case '~', 'n', 'N':
		if s == "~" || s == "null" || s == "Null" || s == "NULL" {
			return nil
		}
		return s
	case 't', 'T':
		if s == "true" || s == "True" || s == "TRUE" {
			return true
		}
		return s
	case 'f', 'F':
		if s == "false" || s == "False" || s == "FALSE" {
			return false
		}
		return s
	case '-', '+', '.', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return resolveNumber(s)
	}
	return s
}

var floatRE = regexp.MustCompile(`^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`)

func resolveNumber(s string) any {
	if isDigits(strings.TrimLeft(s, "+-")) && !strings.ContainsAny(s[1:], "+-") {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(f, 0) {
			return f
		}
		return s
	}
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o') {
		base := 16
		if s[1] == 'o' {
			base = 8
		}
		if i, err := strconv.ParseInt(s[2:], base, 64); err == nil {
			return i
		}
		return s
	}
	if floatRE.MatchString(s) {
		if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(f, 0) {
			return f
		}
	}
	return s
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parse decodes every document of a file. It stops at the first syntax
// error, which it returns as a problem; the documents before it are kept.
func parse(src *source) (docs []*yaml.Node, problem *Problem) {
	dec := yaml.NewDecoder(bytes.NewReader(src.data))
	for {
		var n yaml.Node
		err := decode(dec, &n)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			p := syntaxProblem(src, err)
			return docs, &p
		}
		if len(n.Content) == 0 {
			continue
		}
		root := n.Content[0]
		if root.Kind == yaml.ScalarNode && root.Style&yaml.TaggedStyle == 0 && resolvePlain(root.Value) == nil &&
			root.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) == 0 {
			continue // an empty document, such as a trailing "---"
		}
		docs = append(docs, root)
	}
}

// decode guards against panics in the YAML parser: manifests are user input,
// and one bad file must become a problem, not a crash.
func decode(dec *yaml.Decoder, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: the parser failed on this file")
		}
	}()
	return dec.Decode(n)
}

var (
	lineRE   = regexp.MustCompile(`^line (\d+): `)
	anchorRE = regexp.MustCompile(`^unknown anchor '(.*)' referenced$`)
)

// syntaxProblem turns a yaml.v3 error into a problem. yaml.v3 reports the
// line of the construct it was reading, not a column: the column given is the
// first non-blank character of that line. An unknown anchor is located by
// searching for its first use.
func syntaxProblem(src *source, err error) Problem {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 1
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
	}
	total := src.lineCount()
	col := 0
	if m := anchorRE.FindStringSubmatch(msg); m != nil {
		msg = fmt.Sprintf("unknown anchor %q", m[1])
		for i := 1; i <= total; i++ {
			text := src.line(i)
			if j := strings.Index(text, "*"+m[1]); j >= 0 {
				line, col = i, utf8.RuneCountInString(text[:j])+1
				break
			}
		}
	}
	line = min(max(line, 1), total)
	if strings.HasPrefix(msg, "did not find expected ',' or ") && strings.Contains(src.line(line), "${") {
		// In a flow collection, the } of ${NAME} closes the collection.
		msg += ` (inside { } or [ ], quote values that use variables: "${NAME}")`
	}
	if col == 0 {
		text := src.line(line)
		// Spaces only: a tab used for indentation is itself the problem.
		col = utf8.RuneCountInString(text) - utf8.RuneCountInString(strings.TrimLeft(text, " ")) + 1
	}
	return Problem{File: src.name, Line: line, Col: col, Addr: "yaml", Msg: msg, Severity: Error}
}
