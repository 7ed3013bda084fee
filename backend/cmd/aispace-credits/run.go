package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// version is set at build time (-ldflags "-X main.version=...").
var version = "dev"

const usage = `aispace-credits — credits, Secure Keys and payments for an AI platform

Usage:
  aispace-credits serve [flags]   run the server (see -h for its flags)
  aispace-credits db [flags]      run the embedded database on its own, for several
                                  instances to share (see -h)
  aispace-credits admin [flags]   support's tools against the running server (see admin -h)
  aispace-credits version         print the version
`

// run is the whole program, with its environment passed in so tests can run it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("a subcommand is needed")
	}
	switch args[0] {
	case "serve":
		cfg, err := parseServe(args[1:], getenv, stderr)
		if err != nil {
			return err
		}
		return serve(ctx, cfg, stdout, stderr)
	case "db":
		return runDB(ctx, args[1:], getenv, stdout, stderr)
	case "admin":
		return runAdmin(ctx, args[1:], getenv, stdout, stderr)
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, "aispace-credits", version)
		return nil
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown subcommand %q", args[0])
	}
}

// envFlags fills every flag not given on the command line from its environment
// variable: the flag's name in upper case with dashes as underscores, prefixed
// AISPACE_ (-public-url ← AISPACE_PUBLIC_URL). Some flags also read a well-known
// name (-mongodb-uri ← MONGODB_URI).
func envFlags(fs *flag.FlagSet, getenv func(string) string, aliases map[string]string) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || err != nil {
			return
		}
		v := getenv(envName(f.Name))
		if v == "" && aliases[f.Name] != "" {
			v = getenv(aliases[f.Name])
		}
		if v != "" {
			if e := f.Value.Set(v); e != nil {
				err = fmt.Errorf("%s=%q: %w", envName(f.Name), v, e)
			}
		}
	})
	return err
}

func envName(flagName string) string {
	return "AISPACE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// durationOrSeconds reads "2s", "500ms" or a plain number of seconds.
func durationOrSeconds(v string) (time.Duration, error) {
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		return time.Duration(n * float64(time.Second)), nil
	}
	return time.ParseDuration(v)
}

func mkdirPrivate(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return nil
}
