package render

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/p1ctl/p1ctl/engine"
)

// progressive verbs of the actions, for the line a change starts with.
var progressive = map[engine.Action]string{
	engine.Create: "creating", engine.Update: "updating", engine.Replace: "replacing", engine.Delete: "deleting",
}

var outcomeColor = map[engine.Outcome]string{
	engine.Created: green, engine.Updated: yellow, engine.Replaced: magenta, engine.Deleted: red,
	engine.Failed: red, engine.Skipped: yellow, engine.NotStarted: yellow,
}

// Event writes one line of apply progress: as a change starts,
//
//	users.alice: creating...
//	users.alice: updating... (id 5f1c…)
//
// and as it ends,
//
//	users.alice: created in 120ms (id 5f1c…)
//	users.alice: failed after 2.1s: <the error's text>
//	users.bob: skipped (a change it depends on failed)
//	users.bob: not started (apply interrupted)
//
// Error text is the error value's own (Error()), with control characters
// escaped; a *engine.ResourceError for the same address is unwrapped so the
// address is not said twice. The duration is the event's.
func Event(w io.Writer, e engine.Event, o TextOptions) error {
	var b strings.Builder
	addr := e.Addr.String()
	switch {
	case e.Phase == engine.Started:
		b.WriteString(addr + ": " + progressive[e.Action] + "...")
		if e.ID != "" && e.Action != engine.Create {
			b.WriteString(" (id " + e.ID + ")")
		}
	case e.Outcome == engine.Failed:
		fmt.Fprintf(&b, "%s: %s after %s: %s", addr, o.style("failed", red), duration(e.Duration), errText(e.Addr, e.Err))
	case e.Outcome == engine.Skipped && len(e.Because) > 0:
		fmt.Fprintf(&b, "%s: %s (depends on failed %s)", addr, o.style("skipped", yellow), joinAddrs(e.Because))
	case e.Outcome == engine.Skipped:
		fmt.Fprintf(&b, "%s: %s (a change it depends on failed)", addr, o.style("skipped", yellow))
	case e.Outcome == engine.NotStarted:
		fmt.Fprintf(&b, "%s: %s (apply interrupted)", addr, o.style("not started", yellow))
	default:
		fmt.Fprintf(&b, "%s: %s in %s", addr, o.style(string(e.Outcome), outcomeColor[e.Outcome]), duration(e.Duration))
		if e.ID != "" {
			b.WriteString(" (id " + e.ID + ")")
		}
	}
	b.WriteByte('\n')
	return write(w, &b)
}

// ApplySummary writes how an apply ended: one "Error:" line per failed
// change with its error's text, one "Skipped:" line per change skipped
// because of a failure, then a count. It ends
//
//	Apply complete: 3 created, 1 updated, 0 replaced, 1 deleted.
//
// when everything succeeded, "Apply failed: 2 failed, 3 skipped, 4
// succeeded." when a change failed, and "Apply interrupted: 4 succeeded, 3
// not started." when it was stopped before the end.
func ApplySummary(w io.Writer, r *engine.Result, o TextOptions) error {
	if r == nil {
		return errors.New("render: no apply result")
	}
	n := map[engine.Outcome]int{}
	var b strings.Builder
	for _, c := range r.Outcomes {
		n[c.Outcome]++
		switch c.Outcome {
		case engine.Failed:
			b.WriteString(o.style("Error:", bold+red) + " " + failure(c) + "\n")
		case engine.Skipped:
			because := make([]string, len(c.Because))
			for i, a := range c.Because {
				because[i] = a.String()
			}
			reason := "a change it depends on failed"
			if len(because) > 0 {
				reason = "depends on failed " + strings.Join(because, ", ")
			}
			fmt.Fprintf(&b, "%s %s (%s)\n", o.style("Skipped:", bold+yellow), c.Addr, reason)
		}
	}
	if b.Len() > 0 {
		b.WriteByte('\n')
	}
	ok := n[engine.Created] + n[engine.Updated] + n[engine.Replaced] + n[engine.Deleted]
	switch {
	case n[engine.Failed] > 0:
		s := fmt.Sprintf("Apply failed: %d failed, %d skipped, %d succeeded", n[engine.Failed], n[engine.Skipped], ok)
		if n[engine.NotStarted] > 0 {
			s += fmt.Sprintf(", %d not started", n[engine.NotStarted])
		}
		b.WriteString(o.style(s+".", bold+red) + "\n")
	case n[engine.NotStarted] > 0:
		s := fmt.Sprintf("Apply interrupted: %d succeeded, %d not started.", ok, n[engine.NotStarted])
		b.WriteString(o.style(s, bold+yellow) + "\n")
	default:
		s := fmt.Sprintf("Apply complete: %d created, %d updated, %d replaced, %d deleted.",
			n[engine.Created], n[engine.Updated], n[engine.Replaced], n[engine.Deleted])
		b.WriteString(o.style(s, bold+green) + "\n")
	}
	return write(w, &b)
}

// failure describes a failed change as "users.alice: create: <error>".
func failure(c engine.ChangeOutcome) string {
	var re *engine.ResourceError
	if errors.As(c.Err, &re) && re.Addr == c.Addr {
		return indent(clean(c.Err.Error()))
	}
	return fmt.Sprintf("%s: %s: %s", c.Addr, c.Action, errText(c.Addr, c.Err))
}

// errText is an error's text without the address the line already names.
func errText(addr engine.Address, err error) string {
	if err == nil {
		return "unknown error"
	}
	var re *engine.ResourceError
	if errors.As(err, &re) && re.Addr == addr && re.Err != nil {
		err = re.Err
	}
	return indent(clean(err.Error()))
}

// indent continues a multi-line text under the line it starts on.
func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n    ") }

// duration is short and stable: 120ms, 2.1s, 1m5s.
func duration(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	return d.Round(time.Second).String()
}

func joinAddrs(as []engine.Address) string {
	parts := make([]string, len(as))
	for i, a := range as {
		parts[i] = a.String()
	}
	return strings.Join(parts, ", ")
}
