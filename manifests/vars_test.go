package manifests

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestExpand(t *testing.T) {
	t.Parallel()
	v := variables{
		getenv: func(name string) string {
			return map[string]string{"USER": "alice", "BOTH": "from-env", "EMPTY": ""}[name]
		},
		files: map[string]string{"BOTH": "from-file", "FILE_ONLY": "file", "EMPTY_FILE": ""},
	}
	cases := map[string]struct {
		reason string
		in     string
		want   string
		used   []string
		bad    []badRef
	}{
		"NoVariables":          {reason: "text without ${ is unchanged", in: "plain $ text $x", want: "plain $ text $x"},
		"Simple":               {reason: "${NAME} takes the environment's value", in: "hi ${USER}!", want: "hi alice!", used: []string{"USER"}},
		"EnvironmentWins":      {reason: "the environment overrides var files", in: "${BOTH}", want: "from-env", used: []string{"BOTH"}},
		"FromFile":             {reason: "var files fill in what the environment lacks", in: "${FILE_ONLY}", want: "file", used: []string{"FILE_ONLY"}},
		"DefaultUnused":        {reason: "a default is ignored when the variable is set", in: "${USER:-bob}", want: "alice", used: []string{"USER"}},
		"DefaultUsed":          {reason: "a default replaces an unset variable", in: "${NOPE:-bob}", want: "bob", used: []string{"NOPE"}},
		"EmptyIsUnset":         {reason: "an empty value counts as unset", in: "${EMPTY:-x}${EMPTY_FILE:-y}", want: "xy", used: []string{"EMPTY", "EMPTY_FILE"}},
		"EmptyDefault":         {reason: "a default may be empty", in: "a${NOPE:-}b", want: "ab", used: []string{"NOPE"}},
		"Literal":              {reason: "$${ is a literal ${ and is not expanded", in: "$${USER} costs $$5", want: "${USER} costs $$5"},
		"DollarBeforeLiteral":  {reason: "scanning is left to right: $$${X} is a lone $ then the literal ${X}", in: "$$${USER}", want: "$${USER}"},
		"Unset":                {reason: "an unset variable without default is reported and expands to nothing", in: "a ${NOPE} b", want: "a  b", bad: []badRef{{name: "NOPE", offset: 2}}},
		"BadName":              {reason: "a name starting with a digit is invalid", in: "${1X}", want: "", bad: []badRef{{offset: 0, invalid: true}}},
		"ShellDefaultSyntax":   {reason: "${X-d} is not supported", in: "x${USER-d}y", want: "xy", bad: []badRef{{offset: 1, invalid: true}}},
		"Unterminated":         {reason: "a reference without } is invalid", in: "a ${USER", want: "a ", bad: []badRef{{offset: 2, invalid: true}}},
		"UnterminatedDefault":  {reason: "a default without } is invalid", in: "${USER:-x", want: "", bad: []badRef{{offset: 0, invalid: true}}},
		"EmptyName":            {reason: "${} is invalid", in: "${}", want: "", bad: []badRef{{offset: 0, invalid: true}}},
		"Several":              {reason: "every reference is replaced", in: "${USER}/${FILE_ONLY}/${USER}", want: "alice/file/alice", used: []string{"USER", "FILE_ONLY", "USER"}},
		"DefaultHoldsDollar":   {reason: "a default is literal text", in: "${NOPE:-$HOME}", want: "$HOME", used: []string{"NOPE"}},
		"ValueIsNotReExpanded": {reason: "a value is never expanded again", in: "${RECURSE}", want: "${USER}", used: []string{"RECURSE"}},
	}
	v.files["RECURSE"] = "${USER}"
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, used, bad := v.expand(tc.in)
			if got != tc.want {
				t.Errorf("%s\nexpand(%q) = %q, want %q", tc.reason, tc.in, got, tc.want)
			}
			if diff := cmp.Diff(tc.used, used); diff != "" {
				t.Errorf("%s\nused: -want +got:\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(tc.bad, bad, cmp.AllowUnexported(badRef{})); diff != "" {
				t.Errorf("%s\nbad: -want +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestParseVarFile(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		reason   string
		in       string
		want     map[string]string
		problems []Problem
	}{
		"Forms": {
			reason: "bare, quoted, exported and commented lines",
			in:     "# comment\n\nA=1\nexport B = two words  \nC=\"x \\\"y\\\"\\n\" # note\nD='$raw \\n'\n  E=bare # comment\nF=\nG=a#b\r\n",
			want:   map[string]string{"A": "1", "B": "two words", "C": "x \"y\"\n", "D": "$raw \\n", "E": "bare", "F": "", "G": "a#b"},
		},
		"LaterWins": {
			reason: "a name set twice keeps the later value",
			in:     "A=1\nA=2\n",
			want:   map[string]string{"A": "2"},
		},
		"Problems": {
			reason: "bad lines are reported with their position and without their value",
			in:     "no equals sign\n9LIVES=x\nexport =y\nQ=\"open\nS='ok' extra\n",
			want:   map[string]string{},
			problems: []Problem{
				{File: "f.env", Line: 1, Col: 1, Addr: "var-file", Msg: "expected NAME=VALUE"},
				{File: "f.env", Line: 2, Col: 1, Addr: "var-file", Msg: "invalid variable name: use letters, digits and _, not starting with a digit"},
				{File: "f.env", Line: 3, Col: 8, Addr: "var-file", Msg: "invalid variable name: use letters, digits and _, not starting with a digit"},
				{File: "f.env", Line: 4, Col: 3, Addr: "Q", Msg: "unterminated double-quoted value (values cannot span lines)"},
				{File: "f.env", Line: 5, Col: 3, Addr: "S", Msg: "unexpected text after the closing quote"},
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, problems := parseVarFile("f.env", []byte(tc.in))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nvars: -want +got:\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(tc.problems, problems, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("%s\nproblems: -want +got:\n%s", tc.reason, diff)
			}
		})
	}
}
