package render

import (
	"io"
	"strings"

	"github.com/p1ctl/p1ctl/engine"
)

// TextOptions steer output for people.
type TextOptions struct {
	// Color adds ANSI colours. The caller decides: on a terminal and
	// without NO_COLOR.
	Color bool
}

// ANSI styles.
const (
	reset   = "\x1b[0m"
	bold    = "\x1b[1m"
	red     = "\x1b[31m"
	green   = "\x1b[32m"
	yellow  = "\x1b[33m"
	magenta = "\x1b[35m"
)

var symColor = map[string]string{symCreate: green, symUpdate: yellow, symDelete: red, symReplace: magenta}

func (o TextOptions) style(s, style string) string {
	if !o.Color || style == "" || s == "" {
		return s
	}
	return style + s + reset
}

// Text writes a plan the way Terraform users read one every day: a block per
// change with "+" create, "~" update in place (old -> new), "-/+" replace and
// "-" delete, then a summary line. No-op changes are not shown. A plan with
// nothing to do prints "No changes. PingOne matches the manifest."
//
// The output depends only on p and o, and is written with one Write.
func Text(w io.Writer, p *engine.Plan, o TextOptions) error {
	var b strings.Builder
	if p == nil || !p.HasChanges() {
		b.WriteString(o.style("No changes.", bold+green) + " PingOne matches the manifest.\n")
		return write(w, &b)
	}
	b.WriteString("p1ctl will perform the following actions:\n\n")
	for _, c := range p.Changes {
		if !shown(c) {
			continue
		}
		for _, l := range block(c, false) {
			writeTextLine(&b, l, o)
		}
		b.WriteByte('\n')
	}
	b.WriteString(o.style(summaryLine(p.Summary()), bold) + "\n")
	return write(w, &b)
}

// writeTextLine lays a line out as Terraform does: symbols right-aligned
// in three columns, four more columns per level of nesting.
func writeTextLine(b *strings.Builder, l line, o TextOptions) {
	if l.sym == symComment {
		style := ""
		if l.head {
			style = bold
		}
		b.WriteString("  " + o.style("# "+l.text, style) + "\n")
		return
	}
	b.WriteString(strings.Repeat("    ", l.depth))
	b.WriteString(strings.Repeat(" ", 3-len(l.sym)))
	b.WriteString(o.style(l.sym, symColor[l.sym]))
	b.WriteByte(' ')
	b.WriteString(l.text)
	if l.note != "" {
		b.WriteString(" " + o.style("# "+l.note, red))
	}
	b.WriteByte('\n')
}

func write(w io.Writer, b *strings.Builder) error {
	_, err := io.WriteString(w, b.String())
	return err
}
