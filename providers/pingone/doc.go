// Package pingone is the PingOne Management and Auth API client: tokens,
// retries with backoff, paging, typed errors. It implements the Provider
// interface owned by package engine.
package pingone
