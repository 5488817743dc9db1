package main

// userAgent is what p1ctl sends PingOne as its User-Agent.
func userAgent() string { return "p1ctl/" + version }
