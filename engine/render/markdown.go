package render

import (
	"fmt"
	"html"
	"io"
	"strings"

	"github.com/p1ctl/p1ctl/engine"
)

// MarkdownMarker opens every Markdown plan, so that a CI job can find the
// comment it posted before and edit it instead of adding another.
const MarkdownMarker = "<!-- p1ctl plan -->"

// markdownLimit keeps a comment under GitHub's limit of 65,536 characters
// (counted in bytes here, which is never fewer), with room to spare.
const markdownLimit = 60000

// maxPaths is how many field paths a table row names.
const maxPaths = 5

// Markdown writes a plan ready to post as a pull-request comment: a
// heading with the summary line, a table of the changes (Action, Address,
// Name, Changes) and, per change, a collapsed <details> with a diff code
// block whose lines start with "+", "-" or "~", so GitHub colours them. An
// in-place change of a value shows as a "-" line and a "+" line. No-op
// changes are left out. A plan too large for one comment shows its first
// changes and says how many it left out.
//
// Text from PingOne and manifests (names, values) is escaped for the
// table, for HTML and for code fences.
func Markdown(w io.Writer, p *engine.Plan) error {
	var b strings.Builder
	b.WriteString(MarkdownMarker + "\n")
	if p == nil || !p.HasChanges() {
		b.WriteString("### No changes\n\nPingOne matches the manifest.\n")
		return write(w, &b)
	}
	var changes []engine.Change
	for _, c := range p.Changes {
		if shown(c) {
			changes = append(changes, c)
		}
	}
	fmt.Fprintf(&b, "### %s\n\n", summaryLine(p.Summary()))
	b.WriteString("| Action | Address | Name | Changes |\n| --- | --- | --- | --- |\n")

	// The table may take half the room, the details the rest.
	rows := 0
	for _, c := range changes {
		row := tableRow(c)
		if b.Len()+len(row) > markdownLimit/2 {
			break
		}
		b.WriteString(row)
		rows++
	}
	if rows < len(changes) {
		fmt.Fprintf(&b, "| | %d more | | |\n", len(changes)-rows)
	}
	b.WriteByte('\n')
	details := 0
	for _, c := range changes {
		d := detailsOf(c)
		if b.Len()+len(d) > markdownLimit-500 {
			break
		}
		b.WriteString(d)
		details++
	}
	if rows < len(changes) || details < len(changes) {
		fmt.Fprintf(&b, "The plan is too large for one comment: %d of %d changes are detailed here. Run `p1ctl plan` for all of them.\n",
			details, len(changes))
	}
	return write(w, &b)
}

func tableRow(c engine.Change) string {
	var paths []string
	fs := fields(c)
	for i, f := range fs {
		if i == maxPaths {
			paths = append(paths, fmt.Sprintf("and %d more", len(fs)-maxPaths))
			break
		}
		paths = append(paths, code(f.Path))
	}
	changes := strings.Join(paths, ", ")
	if c.Reason != "" {
		if changes != "" {
			changes += "; "
		}
		changes += cell(c.Reason)
	}
	return fmt.Sprintf("| %s %s | %s | %s | %s |\n",
		code(actionSym[c.Action]), c.Action, code(c.Addr.String()), cell(c.Name), changes)
}

func detailsOf(c engine.Change) string {
	var body strings.Builder
	for _, l := range block(c, true) {
		if l.head {
			continue // the summary says it
		}
		writeDiffLine(&body, l)
	}
	fence := fenceFor(body.String())
	return fmt.Sprintf("<details><summary><code>%s</code> %s</summary>\n\n%sdiff\n%s%s\n\n</details>\n\n",
		html.EscapeString(c.Addr.String()), actionPhrase[c.Action], fence, body.String(), fence)
}

// writeDiffLine lays a line out for a diff code block: the symbol in the
// first column, where GitHub looks for it.
func writeDiffLine(b *strings.Builder, l line) {
	if l.sym == symComment {
		b.WriteString("# " + l.text + "\n")
		return
	}
	fmt.Fprintf(b, "%-3s %s%s", l.sym, strings.Repeat("    ", l.depth), l.text)
	if l.note != "" {
		b.WriteString(" # " + l.note)
	}
	b.WriteByte('\n')
}

// fenceFor returns a code fence longer than any run of backticks in s, so
// a value cannot close the block early.
func fenceFor(s string) string {
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return strings.Repeat("`", max(3, longest+1))
}

// code is s as an inline code span that is safe in a table cell.
func code(s string) string {
	s = oneLine(s)
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	ticks := strings.Repeat("`", longest+1)
	pad := ""
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		pad = " "
	}
	return ticks + pad + strings.ReplaceAll(s, "|", `\|`) + pad + ticks
}

// cellEscaper backslash-escapes what Markdown or HTML would otherwise
// interpret in a table cell.
var cellEscaper = strings.NewReplacer(
	`\`, `\\`, "|", `\|`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`,
	"<", "&lt;", ">", "&gt;", "&", "&amp;", "#", `\#`, "~", `\~`)

func cell(s string) string { return cellEscaper.Replace(oneLine(s)) }
