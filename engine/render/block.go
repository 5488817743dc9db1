package render

import (
	"fmt"
	"slices"
	"strings"

	"github.com/p1ctl/p1ctl/engine"
	"github.com/p1ctl/p1ctl/engine/diff"
)

// A line is one line of a change's block, before it is laid out for a
// terminal (Text) or a diff code block (Markdown).
type line struct {
	depth int    // 0 the resource, 1 an attribute, 2 a list element
	sym   string // "+", "-", "~", "-/+"; "" for context; "#" for a comment
	text  string
	note  string // a trailing comment, such as "forces replacement"
	head  bool   // the heading comment of a change
}

const (
	symCreate  = "+"
	symUpdate  = "~"
	symDelete  = "-"
	symReplace = "-/+"
	symComment = "#"
)

// symbols and headings of the actions a plan shows.
var (
	actionSym = map[engine.Action]string{
		engine.Create: symCreate, engine.Update: symUpdate, engine.Replace: symReplace, engine.Delete: symDelete,
	}
	actionPhrase = map[engine.Action]string{
		engine.Create:  "will be created",
		engine.Update:  "will be updated in place",
		engine.Replace: "must be replaced",
		engine.Delete:  "will be deleted",
	}
)

// shown reports whether a change appears in text and Markdown output:
// every change but a no-op.
func shown(c engine.Change) bool { return actionSym[c.Action] != "" }

// fields returns a change's Fields sorted by path, as Change promises
// them; sorting again keeps that promise when a field is appended late.
func fields(c engine.Change) []diff.FieldChange {
	fs := slices.Clone(c.Fields)
	slices.SortStableFunc(fs, func(a, b diff.FieldChange) int { return strings.Compare(a.Path, b.Path) })
	return fs
}

// attrs returns the fields a change's block shows, sorted by path: its
// Fields, plus the id (known after apply for a create or a replace) and,
// for a delete, the natural key.
func attrs(c engine.Change) []diff.FieldChange {
	fs := fields(c)
	has := func(p string) bool {
		return slices.ContainsFunc(fs, func(f diff.FieldChange) bool { return f.Path == p })
	}
	add := func(f diff.FieldChange) {
		if !has(f.Path) {
			fs = append(fs, f)
		}
	}
	switch c.Action {
	case engine.Create:
		add(diff.FieldChange{Path: "id", New: diff.Unknown{Of: c.Addr.String()}})
	case engine.Replace:
		if c.ID != "" {
			add(diff.FieldChange{Path: "id", Old: c.ID, New: diff.Unknown{Of: c.Addr.String()}})
		}
	case engine.Delete:
		if c.ID != "" {
			add(diff.FieldChange{Path: "id", Old: c.ID})
		}
		if c.Name != "" {
			add(diff.FieldChange{Path: keyAttr(c.Addr.Kind), Old: c.Name})
		}
	}
	slices.SortStableFunc(fs, func(a, b diff.FieldChange) int { return strings.Compare(a.Path, b.Path) })
	return fs
}

// block lays out one change as lines. With split, an in-place change of a
// value is two lines, "-" old and "+" new, as a diff shows it; otherwise it
// is one "~" line, old -> new.
func block(c engine.Change, split bool) []line {
	ls := []line{{sym: symComment, text: c.Addr.String() + " " + actionPhrase[c.Action], head: true}}
	if c.Reason != "" {
		ls = append(ls, line{sym: symComment, text: oneLine(c.Reason)})
	}
	ls = append(ls, line{sym: actionSym[c.Action], text: c.Addr.String() + " {"})
	fs := attrs(c)
	width := 0
	for _, f := range fs {
		width = max(width, len(f.Path))
	}
	for _, f := range fs {
		ls = append(ls, field(c, f, width, split)...)
	}
	return append(ls, line{text: "}"})
}

// fieldSym is the symbol of one field of a change.
func fieldSym(a engine.Action, f diff.FieldChange) string {
	switch {
	case a == engine.Create:
		return symCreate
	case a == engine.Delete:
		return symDelete
	case f.Sensitive:
		return symUpdate
	case f.Old == nil && f.New != nil:
		return symCreate
	case f.New == nil && f.Old != nil:
		return symDelete
	}
	return symUpdate
}

// field lays out one field: on one line when its values are short and
// flat, over several otherwise; a set-valued field that changes shows the
// elements added and removed.
func field(c engine.Change, f diff.FieldChange, width int, split bool) []line {
	sym := fieldSym(c.Action, f)
	lhs := fmt.Sprintf("%-*s = ", width, f.Path)
	var note string
	if f.ForcesReplace {
		note = "forces replacement"
	}
	if isSensitive(f) {
		return []line{{depth: 1, sym: sym, text: lhs + sensitive, note: note}}
	}
	set := isSet(c.Addr.Kind, f.Path)
	switch sym {
	case symCreate, symDelete:
		v := f.New
		if sym == symDelete {
			v = f.Old
		}
		if l, ok := list(v); ok && set {
			v = sorted(l)
		}
		return whole(sym, lhs, v, sym, note)
	}
	// An in-place change.
	if set {
		nl, nok := list(f.New)
		ol, ook := list(f.Old)
		if nok && ook {
			added, removed := diff.SetDelta(nl, ol)
			if len(added)+len(removed) > 0 {
				ls := []line{{depth: 1, sym: sym, text: lhs + "[", note: note}}
				for _, e := range added {
					ls = append(ls, line{depth: 2, sym: symCreate, text: value(e) + ","})
				}
				for _, e := range removed {
					ls = append(ls, line{depth: 2, sym: symDelete, text: value(e) + ","})
				}
				return append(ls, line{depth: 1, text: "]"})
			}
		}
	}
	if !inline(f.Old) || !inline(f.New) {
		// Long or nested lists: old, then new, element by element.
		ls := whole(sym, lhs, f.Old, "", "")
		ls[len(ls)-1].text += " -> " + multiOpen(f.New)
		ls[0].note = note
		return append(ls, tail(f.New, "")...)
	}
	if split {
		return []line{
			{depth: 1, sym: symDelete, text: lhs + value(f.Old)},
			{depth: 1, sym: symCreate, text: lhs + value(f.New), note: note},
		}
	}
	return []line{{depth: 1, sym: sym, text: lhs + value(f.Old) + " -> " + value(f.New), note: note}}
}

// whole lays out a whole value after lhs: on one line when it can be,
// otherwise one line per list element, each with elemSym.
func whole(sym, lhs string, v any, elemSym, note string) []line {
	if inline(v) {
		return []line{{depth: 1, sym: sym, text: lhs + value(v), note: note}}
	}
	ls := []line{{depth: 1, sym: sym, text: lhs + multiOpen(v), note: note}}
	return append(ls, tail(v, elemSym)...)
}

// multiOpen is how a value that continues over several lines starts.
func multiOpen(v any) string {
	if inline(v) {
		return value(v)
	}
	return "["
}

// tail is the rest of a list that multiOpen started: its elements and the
// closing bracket (nothing for a value that fits on one line).
func tail(v any, elemSym string) []line {
	if inline(v) {
		return nil
	}
	l, _ := list(v)
	ls := make([]line, 0, len(l)+1)
	for _, e := range l {
		ls = append(ls, line{depth: 2, sym: elemSym, text: value(e) + ","})
	}
	return append(ls, line{depth: 1, text: "]"})
}

// summaryLine is the one-line count of what a plan does.
func summaryLine(s engine.Summary) string {
	return fmt.Sprintf("Plan: %d to add, %d to change, %d to replace, %d to destroy.", s.Create, s.Update, s.Replace, s.Delete)
}
