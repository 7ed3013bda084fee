// Package server is the HTTP face of the product: every route in routes.go, small
// handler makers, JSON encoding and decoding in one place, and one table from the
// domain's error codes to HTTP statuses (respond.go).
//
// The server asks the ledger for everything; it holds no credit state of its own. An
// instance that is not the writer forwards API requests to the writer named in the
// lease, or answers 503 with Retry-After when it knows of none.
package server
