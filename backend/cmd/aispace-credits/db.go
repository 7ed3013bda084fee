package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// runDB serves the embedded MongoDB-compatible database (FerretDB on SQLite) as a
// process of its own, so several instances of the server can share one database.
func runDB(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("db", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "./data-db", "directory of the SQLite files")
	socket := fs.String("socket", "", "unix socket to listen on (default <data>/mongodb.sock)")
	tcp := fs.String("listen", "", "TCP address to listen on as well, e.g. 127.0.0.1:27017")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := envFlags(fs, getenv, nil); err != nil {
		return err
	}
	if err := os.MkdirAll(*data, 0o700); err != nil {
		return err
	}
	abs, _ := filepath.Abs(*data)
	if *socket == "" {
		*socket = filepath.Join(abs, "mongodb.sock")
	}
	os.Remove(*socket)
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{Unix: *socket, TCP: *tcp},
		Handler:   "sqlite",
		SQLiteURL: "file:" + abs + "/?_pragma=synchronous(full)",
		Logger:    slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError})),
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "mongodb://"+url.PathEscape(*socket)+"/")
	return f.Run(ctx)
}
