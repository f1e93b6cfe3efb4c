#!/bin/sh
# Starts bin/parley on a temporary database with a raised open-file limit
# and its loopback debug listener, then runs bin/parley-bench against it;
# on a machine with two cores or more, each gets a core of its own.
set -u
. mk/bench-lib.sh

dir=$(mktemp -d "${TMPDIR:-/tmp}/parley-bench.XXXXXX")
pid=
cleanup() {
	if [ -n "$pid" ]; then
		kill -TERM "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	# With the profiles goes the server's request log (each request's time).
	if [ -n "${BENCH_PROFILE:-}" ] && [ -f "$dir/server.log" ]; then
		mkdir -p "$BENCH_PROFILE" && cp "$dir/server.log" "$BENCH_PROFILE/"
	fi
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

raise_file_limit

if pin_cpus; then
	echo "bench: server pinned to CPU 0, parley-bench to CPU 1" >&2
else
	echo "bench: not pinning (needs taskset and two CPUs); the numbers include both sharing cores" >&2
fi

# The people scenario: BENCH_PEOPLE accounts, each with one session, made
# in the database before the server starts (registering them through the
# web would hash a password for each); each person then opens one stream.
people=${BENCH_PEOPLE:-10000}
people_flags=
if [ "$people" -gt 0 ]; then
	echo "bench: preparing $people people" >&2
	bin/parley-bench prepare -db "$dir/bench.db" -people "$people" -tokens "$dir/people.txt" || exit 1
	people_flags="-people-tokens $dir/people.txt -people-load $people:40@2"
	# Room lists to people looking at other rooms: a thousand of them (or
	# all but one), each in their direct room with person-0, who posts.
	elsewhere=$((people > 1000 ? 1000 : people - 1))
	if [ "$elsewhere" -gt 0 ]; then
		people_flags="$people_flags -elsewhere-load $elsewhere:30@1"
	fi
fi

# start_server FLAGS... starts bin/parley on the bench database.
start_server() { start_parley server "$server_cpu" -db "$dir/bench.db" "$@"; }

stop_server() {
	stop_parley "$pid"
	pid=
}

# The probe posts thousands of messages a second from 100 accounts, past
# the default per-account limit.
start_server -post-rate 1000

profile=
if [ -n "${BENCH_PROFILE:-}" ]; then profile="-profile $BENCH_PROFILE"; fi
# shellcheck disable=SC2086 # the flags are meant to split
$bench_cpu bin/parley-bench -url "$url" -pid "$pid" -debug-addr "$debug" $profile $people_flags ${BENCH_FLAGS:-} || exit 1

# The same people again, each with one stream over HTTP/2 (100 to a
# connection, as tabs share a browser's), on the server serving HTTPS
# with a certificate made for the run.
if [ "$people" -gt 0 ]; then
	stop_server
	(cd "$dir" && ${GO:-go} run "$(${GO:-go} env GOROOT)/src/crypto/tls/generate_cert.go" \
		-host 127.0.0.1 -ecdsa-curve P256 2>/dev/null) || exit 1
	start_server -tls-cert "$dir/cert.pem" -tls-key "$dir/key.pem"
	$bench_cpu bin/parley-bench -url "$url" -pid "$pid" -debug-addr "$debug" \
		-people-tokens "$dir/people.txt" -h2-people "$people"
fi
