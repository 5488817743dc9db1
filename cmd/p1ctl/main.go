// Command p1ctl provisions PingOne environments from manifests kept in git.
package main

import (
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], systemStreams(), os.Getenv))
}
