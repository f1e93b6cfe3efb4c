//go:build unix

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"parley/internal/pgtest"
)

// pgCluster starts a throwaway PostgreSQL cluster for a bench run, with
// PostgreSQL's default durability (each commit waits for the disk), makes
// empty databases on it, writes their URLs to stdout, one a line, and
// waits; on SIGINT or SIGTERM (ctx) it stops the cluster and removes its
// folder. As root the cluster runs as the postgres user.
func pgCluster(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("parley-bench pg", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("databases", 1, "empty databases to make, one URL a line on standard output")
	fast := fs.Bool("fast", false, "the tests' settings instead: fsync, synchronous_commit and full_page_writes off")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case *n < 1:
		return errors.New("-databases must be at least 1")
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	start := pgtest.StartDurable
	if *fast {
		start = pgtest.Start
	}
	c, err := start()
	if err != nil {
		return err
	}
	defer func() {
		if err := c.Stop(); err != nil {
			fmt.Fprintln(stderr, "parley-bench pg:", err)
		}
	}()
	for range *n {
		u, err := c.NewDatabase(ctx)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintln(stdout, u); err != nil {
			return err
		}
	}
	fmt.Fprintf(stderr, "parley-bench pg: PostgreSQL on 127.0.0.1:%d until SIGINT or SIGTERM\n", c.Port())
	<-ctx.Done()
	return nil
}
