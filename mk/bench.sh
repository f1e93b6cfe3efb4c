#!/bin/sh
# Starts bin/parley on a temporary database with a raised open-file limit
# and its loopback debug listener, then runs bin/parley-bench against it;
# on a machine with two cores or more, each gets a core of its own.
set -u

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

# Each stream is a socket on both sides: 10 000 streams need over 10 000
# descriptors in the server and in parley-bench.
hard=$(ulimit -Hn)
if [ "$hard" = unlimited ]; then ulimit -n 65536; else ulimit -n "$hard"; fi
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 10500 ]; then
	echo "bench: the open-file limit is $(ulimit -n); 10 000 streams need about 10 500 (raise the hard limit)" >&2
fi

server_cpu= bench_cpu=
if command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ] &&
	taskset -c 0 true 2>/dev/null && taskset -c 1 true 2>/dev/null; then
	server_cpu="taskset -c 0" bench_cpu="taskset -c 1"
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

# start_server FLAGS... starts bin/parley on the bench database with its
# debug listener, and sets pid, url (where it listens) and debug.
start_server() {
	: >"$dir/stdout"
	# shellcheck disable=SC2086 # the CPU pinning is meant to split
	$server_cpu bin/parley -addr 127.0.0.1:0 -db "$dir/bench.db" -debug-addr 127.0.0.1:0 \
		"$@" >"$dir/stdout" 2>>"$dir/server.log" &
	pid=$!
	url= debug=
	for _ in $(seq 100); do
		url=$(sed -n 's|.*listening on \(https*://[^ ]*\).*|\1|p' "$dir/stdout" 2>/dev/null)
		debug=$(sed -n 's|.*debug endpoints on http://\([^/]*\)/.*|\1|p' "$dir/stdout" 2>/dev/null)
		[ -n "$url" ] && [ -n "$debug" ] && return 0
		if ! kill -0 "$pid" 2>/dev/null; then
			cat "$dir/server.log" >&2
			echo "bench: the server did not start" >&2
			exit 1
		fi
		sleep 0.1
	done
	echo "bench: the server did not say where it listens" >&2
	exit 1
}

stop_server() {
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
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
