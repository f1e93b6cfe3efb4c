# Benchmarks: `make bench` measures a running server from the outside with
# parley-bench; `make bench-go` runs the Go benchmarks of the hot paths.

BENCH_FLAGS   ?=
BENCH_PROFILE ?=
BENCH_PEOPLE  ?= 10000
BENCH_GO      ?= .
BENCH_TIME    ?= 1s

.PHONY: bench bench-go

## bench: start a server on a temporary database and load it with parley-bench (BENCH_PEOPLE=n, BENCH_FLAGS=..., BENCH_PROFILE=dir)
bench:
	$(GO) build -o bin/parley ./cmd/parley
	$(GO) build -o bin/parley-bench ./cmd/parley-bench
	GO=$(GO) BENCH_FLAGS='$(BENCH_FLAGS)' BENCH_PROFILE='$(BENCH_PROFILE)' BENCH_PEOPLE='$(BENCH_PEOPLE)' sh mk/bench.sh

## bench-go: the Go benchmarks (hub fan-out, message insert, page render, replay)
bench-go:
	$(GO) test -run='^$$' -bench='$(BENCH_GO)' -benchtime=$(BENCH_TIME) -benchmem ./hub ./store ./views ./handlers
