package ledger

import (
	"context"
	"errors"
	"io"
	"time"
)

// Entry is one group commit of the journal: the operations the writer applied since
// the previous entry, in order. Seq numbers entries 1, 2, 3…; the storage keeps it
// unique, which is what fences writers: two processes can never both append entry N,
// and each one appends N only after it has applied 1…N-1.
type Entry struct {
	Seq   int64     `bson:"_id"`
	Epoch int64     `bson:"epoch"` // the lease epoch of the writer that appended it
	At    time.Time `bson:"at"`
	N     int       `bson:"n"`     // number of operations
	Codec string    `bson:"codec"` // how Ops is written: CodecZstdJSON
	Ops   []byte    `bson:"ops"`   // the operations: a JSON array, compressed
}

// CodecZstdJSON is the journal's encoding of operations: a JSON array compressed
// with zstd. Compressed, a group commit of ~100 charges is ~1 KB instead of ~15 KB,
// and the embedded database's cost to append and to scan an entry follows its size.
// `aispace-credits journal` prints entries as JSON.
const CodecZstdJSON = "zstd+json"

// ErrConflict is returned by Journal.Append when an entry with that Seq exists: another
// writer got there first, so this one must stop and reload.
var ErrConflict = errors.New("journal: an entry with this sequence number already exists")

// ErrNoSnapshot is returned by Journal.LatestSnapshot when none was ever written.
var ErrNoSnapshot = errors.New("journal: no snapshot")

// SnapshotInfo describes a complete snapshot: the state after entry Seq.
type SnapshotInfo struct {
	Seq  int64
	Size int64
	At   time.Time
}

// Journal is the durable side of the ledger, as the ledger needs it. Implemented by
// backend/store over MongoDB (embedded FerretDB or an external server).
type Journal interface {
	// Append writes entries in order, durably, in one round trip. It returns
	// ErrConflict when one of them exists already; entries before it may have been
	// written, entries after it were not.
	Append(ctx context.Context, entries []Entry) error
	// Since calls fn for every entry with Seq > after, in Seq order. Entries at or
	// before after may be read but are not decoded.
	Since(ctx context.Context, after int64, fn func(Entry) error) error
	// WriteSnapshot stores the state after entry seq as new documents and marks it
	// complete last, so a crash midway leaves only an incomplete snapshot that is
	// never read. Older snapshots beyond the newest few may be dropped.
	WriteSnapshot(ctx context.Context, seq int64, r io.Reader) error
	// LatestSnapshot opens the newest complete snapshot, or returns ErrNoSnapshot.
	LatestSnapshot(ctx context.Context) (SnapshotInfo, io.ReadCloser, error)
}

// Lease is the writer lease: one document per epoch, so taking the lease is the
// insertion of epoch+1, which the storage lets exactly one process do.
type Lease struct {
	Epoch  int64     `bson:"_id"`
	Holder string    `bson:"holder"` // instance id
	Addr   string    `bson:"addr"`   // where the holder takes forwarded requests
	Beat   int64     `bson:"beat"`   // incremented by the holder at every renewal
	At     time.Time `bson:"at"`     // the holder's clock at the last renewal (for people)
}

// ErrLeaseTaken is returned by Leases.Acquire when another process inserted that
// epoch first, and by Leases.Renew when a newer epoch exists.
var ErrLeaseTaken = errors.New("lease: taken by another instance")

// Leases is the lease collection, as the ledger needs it.
type Leases interface {
	// Current returns the lease with the highest epoch, or a zero Lease if none.
	Current(ctx context.Context) (Lease, error)
	// Acquire inserts l (its Epoch the next one); ErrLeaseTaken if that epoch exists.
	Acquire(ctx context.Context, l Lease) error
	// Renew increments the beat of epoch l.Epoch held by l.Holder; ErrLeaseTaken if a
	// newer epoch exists or the lease is not l.Holder's.
	Renew(ctx context.Context, l Lease) (Lease, error)
}
