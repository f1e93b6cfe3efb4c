package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// Pipelining on PostgreSQL. A job that is one statement (a new message)
// may also say so: a piped statement. Where the dialect can pipeline, the
// writer sends the statements of consecutive such jobs in its batch
// together, and reads their answers together: one round trip for them
// all instead of one each. Each job keeps its run, which the writer uses
// when the batch runs again with savepoints (batch.go).

// A piped is a job as one statement, and what to make of its one row.
// When the statement returns no row, it must have changed nothing, and
// the job then runs as usual (its run), after the pipeline.
type piped struct {
	query string
	args  []any
	scan  func(row scanner) ([]Message, error)
}

// errRun marks a piped job whose statement returned no row, to be run.
var errRun = errors.New("store: pipeline: run the job")

// errPipeline means the connection is not pgx's and cannot pipeline; the
// batch then runs again with savepoints, job by job.
var errPipeline = errors.New("store: pipeline: no answer")

// pgPipeline sends the piped statements of jobs on conn, in the writer's
// transaction open on it, in one round trip, and sets each job's messages
// and error from its answer, errRun for a job whose statement returned no
// row. It fails when the pipeline or any of its statements failed: the
// transaction is then of no use.
func pgPipeline(ctx context.Context, conn *sql.Conn, jobs []*job) error {
	return conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return errPipeline
		}
		var b pgx.Batch
		for _, j := range jobs {
			b.Queue(j.pipe.query, j.pipe.args...)
		}
		br := sc.Conn().SendBatch(ctx, &b)
		var first error
		for _, j := range jobs {
			j.msgs, j.err = j.pipe.scan(br.QueryRow())
			if errors.Is(j.err, pgx.ErrNoRows) {
				j.msgs, j.err = nil, errRun
			} else if j.err != nil && first == nil {
				first = j.err
			}
		}
		if err := br.Close(); err != nil && first == nil {
			first = err
		}
		return first
	})
}
