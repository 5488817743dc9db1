// Package certs keeps the TLS material of `p1ctl emulator --tls` (issue 3)
// and of its CONNECT proxy (issue 7): a local certificate authority and a
// server certificate it signs for localhost, 127.0.0.1, ::1 and the names
// clients use, such as api.pingone.test and auth.pingone.test.
//
// Ensure generates the material once and keeps it in a directory; clients
// trust ca.pem (SSL_CERT_FILE, or Bundle.CertPool in Go tests).
//
// This package uses only the standard library. It must not import the
// emulator package, its store, engine or providers.
package certs
