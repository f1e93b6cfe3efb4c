#!/bin/sh
# What the full-text index costs the server's insert throughput: runs of
# the throughput probe at a rate past what the server can take, alternately
# on a database without the index's insert trigger and with it, each on a
# fresh database, and the medians. The probe keeps one stream open, so that
# the runs measure posting (store, acknowledge) rather than fan-out.
set -u
. mk/bench-lib.sh

runs=${BENCH_RUNS:-3}
rate=${BENCH_RATE:-12000}
dir=
pid=
cleanup() {
	if [ -n "$pid" ]; then
		kill -TERM "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	if [ -n "$dir" ]; then rm -rf "$dir"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

raise_file_limit
if pin_cpus; then
	echo "bench-insert: server pinned to CPU 0, parley-bench to CPU 1" >&2
fi

# run INDEX prints the posts per second the server took, on a fresh
# database with the index's insert trigger (INDEX true) or without.
run() {
	dir=$(mktemp -d "${TMPDIR:-/tmp}/parley-bench.XXXXXX")
	bin/parley-bench prepare -db "$dir/bench.db" -people 1 -tokens "$dir/people.txt" \
		-search-index="$1" 2>/dev/null || exit 1
	start_parley server "$server_cpu" -db "$dir/bench.db" -post-rate 1000
	$bench_cpu bin/parley-bench -url "$url" -pid "$pid" -load "" -probe-streams 1 \
		-probe-start "$rate" -probe-max "$rate" -probe-step 6s >"$dir/out.txt" 2>&1 || {
		cat "$dir/out.txt" >&2
		exit 1
	}
	stop_parley "$pid"
	pid=
	# The probe's row: | streams | people | per person | posts @ rate | achieved | ...
	sed -n 's/^| 1 | 1 | 1 | [^|]* | \([0-9]*\)\/s |.*/\1/p' "$dir/out.txt"
	rm -rf "$dir"
	dir=
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

with= without=
for i in $(seq "$runs"); do
	w=$(run false)
	x=$(run true)
	[ -n "$w" ] && [ -n "$x" ] || { echo "bench-insert: run $i gave no figure" >&2; exit 1; }
	echo "run $i: $x posts/s with the index, $w without" >&2
	with="$with $x" without="$without $w"
done
mw=$(echo "$with" | tr ' ' '\n' | grep . | median)
mo=$(echo "$without" | tr ' ' '\n' | grep . | median)
echo "insert throughput with the index: median $mw posts/s (runs:$with) against $mo without (runs:$without): $((100 * mw / mo)) %"
