package certs

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// File names inside the directory given to Ensure.
const (
	CAFileName      = "ca.pem"         // the CA certificate clients trust (mode 0644)
	CAKeyFileName   = "ca-key.pem"     // its private key (mode 0600)
	CertFileName    = "server.pem"     // the server certificate (mode 0644)
	CertKeyFileName = "server-key.pem" // its private key (mode 0600)
	CACommonName    = "p1ctl emulator local CA"
)

const (
	caValidity   = 10 * 365 * 24 * time.Hour
	certValidity = 397 * 24 * time.Hour // the most that browsers and Apple accept
	renewBefore  = 30 * 24 * time.Hour
	backdate     = time.Hour // tolerate clocks that lag a little
)

// builtinNames are the names every server certificate covers, whatever the
// caller asks for.
var builtinNames = []string{"localhost", "127.0.0.1", "::1"}

// Bundle is the TLS material Ensure keeps.
type Bundle struct {
	CAPEM    []byte // the CA certificate, PEM-encoded
	CAFile   string // path of ca.pem
	CertFile string // path of server.pem
	KeyFile  string // path of server-key.pem

	Names    []string  // every DNS name and IP address the server certificate covers
	NotAfter time.Time // when the server certificate expires

	NewCA   bool // Ensure created the CA (clients must be given ca.pem again)
	NewCert bool // Ensure issued the server certificate

	ca   *x509.Certificate
	cert tls.Certificate
}

// TLSConfig returns a new server configuration that presents the server
// certificate: TLS 1.2 or later, ALPN h2 and http/1.1 (so http.Server serves
// HTTP/2 on it as well).
func (b *Bundle) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{b.cert},
		NextProtos:   []string{"h2", "http/1.1"},
	}
}

// CertPool returns a new pool that holds only the CA, for clients.
func (b *Bundle) CertPool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(b.ca)
	return pool
}

// mu serialises Ensure within the process.
var mu sync.Mutex

// Ensure returns the TLS material kept in dir, creating what is missing:
//
//   - The CA (ECDSA P-256, CommonName "p1ctl emulator local CA", valid for
//     10 years) is created once, when dir has no ca.pem (a ca-key.pem
//     without it is the remains of an interrupted creation and is
//     replaced), and never replaced afterwards: clients may have been told
//     to trust it. A damaged or expired CA, or ca.pem without ca-key.pem, is
//     an error that names the file; remove both CA files to start over.
//   - The server certificate (ECDSA P-256, valid for 397 days), signed by
//     the CA, covers localhost, 127.0.0.1, ::1 and names (DNS names or IP
//     addresses; a leading wildcard label such as *.pingone.test is
//     allowed; case and a trailing dot do not matter). It is reused as long
//     as it was signed by this CA, matches its key, covers every requested
//     name and is valid for 30 more days; otherwise it is issued anew for
//     exactly those built-in names plus names.
//
// dir is created with mode 0700 if needed. Every file is written to a
// temporary file and renamed into place, so a crash never leaves a
// half-written file; keys are mode 0600. Ensure is safe for concurrent use
// within one process; two processes must not share dir at the same moment.
func Ensure(dir string, names []string) (*Bundle, error) {
	return ensure(dir, names, time.Now())
}

func ensure(dir string, names []string, now time.Time) (*Bundle, error) {
	want, err := sans(names)
	if err != nil {
		return nil, err
	}
	mu.Lock()
	defer mu.Unlock()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	b := &Bundle{
		CAFile:   filepath.Join(dir, CAFileName),
		CertFile: filepath.Join(dir, CertFileName),
		KeyFile:  filepath.Join(dir, CertKeyFileName),
	}
	ca, caKey, err := loadCA(dir, now)
	if errors.Is(err, fs.ErrNotExist) {
		ca, caKey, err = createCA(dir, now)
		b.NewCA = true
	}
	if err != nil {
		return nil, err
	}
	b.ca, b.CAPEM = ca, pemCert(ca.Raw)

	cert, err := loadCert(dir, ca, want, now)
	if err != nil {
		if cert, err = issueCert(dir, ca, caKey, want, now); err != nil {
			return nil, err
		}
		b.NewCert = true
	}
	b.cert = cert
	leaf := cert.Leaf
	b.NotAfter = leaf.NotAfter
	b.Names = append([]string(nil), leaf.DNSNames...)
	for _, ip := range leaf.IPAddresses {
		b.Names = append(b.Names, ip.String())
	}
	return b, nil
}

// san is one name a certificate covers.
type san struct {
	dns string
	ip  netip.Addr
}

func (s san) String() string {
	if s.dns != "" {
		return s.dns
	}
	return s.ip.String()
}

// sans normalises builtinNames plus names: lower-case DNS names without a
// trailing dot, canonical IP addresses, no duplicates, in order.
func sans(names []string) ([]san, error) {
	var out []san
	seen := make(map[string]bool)
	for _, n := range append(append([]string(nil), builtinNames...), names...) {
		var s san
		if ip, err := netip.ParseAddr(n); err == nil && ip.Zone() == "" {
			s.ip = ip.Unmap()
		} else {
			d := strings.TrimSuffix(strings.ToLower(n), ".")
			if !validDNSName(d) {
				return nil, fmt.Errorf("certificate name %q is neither a DNS name nor an IP address", n)
			}
			s.dns = d
		}
		if k := s.String(); !seen[k] {
			seen[k] = true
			out = append(out, s)
		}
	}
	return out, nil
}

