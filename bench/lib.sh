# bench/lib.sh: shell helpers shared by the benchmark scripts (sourced).

# stop_all: SIGTERM every process in PIDS (started by the script itself),
# SIGKILL those still there after 3 s, reap them, empty PIDS.
stop_all() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do
		for _ in $(seq 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	PIDS=()
}
