package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"parley/store"
)

// runBackup is `parley backup [-db parley.db] FILE`: it writes a
// consistent copy of the database into the new FILE, also while a server
// runs on it. On a terminal it shows how far it got.
func runBackup(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	e := envReader{getenv: getenv}
	fs := flag.NewFlagSet("parley backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: parley backup [-db parley.db] FILE")
		fs.PrintDefaults()
	}
	db := fs.String("db", e.str("PARLEY_DB", "parley.db"), "SQLite database `file` to copy [PARLEY_DB]")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errors.New("backup: name one new FILE to write the copy to")
	}
	dst := fs.Arg(0)

	var progress func(done, total int64)
	if isTerminal(stdout) {
		progress = func(done, total int64) {
			pct := 100 * done / max(total, 1)
			fmt.Fprintf(stdout, "\rbackup: %s of %s (%d%%)", mib(done), mib(total), min(pct, 100))
		}
	}
	res, err := store.Backup(ctx, *db, dst, progress)
	if progress != nil {
		fmt.Fprint(stdout, "\r\x1b[K") // clear the progress line
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backup: wrote %s (%s, %d messages) in %.1fs\n",
		dst, mib(res.Size), res.Messages, res.Elapsed.Round(100*time.Millisecond).Seconds())
	return nil
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// mib formats a size in mebibytes.
func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
