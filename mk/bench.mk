# Benchmarks: `make bench` measures a running server from the outside with
# parley-bench; `make bench-go` runs the Go benchmarks of the hot paths.

BENCH_FLAGS   ?=
BENCH_PROFILE ?=
BENCH_PEOPLE  ?= 10000
BENCH_GO      ?= .
BENCH_TIME    ?= 1s
BENCH_PG_FLAGS ?=
BENCH_RUNS    ?= 3

.PHONY: bench bench-pg bench-go bench-insert

## bench: start a server on a temporary database and load it with parley-bench (BENCH_PEOPLE=n, BENCH_FLAGS=..., BENCH_PROFILE=dir)
bench:
	$(GO) build -o bin/parley ./cmd/parley
	$(GO) build -o bin/parley-bench ./cmd/parley-bench
	GO=$(GO) BENCH_FLAGS='$(BENCH_FLAGS)' BENCH_PROFILE='$(BENCH_PROFILE)' BENCH_PEOPLE='$(BENCH_PEOPLE)' sh mk/bench.sh

## bench-pg: one server, then two, on a throwaway PostgreSQL: cross-server latency and the throughput probe (BENCH_PG_FLAGS=...)
bench-pg: pg-deps
	$(GO) build -o bin/parley ./cmd/parley
	$(GO) build -o bin/parley-bench ./cmd/parley-bench
	BENCH_PG_FLAGS='$(BENCH_PG_FLAGS)' sh mk/bench-pg.sh

## bench-insert: the server's insert throughput with the full-text index and without it, medians of BENCH_RUNS (3) runs each
bench-insert:
	$(GO) build -o bin/parley ./cmd/parley
	$(GO) build -o bin/parley-bench ./cmd/parley-bench
	BENCH_RUNS='$(BENCH_RUNS)' sh mk/bench-insert.sh

## bench-go: the Go benchmarks (hub fan-out, message insert, page render, replay)
bench-go:
	$(GO) test -run='^$$' -bench='$(BENCH_GO)' -benchtime=$(BENCH_TIME) -benchmem ./hub ./store ./views ./handlers
