package manifests

import (
	"fmt"
	"strings"
	"testing"
)

// largeManifest returns a manifest of 10 environments, 20 populations,
// 10,000 users and 1,000 applications (500 worker, 500 web), in one file.
func largeManifest() []byte {
	var b strings.Builder
	b.WriteString("# yaml-language-server: $schema=https://raw.githubusercontent.com/p1ctl/p1ctl/main/schema/manifest.schema.json\n")
	b.WriteString("apiVersion: p1ctl/v1\nenvironments:\n")
	for e := range 10 {
		fmt.Fprintf(&b, "  env-%d:\n    name: Environment %d\n    region: EU\n    description: Generated\n", e, e)
	}
	b.WriteString("populations:\n")
	for p := range 20 {
		fmt.Fprintf(&b, "  pop-%d:\n    environment: env-%d\n    name: Population %d\n", p, p%10, p)
	}
	b.WriteString("users:\n")
	for u := range 10_000 {
		p := u % 20
		fmt.Fprintf(&b, "  user-%d:\n    environment: env-%d\n    population: pop-%d\n    username: user%d@example.com\n"+
			"    email: user%d@example.com\n    name: {given: User, family: Number%d}\n    enabled: true\n"+
			"    password:\n      value: ${USER_PASSWORD}\n      forceChange: true\n", u, p%10, p, u, u, u)
	}
	b.WriteString("workerApps:\n")
	for a := range 500 {
		fmt.Fprintf(&b, "  worker-%d:\n    environment: env-%d\n    name: Worker %d\n    roles:\n"+
			"      - role: Identity Data Admin\n        scope: {population: pop-%d}\n"+
			"      - role: Environment Admin\n        scope: {environment: env-%d}\n", a, a%10, a, a%20, a%10)
	}
	b.WriteString("webApps:\n")
	for a := range 500 {
		fmt.Fprintf(&b, "  web-%d:\n    environment: env-%d\n    name: Web %d\n    redirectUris: [https://app%d.example.com/callback]\n"+
			"    grantTypes: [AUTHORIZATION_CODE, REFRESH_TOKEN]\n    pkceEnforcement: S256_REQUIRED\n    scopes: [openid, profile, email]\n", a, a%10, a, a)
	}
	return []byte(b.String())
}

// BenchmarkValidateLarge loads and validates 10,000 users and 1,000 apps.
// Target: under 1 s and 200 MB per operation.
func BenchmarkValidateLarge(b *testing.B) {
	data := largeManifest()
	opts := Options{Getenv: func(string) string { return canary }}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		res, err := LoadFiles(opts, File{Name: "large.yaml", Data: data})
		if err != nil {
			b.Fatal(err)
		}
		if n := res.Manifest.Len(); n != 11_030 {
			b.Fatalf("loaded %d resources, want 11030", n)
		}
	}
	b.ReportMetric(11_030, "resources/op")
}
