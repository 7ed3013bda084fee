package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/aispace/credits/backend/ledger"
)

// Append implements ledger.Journal: one ordered insertMany, so a duplicate sequence
// number stops it at that entry.
func (s *Store) Append(ctx context.Context, entries []ledger.Entry) error {
	if len(entries) == 0 {
		return nil
	}
	docs := make([]any, len(entries))
	for i := range entries {
		docs[i] = entries[i]
	}
	_, err := s.db.Collection(journalColl).InsertMany(ctx, docs, options.InsertMany().SetOrdered(true))
	return normalize(err)
}

// Since implements ledger.Journal. The embedded server does not use an index for a
// range of _id and decodes every document to filter it, which costs more than
// sending it: so without an index to use, the scan is unfiltered and entries at or
// before after are skipped here by their _id alone. With MongoDB (Indexed), the
// server filters by its _id index. Entries are sorted here either way.
func (s *Store) Since(ctx context.Context, after int64, fn func(ledger.Entry) error) error {
	filter := bson.D{}
	if s.indexed {
		filter = bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: after}}}}
	}
	cur, err := s.db.Collection(journalColl).Find(ctx, filter)
	if err != nil {
		return normalize(err)
	}
	defer cur.Close(ctx)
	var entries []ledger.Entry
	for cur.Next(ctx) {
		if id, ok := cur.Current.Lookup("_id").AsInt64OK(); ok && id <= after {
			continue
		}
		var e ledger.Entry
		if err := cur.Decode(&e); err != nil {
			return fmt.Errorf("store: journal entry: %w", err)
		}
		entries = append(entries, e)
	}
	if err := cur.Err(); err != nil {
		return normalize(err)
	}
	slices.SortFunc(entries, func(a, b ledger.Entry) int { return int(a.Seq - b.Seq) })
	for _, e := range entries {
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

// snapshotManifest marks a snapshot complete; it is written after all its chunks.
type snapshotManifest struct {
	Seq      int64     `bson:"_id"`
	Coll     string    `bson:"coll"`
	Complete bool      `bson:"complete"`
	Chunks   int       `bson:"chunks"`
	Size     int64     `bson:"size"`
	At       time.Time `bson:"at"`
}

type snapshotChunk struct {
	I    int    `bson:"_id"`
	Data []byte `bson:"data"`
}

// chunkSize keeps every chunk far below the 16 MiB document limit.
const chunkSize = 4 << 20

// keepSnapshots is how many complete snapshots stay; older ones are dropped.
const keepSnapshots = 2

// WriteSnapshot implements ledger.Journal. Each snapshot's chunks live in a
// collection of their own, so reading one reads only its data and dropping an old
// one is a collection drop.
// Two instances may snapshot the same entry; each writes its own collection and the
// first manifest wins.
func (s *Store) WriteSnapshot(ctx context.Context, seq int64, r io.Reader) error {
	name := chunkPrefix + strconv.FormatInt(seq, 10) + "_" + strconv.FormatInt(time.Now().UnixNano(), 36)
	coll := s.db.Collection(name)
	var size int64
	n := 0
	buf := make([]byte, chunkSize)
	for {
		k, err := io.ReadFull(r, buf)
		if k > 0 {
			if _, err := coll.InsertOne(ctx, snapshotChunk{I: n, Data: buf[:k]}); err != nil {
				return normalize(err)
			}
			n++
			size += int64(k)
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return err
		}
	}
	m := snapshotManifest{Seq: seq, Coll: name, Complete: true, Chunks: n, Size: size, At: time.Now().UTC()}
	if _, err := s.db.Collection(snapshotsColl).InsertOne(ctx, m); err != nil {
		coll.Drop(ctx)
		if err := normalize(err); !errors.Is(err, ledger.ErrConflict) {
			return err
		}
		return nil // the same state was snapshotted by another instance
	}
	return s.dropOldSnapshots(ctx)
}

func (s *Store) manifests(ctx context.Context) ([]snapshotManifest, error) {
	cur, err := s.db.Collection(snapshotsColl).Find(ctx, bson.D{{Key: "complete", Value: true}})
	if err != nil {
		return nil, normalize(err)
	}
	var ms []snapshotManifest
	if err := cur.All(ctx, &ms); err != nil {
		return nil, normalize(err)
	}
	slices.SortFunc(ms, func(a, b snapshotManifest) int { return int(b.Seq - a.Seq) })
	return ms, nil
}

func (s *Store) dropOldSnapshots(ctx context.Context) error {
	ms, err := s.manifests(ctx)
	if err != nil || len(ms) <= keepSnapshots {
		return err
	}
	for _, m := range ms[keepSnapshots:] {
		if _, err := s.db.Collection(snapshotsColl).DeleteOne(ctx, bson.D{{Key: "_id", Value: m.Seq}}); err != nil {
			return normalize(err)
		}
		if err := s.db.Collection(m.Coll).Drop(ctx); err != nil {
			return normalize(err)
		}
	}
	return nil
}

// LatestSnapshot implements ledger.Journal.
func (s *Store) LatestSnapshot(ctx context.Context) (ledger.SnapshotInfo, io.ReadCloser, error) {
	ms, err := s.manifests(ctx)
	if err != nil {
		return ledger.SnapshotInfo{}, nil, err
	}
	if len(ms) == 0 {
		return ledger.SnapshotInfo{}, nil, ledger.ErrNoSnapshot
	}
	m := ms[0]
	cur, err := s.db.Collection(m.Coll).Find(ctx, bson.D{})
	if err != nil {
		return ledger.SnapshotInfo{}, nil, normalize(err)
	}
	var chunks []snapshotChunk
	if err := cur.All(ctx, &chunks); err != nil {
		return ledger.SnapshotInfo{}, nil, normalize(err)
	}
	if len(chunks) != m.Chunks {
		return ledger.SnapshotInfo{}, nil, fmt.Errorf("store: snapshot %d has %d chunks, manifest says %d", m.Seq, len(chunks), m.Chunks)
	}
	slices.SortFunc(chunks, func(a, b snapshotChunk) int { return a.I - b.I })
	readers := make([]io.Reader, len(chunks))
	for i, c := range chunks {
		readers[i] = bytes.NewReader(c.Data)
	}
	info := ledger.SnapshotInfo{Seq: m.Seq, Size: m.Size, At: m.At}
	return info, io.NopCloser(io.MultiReader(readers...)), nil
}

// normalize turns driver errors into the ledger's: a duplicate key is a conflict.
func normalize(err error) error {
	switch {
	case err == nil:
		return nil
	case mongo.IsDuplicateKeyError(err):
		return ledger.ErrConflict
	case errors.Is(err, mongo.ErrNoDocuments):
		return err
	default:
		return fmt.Errorf("store: %w", err)
	}
}
