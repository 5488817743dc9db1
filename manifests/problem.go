package manifests

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/go-multierror"
)

// Severity says whether a problem makes the manifests invalid.
type Severity int

const (
	// Error makes the manifests invalid: Load returns an error.
	Error Severity = iota
	// Warning is worth fixing but does not stop validation or a plan.
	Warning
)

func (s Severity) String() string {
	if s == Warning {
		return "warning"
	}
	return "error"
}

// Problem is one thing wrong with the manifests, at a position in a file.
//
// Line and Col are 1-based and always set. Addr names the resource at fault,
// such as "users.alice", or, outside any resource, the top-level key
// ("apiVersion", "users") or "yaml" for a syntax error. Msg never contains the
// value of a variable.
type Problem struct {
	File     string
	Line     int
	Col      int
	Addr     string
	Msg      string
	Severity Severity
}

// Error formats the problem as "FILE:LINE:COL: ADDRESS: MESSAGE", with
// "warning: " before the message of a warning, so editors and CI annotators
// can jump to it.
func (p Problem) Error() string {
	if p.Severity == Warning {
		return fmt.Sprintf("%s:%d:%d: %s: warning: %s", p.File, p.Line, p.Col, p.Addr, p.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s: %s", p.File, p.Line, p.Col, p.Addr, p.Msg)
}

// Pos is a position in a manifest file. Line and Col are 1-based.
type Pos struct {
	File string
	Line int
	Col  int
}

func (p Pos) String() string { return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col) }

// at returns a problem at pos.
func at(pos Pos, addr string, sev Severity, format string, args ...any) Problem {
	return Problem{File: pos.File, Line: pos.Line, Col: pos.Col, Addr: addr, Msg: fmt.Sprintf(format, args...), Severity: sev}
}

// compareProblems orders problems by file, line, column, then the rest, so
// output is stable.
func compareProblems(a, b Problem) int {
	return cmp.Or(
		cmp.Compare(a.File, b.File),
		cmp.Compare(a.Line, b.Line),
		cmp.Compare(a.Col, b.Col),
		cmp.Compare(a.Severity, b.Severity),
		cmp.Compare(a.Addr, b.Addr),
		cmp.Compare(a.Msg, b.Msg),
	)
}

// sortProblems sorts problems in place and drops exact duplicates.
func sortProblems(ps []Problem) []Problem {
	slices.SortFunc(ps, compareProblems)
	return slices.Compact(ps)
}

// problemsError returns nil when ps holds no error, and otherwise a
// *multierror.Error holding every problem of ps, warnings included, in order,
// that prints one problem per line.
func problemsError(ps []Problem) error {
	if !slices.ContainsFunc(ps, func(p Problem) bool { return p.Severity == Error }) {
		return nil
	}
	var errs *multierror.Error
	for _, p := range ps {
		errs = multierror.Append(errs, p)
	}
	errs.ErrorFormat = func(es []error) string {
		lines := make([]string, len(es))
		for i, e := range es {
			lines[i] = e.Error()
		}
		return strings.Join(lines, "\n")
	}
	return errs.ErrorOrNil()
}

// Count returns how many errors and warnings ps holds.
func Count(ps []Problem) (errors, warnings int) {
	for _, p := range ps {
		if p.Severity == Warning {
			warnings++
		} else {
			errors++
		}
	}
	return errors, warnings
}

// Summary counts the errors and warnings of ps for people: "2 errors, 1
// warning", "1 error", "3 warnings" or "no problems".
func Summary(ps []Problem) string {
	errs, warns := Count(ps)
	var parts []string
	if errs > 0 {
		parts = append(parts, plural(errs, "error"))
	}
	if warns > 0 {
		parts = append(parts, plural(warns, "warning"))
	}
	if len(parts) == 0 {
		return "no problems"
	}
	return strings.Join(parts, ", ")
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
