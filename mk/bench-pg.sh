#!/bin/sh
# Parley on PostgreSQL, measured from the outside in one sitting. It
# starts a throwaway PostgreSQL cluster with PostgreSQL's default
# durability (bin/parley-bench pg: fsync, synchronous_commit and
# full_page_writes on), then:
#  1. one server on it, loaded as make bench loads the SQLite server: 1 000
#     streams at 20 posts/s, and the throughput probe with 100 streams;
#  2. two servers, A and B, on one database: 1 000 streams on B, posts to A
#     at 20/s, each message timed from its post on A to every stream on B;
#  3. two fresh servers on a fresh database: 1 000 streams on each and 20
#     posts/s in all, 10 posted to each server (two parley-bench at once,
#     told apart by their wave numbers, each posting to the server it does
#     not read): every stream gets 20 messages a second, half of them from
#     the other server, and each tool times those.
# Each step gets a database of its own: on PostgreSQL the registration
# limit (200 an hour from one address) counts in the database.
# Pinning, on two CPUs or more: the Parley servers on CPU 0 (both of them in
# steps 2 and 3), PostgreSQL and parley-bench on CPU 1.
# Everything started here is stopped, and its files removed, on any exit.
set -u
. mk/bench-lib.sh

dir=$(mktemp -d "${TMPDIR:-/tmp}/parley-bench-pg.XXXXXX")
pids= pgpid=
cleanup() {
	for p in $pids; do kill -TERM "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
	if [ -n "$pgpid" ]; then
		kill -TERM "$pgpid" 2>/dev/null
		wait "$pgpid" 2>/dev/null
	fi
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

raise_file_limit
if pin_cpus; then
	echo "bench-pg: Parley servers pinned to CPU 0, PostgreSQL and parley-bench to CPU 1" >&2
else
	echo "bench-pg: not pinning (needs taskset and two CPUs)" >&2
fi

# shellcheck disable=SC2086 # the CPU pinning is meant to split
$bench_cpu bin/parley-bench pg -databases 3 >"$dir/pg.urls" 2>"$dir/pg.log" &
pgpid=$!
for _ in $(seq 600); do
	[ "$(wc -l <"$dir/pg.urls")" -ge 3 ] && break
	if ! kill -0 "$pgpid" 2>/dev/null; then
		cat "$dir/pg.log" >&2
		echo "bench-pg: PostgreSQL did not start" >&2
		exit 1
	fi
	sleep 0.1
done
[ "$(wc -l <"$dir/pg.urls")" -ge 3 ] || { echo "bench-pg: PostgreSQL did not start in 60 s" >&2; exit 1; }
db() { sed -n "$1p" "$dir/pg.urls"; }

# tool OUT FLAGS... starts parley-bench pinned, in the background (so a
# signal reaches this script's trap at once), its tables to $dir/OUT.md;
# it sets tpid. finish PID waits for it and stops the run if it failed.
tool() {
	out=$1
	shift
	# shellcheck disable=SC2086 # the pinning and BENCH_PG_FLAGS are meant to split
	$bench_cpu bin/parley-bench "$@" ${BENCH_PG_FLAGS:-} >"$dir/$out.md" &
	tpid=$!
	pids="$tpid $pids"
}
finish() {
	wait "$1" || { echo "bench-pg: parley-bench failed" >&2; exit 1; }
}

# start_pair NAME DB starts two servers, NAMEa and NAMEb, on the database
# DB, and sets a_pid, a_url, b_pid, b_url and pids.
start_pair() {
	start_parley "${1}a" "$server_cpu" -db "$2"
	a_pid=$pid a_url=$url
	start_parley "${1}b" "$server_cpu" -db "$2"
	b_pid=$pid b_url=$url
	pids="$a_pid $b_pid"
}

echo "bench-pg: 1. one server on PostgreSQL" >&2
start_parley one "$server_cpu" -db "$(db 1)" -post-rate 1000
pids=$pid
tool one -url "$url" -pid "$pid" -debug-addr "$debug" -load 1000:200@20
finish "$tpid"
stop_parley "$pid"

echo "bench-pg: 2. 1 000 streams on B, posts to A" >&2
start_pair "" "$(db 2)"
tool cross -url "$b_url" -pid "$b_pid" -post-url "$a_url" -load 1000:200@20 -probe=false
finish "$tpid"
stop_parley "$a_pid"
stop_parley "$b_pid"

echo "bench-pg: 3. 1 000 streams on each server, 20 posts/s in all, 10 to each (progress of the one on B)" >&2
start_pair 3 "$(db 3)"
tool each-on-a -url "$a_url" -pid "$a_pid" -post-url "$b_url" -load 1000:100@10 -probe=false \
	-wave-from 1000 2>"$dir/each-on-a.err"
on_a=$tpid
tool each-on-b -url "$b_url" -pid "$b_pid" -post-url "$a_url" -load 1000:100@10 -probe=false
finish "$tpid"
wait "$on_a" || { cat "$dir/each-on-a.err" >&2; echo "bench-pg: parley-bench failed" >&2; exit 1; }

for f in one cross each-on-b each-on-a; do
	echo
	echo "## $f"
	cat "$dir/$f.md"
done

# fanout LABEL FILE prints the latency row of FILE's table (its tool
# posted 20/s, or 10/s in step 3).
fanout() {
	awk -F'|' -v label="$1" '$5 ~ /^ *(200 @ 20|100 @ 10)\/s *$/ {
		gsub(/ /, "", $10); gsub(/ /, "", $11); gsub(/ /, "", $13); gsub(/ /, "", $14); gsub(/ /, "", $15)
		printf "| %s | p50 %s, p99 %s | %s / %s / %s |\n", label, $10, $11, $13, $14, $15
	}' "$dir/$2.md"
}
echo
echo "## Summary"
echo
echo "| 1 000 streams, 20 posts/s | latency | lost / dup / out of order |"
echo "|---|---|---|"
fanout "one server on PostgreSQL" one
fanout "on B, posts to A" cross
fanout "on each: on B, posts to A" each-on-b
fanout "on each: on A, posts to B" each-on-a
echo
sed -n 's/^Highest sustained rate/One server on PostgreSQL, throughput probe (100 streams): highest sustained rate/p' "$dir/one.md"
