package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Config says where the data lives.
type Config struct {
	// URI of an external MongoDB-compatible server. Empty: start the embedded one.
	URI string
	// DataDir holds the embedded server's SQLite files and its socket.
	DataDir string
	// Database name; default "aispace".
	Database string
	Logger   *slog.Logger
}

// Collections of the product. The journal grows; the others stay tiny or are read
// once at start, so no request path ever queries a large collection.
const (
	journalColl   = "journal"
	snapshotsColl = "snapshots" // one small manifest per complete snapshot
	leasesColl    = "leases"
	chunkPrefix   = "snapshot_" // each snapshot's chunks in a collection of their own
)

// Store is MongoDB as the ledger uses it: a journal, snapshots and a lease.
type Store struct {
	client *mongo.Client
	db     *mongo.Database
	log    *slog.Logger
	// Embedded is the in-process FerretDB when no URI was given.
	embedded     *ferretdb.FerretDB
	stopEmbedded context.CancelFunc
	embeddedDone chan struct{}
	uri          string
	// indexed: the server uses its _id index for ranges (MongoDB), unlike the
	// embedded FerretDB on SQLite, which scans.
	indexed bool
}

// Open connects to cfg.URI, or starts the embedded server under cfg.DataDir and
// connects to it over a unix socket (in a directory only this user can enter), then
// creates the indexes (idempotently).
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Database == "" {
		cfg.Database = "aispace"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Store{log: cfg.Logger, uri: cfg.URI}
	if cfg.URI == "" {
		uri, err := s.startEmbedded(cfg.DataDir)
		if err != nil {
			return nil, err
		}
		s.uri = uri
	}
	client, err := mongo.Connect(options.Client().ApplyURI(s.uri).
		SetServerSelectionTimeout(10 * time.Second).
		SetRetryWrites(false)) // FerretDB has no retryable writes; retries are ours
	if err != nil {
		s.Close(context.Background())
		return nil, fmt.Errorf("store: connect: %w", err)
	}
	s.client = client
	s.db = client.Database(cfg.Database)
	if err := s.waitReady(ctx); err != nil {
		s.Close(context.Background())
		return nil, err
	}
	if err := s.createIndexes(ctx); err != nil {
		s.Close(context.Background())
		return nil, err
	}
	s.indexed = !s.isFerretDB(ctx)
	return s, nil
}

// URI is where the store is connected: the embedded server's socket or cfg.URI.
func (s *Store) URI() string { return s.uri }

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	return s.db.RunCommand(ctx, bson.D{{Key: "ping", Value: 1}}).Err()
}

// Close disconnects and stops the embedded server, if any.
func (s *Store) Close(ctx context.Context) error {
	var err error
	if s.client != nil {
		err = s.client.Disconnect(ctx)
	}
	if s.stopEmbedded != nil {
		s.stopEmbedded()
		<-s.embeddedDone
	}
	return err
}

func (s *Store) startEmbedded(dataDir string) (string, error) {
	if dataDir == "" {
		return "", errors.New("store: a data directory is needed for the embedded database")
	}
	dbDir := filepath.Join(dataDir, "db")
	if err := os.MkdirAll(dbDir, 0o700); err != nil {
		return "", fmt.Errorf("store: %w", err)
	}
	sock, err := socketPath(dataDir)
	if err != nil {
		return "", err
	}
	os.Remove(sock) // a socket left by a killed process
	f, err := ferretdb.New(&ferretdb.Config{
		Listener: ferretdb.ListenerConfig{Unix: sock},
		Handler:  "sqlite",
		// synchronous(full): a commit returns only once it is on disk.
		SQLiteURL: "file:" + dbDir + "/?_pragma=synchronous(full)",
		Logger:    slog.New(quietHandler{s.log.Handler()}), // its warnings are about every closed session
	})
	if err != nil {
		return "", fmt.Errorf("store: embedded database: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.embedded, s.stopEmbedded, s.embeddedDone = f, cancel, make(chan struct{})
	go func() {
		defer close(s.embeddedDone)
		f.Run(ctx)
	}()
	return "mongodb://" + url.PathEscape(sock) + "/", nil
}

// socketPath is the embedded server's socket, in a directory of mode 0700 inside the
// data dir. Unix socket paths are limited to 107 bytes; a data dir too deep for that
// gets its socket in a private temporary directory instead.
func socketPath(dataDir string) (string, error) {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(abs, "run")
	if len(filepath.Join(dir, "mongodb.sock")) > 100 {
		if dir, err = os.MkdirTemp("", "aispace-db-"); err != nil {
			return "", fmt.Errorf("store: %w", err)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("store: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return "", fmt.Errorf("store: %w", err)
	}
	return filepath.Join(dir, "mongodb.sock"), nil
}

func (s *Store) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		err := s.Ping(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("store: database not answering: %w", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// createIndexes creates what a real MongoDB needs to keep start-up fast; creating an
// index that exists is a no-op, so every start calls it. (FerretDB on SQLite accepts
// them; they cost nothing on a collection read once.)
func (s *Store) createIndexes(ctx context.Context) error {
	_, err := s.db.Collection(snapshotsColl).Indexes().CreateOne(ctx, mongo.IndexModel{
		Keys:    bson.D{{Key: "complete", Value: 1}, {Key: "_id", Value: -1}},
		Options: options.Index().SetName("complete_seq"),
	})
	if err != nil {
		return fmt.Errorf("store: create indexes: %w", err)
	}
	return nil
}

// quietHandler passes on the embedded server's errors only: its other logs are about
// every connection and closed session. It drops the attributes the server attaches to
// its per-connection loggers, which it makes for every request: formatting them
// ahead (as slog's handlers do) cost ~5% of the CPU of a charge.
type quietHandler struct{ slog.Handler }

func (h quietHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelError && h.Handler.Enabled(ctx, l)
}

func (h quietHandler) WithAttrs([]slog.Attr) slog.Handler { return h }

func (h quietHandler) WithGroup(string) slog.Handler { return h }

// Client is the driver's client, for tools that need the database beyond the ledger
// (the benchmark's naive design).
func (s *Store) Client() *mongo.Client { return s.client }

// isFerretDB reports whether the server is FerretDB (which says so in buildInfo).
func (s *Store) isFerretDB(ctx context.Context) bool {
	var info bson.M
	if err := s.client.Database("admin").RunCommand(ctx, bson.D{{Key: "buildInfo", Value: 1}}).Decode(&info); err != nil {
		return true // assume the slower server: both paths return the same entries
	}
	_, ferret := info["ferretdbVersion"]
	return ferret
}
