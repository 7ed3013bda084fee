// Package store keeps the ledger's journal, snapshots and writer lease in MongoDB,
// through the official driver. Without a URI it starts an embedded MongoDB-compatible
// server (FerretDB on SQLite, files under the data directory) in-process, reachable
// only through a unix socket in a directory of mode 0700.
//
// The embedded server appends fast but scans a whole collection for every lookup and
// update, and has no transactions or atomic find-and-modify (SPEC §8). So the store
// offers exactly what the ledger's design needs and no more: appending journal entries
// whose sequence number is the _id (a duplicate is the fence between writers), reading
// the journal once at start, snapshots written as new documents, and a lease taken by
// inserting the next epoch. Driver errors are normalised here: a duplicate key is
// ledger.ErrConflict or ledger.ErrLeaseTaken.
package store
