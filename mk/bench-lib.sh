# Shell functions shared by mk/bench.sh and mk/bench-pg.sh (sourced; they
# use the caller's $dir, a temporary folder).

# raise_file_limit raises the open-file limit to the hard one: each stream
# is a socket on both sides, so 10 000 streams need over 10 000
# descriptors in the server and in parley-bench.
raise_file_limit() {
	hard=$(ulimit -Hn)
	if [ "$hard" = unlimited ]; then ulimit -n 65536; else ulimit -n "$hard"; fi
	if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 10500 ]; then
		echo "bench: the open-file limit is $(ulimit -n); 10 000 streams need about 10 500 (raise the hard limit)" >&2
	fi
}

# pin_cpus sets server_cpu and bench_cpu to taskset commands for CPU 0 and
# CPU 1, and fails (leaving them empty) without taskset or two CPUs.
pin_cpus() {
	server_cpu= bench_cpu=
	command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ] &&
		taskset -c 0 true 2>/dev/null && taskset -c 1 true 2>/dev/null || return 1
	server_cpu="taskset -c 0" bench_cpu="taskset -c 1"
}

# start_parley NAME CPU FLAGS... starts bin/parley on a loopback port with
# its debug listener, pinned by the command CPU (may be empty), its output
# in $dir/NAME.stdout and its log in $dir/NAME.log, and sets pid, url
# (where it listens) and debug.
start_parley() {
	name=$1 cpu=$2
	shift 2
	: >"$dir/$name.stdout"
	# shellcheck disable=SC2086 # the CPU pinning is meant to split
	$cpu bin/parley -addr 127.0.0.1:0 -debug-addr 127.0.0.1:0 "$@" \
		>"$dir/$name.stdout" 2>>"$dir/$name.log" &
	pid=$!
	url= debug=
	for _ in $(seq 300); do
		url=$(sed -n 's|.*listening on \(https*://[^ ]*\).*|\1|p' "$dir/$name.stdout" 2>/dev/null)
		debug=$(sed -n 's|.*debug endpoints on http://\([^/]*\)/.*|\1|p' "$dir/$name.stdout" 2>/dev/null)
		[ -n "$url" ] && [ -n "$debug" ] && return 0
		if ! kill -0 "$pid" 2>/dev/null; then
			cat "$dir/$name.log" >&2
			echo "bench: the server $name did not start" >&2
			exit 1
		fi
		sleep 0.1
	done
	echo "bench: the server $name did not say where it listens" >&2
	exit 1
}

# stop_parley PID stops a server as an operator would (SIGTERM) and waits.
stop_parley() {
	kill -TERM "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}
