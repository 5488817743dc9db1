package main

import (
	"bytes"
	"io"
	"os"

	"github.com/mattn/go-isatty"
)

// iostreams are the standard streams of a command, with what we know of the
// terminal, so output can be tested both on and off a terminal.
type iostreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	// StdoutTTY and StderrTTY say whether the stream is a terminal.
	StdoutTTY bool
	StderrTTY bool
	StdinTTY  bool
}

func systemStreams() *iostreams {
	return &iostreams{
		In:        os.Stdin,
		Out:       os.Stdout,
		ErrOut:    os.Stderr,
		StdoutTTY: isTTY(os.Stdout),
		StderrTTY: isTTY(os.Stderr),
		StdinTTY:  isTTY(os.Stdin),
	}
}

func isTTY(f *os.File) bool {
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}

// testStreams returns streams backed by buffers, never a terminal.
func testStreams() (*iostreams, *bytes.Buffer, *bytes.Buffer, *bytes.Buffer) {
	in, out, errOut := &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	return &iostreams{In: in, Out: out, ErrOut: errOut}, in, out, errOut
}

// colorEnabled reports whether output to stdout may be coloured: only on a
// terminal, and never when NO_COLOR is set (https://no-color.org).
func (s *iostreams) colorEnabled(getenv func(string) string) bool {
	return s.StdoutTTY && getenv("NO_COLOR") == ""
}