// validDNSName accepts host names and one leading wildcard label.
func validDNSName(d string) bool {
	if d == "" || len(d) > 253 {
		return false
	}
	for i, label := range strings.Split(d, ".") {
		if label == "*" && i == 0 {
			continue
		}
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// loadCA reads the CA. It returns an error wrapping fs.ErrNotExist only when
// neither file exists, or when the key exists without its certificate (a
// creation that never finished: the key was written first, and nobody can
// trust a CA whose certificate was never written).
func loadCA(dir string, now time.Time) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	certPath, keyPath := filepath.Join(dir, CAFileName), filepath.Join(dir, CAKeyFileName)
	certPEM, err := os.ReadFile(certPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, err
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read CA: %w", err)
	}
	keyPEM, err := os.ReadFile(keyPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("%s exists without %s: remove %s to create a new CA (clients must then trust the new one)", certPath, CAKeyFileName, CAFileName)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read CA key: %w", err)
	}
	ca, err := parseCert(certPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", certPath, err)
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", keyPath, err)
	}
	switch {
	case !ca.IsCA || ca.KeyUsage&x509.KeyUsageCertSign == 0:
		return nil, nil, fmt.Errorf("%s: not a CA certificate", certPath)
	case !key.PublicKey.Equal(ca.PublicKey):
		return nil, nil, fmt.Errorf("%s does not belong to %s", keyPath, certPath)
	case !now.Before(ca.NotAfter):
		return nil, nil, fmt.Errorf("%s expired on %s: remove %s and %s to create a new CA",
			certPath, ca.NotAfter.Format(time.DateOnly), CAFileName, CAKeyFileName)
	}
	return ca, key, nil
}

func createCA(dir string, now time.Time) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate CA key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: CACommonName, Organization: []string{"p1ctl"}},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(-backdate).Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("create CA certificate: %w", err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("parse CA certificate: %w", err)
	}
	keyPEM, err := pemKey(key)
	if err != nil {
		return nil, nil, err
	}
	// Key first: a crash in between leaves a key without a certificate,
	// which the next call replaces.
	if err := writeFile(filepath.Join(dir, CAKeyFileName), keyPEM, 0o600); err != nil {
		return nil, nil, err
	}
	if err := writeFile(filepath.Join(dir, CAFileName), pemCert(der), 0o644); err != nil {
		return nil, nil, err
	}
	return ca, key, nil
}

// loadCert returns the kept server certificate if it can be reused.
func loadCert(dir string, ca *x509.Certificate, want []san, now time.Time) (tls.Certificate, error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, CertFileName))
	if err != nil {
		return tls.Certificate{}, err
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, CertKeyFileName))
	if err != nil {
		return tls.Certificate{}, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM) // checks that the key matches
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf := cert.Leaf
	if err := leaf.CheckSignatureFrom(ca); err != nil {
		return tls.Certificate{}, err
	}
	if now.Before(leaf.NotBefore) || !now.Add(renewBefore).Before(leaf.NotAfter) {
		return tls.Certificate{}, errors.New("expires soon")
	}
	for _, s := range want {
		if err := leaf.VerifyHostname(s.String()); err != nil {
			return tls.Certificate{}, err
		}
	}
	return cert, nil
}

func issueCert(dir string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, want []san, now time.Time) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("generate server key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "p1ctl emulator", Organization: []string{"p1ctl"}},
		NotBefore:    now.Add(-backdate),
		NotAfter:     now.Add(-backdate).Add(certValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if tmpl.NotAfter.After(ca.NotAfter) {
		tmpl.NotAfter = ca.NotAfter
	}
	for _, s := range want {
		if s.dns != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, s.dns)
		} else {
			tmpl.IPAddresses = append(tmpl.IPAddresses, net.IP(s.ip.AsSlice()))
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("create server certificate: %w", err)
	}
	keyPEM, err := pemKey(key)
	if err != nil {
		return tls.Certificate{}, err
	}
	certPEM := pemCert(der)
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("load new server certificate: %w", err)
	}
	// Key first: a certificate with a stale key fails X509KeyPair next time
	// and is issued again.
	if err := writeFile(filepath.Join(dir, CertKeyFileName), keyPEM, 0o600); err != nil {
		return tls.Certificate{}, err
	}
	if err := writeFile(filepath.Join(dir, CertFileName), certPEM, 0o644); err != nil {
		return tls.Certificate{}, err
	}
	return cert, nil
}

func serial() *big.Int {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	b[0] &= 0x7f        // positive
	b[0] |= 0x40        // and 16 bytes long
	return new(big.Int).SetBytes(b)
}

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func pemKey(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func parseCert(data []byte) (*x509.Certificate, error) {
	block, rest := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" || len(bytes.TrimSpace(rest)) != 0 {
		return nil, errors.New("want exactly one PEM CERTIFICATE block")
	}
	return x509.ParseCertificate(block.Bytes)
}

func parseKey(data []byte) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, errors.New("want a PEM PRIVATE KEY block")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("want an ECDSA key, have %T", k)
	}
	return ek, nil
}

// writeFile replaces path atomically: readers see the old file or the new
// one, never part of one.
func writeFile(path string, data []byte, perm os.FileMode) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
			err = fmt.Errorf("write %s: %w", path, err)
		}
	}()
	if err = f.Chmod(perm); err != nil {
		return err
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	if d, derr := os.Open(dir); derr == nil { // make the rename durable; best effort
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
