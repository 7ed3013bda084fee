package store

import (
	"context"
	"errors"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/aispace/credits/backend/ledger"
)

// keepLeases is how many past epochs stay in the lease collection, for people.
const keepLeases = 5

func (s *Store) leases(ctx context.Context) ([]ledger.Lease, error) {
	cur, err := s.db.Collection(leasesColl).Find(ctx, bson.D{})
	if err != nil {
		return nil, normalize(err)
	}
	var ls []ledger.Lease
	if err := cur.All(ctx, &ls); err != nil {
		return nil, normalize(err)
	}
	slices.SortFunc(ls, func(a, b ledger.Lease) int { return int(b.Epoch - a.Epoch) })
	return ls, nil
}

// Current implements ledger.Leases.
func (s *Store) Current(ctx context.Context) (ledger.Lease, error) {
	ls, err := s.leases(ctx)
	if err != nil || len(ls) == 0 {
		return ledger.Lease{}, err
	}
	return ls[0], nil
}

// Acquire implements ledger.Leases: the insert of a new epoch is the compare-and-set,
// because only one insert of an _id can succeed, on FerretDB (which has no atomic
// find-and-modify) as on MongoDB.
func (s *Store) Acquire(ctx context.Context, l ledger.Lease) error {
	_, err := s.db.Collection(leasesColl).InsertOne(ctx, l)
	if err := normalize(err); err != nil {
		if errors.Is(err, ledger.ErrConflict) {
			return ledger.ErrLeaseTaken
		}
		return err
	}
	ls, err := s.leases(ctx)
	if err == nil && len(ls) > keepLeases {
		for _, old := range ls[keepLeases:] {
			s.db.Collection(leasesColl).DeleteOne(ctx, bson.D{{Key: "_id", Value: old.Epoch}})
		}
	}
	return nil
}

// Renew implements ledger.Leases.
func (s *Store) Renew(ctx context.Context, l ledger.Lease) (ledger.Lease, error) {
	cur, err := s.Current(ctx)
	if err != nil {
		return l, err
	}
	if cur.Epoch != l.Epoch || cur.Holder != l.Holder {
		return cur, ledger.ErrLeaseTaken
	}
	l.Beat = cur.Beat + 1
	l.At = time.Now().UTC()
	_, err = s.db.Collection(leasesColl).UpdateOne(ctx,
		bson.D{{Key: "_id", Value: l.Epoch}, {Key: "holder", Value: l.Holder}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "beat", Value: l.Beat}, {Key: "at", Value: l.At}, {Key: "addr", Value: l.Addr}}}})
	return l, normalize(err)
}
