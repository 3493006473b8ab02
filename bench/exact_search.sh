#!/usr/bin/env bash
# bench/exact_search.sh [exact_search.py options]: vecdb's exact search
# against faiss IndexFlatL2, on a throwaway cluster set up as targets.md
# says (shared_buffers 4GB, jit off, one thread per query). Runs the vecdb
# that is installed: `make install` (or bash scripts/demo) first.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib.sh
source "$repo/scripts/lib.sh"
PYTHON=${PYTHON:-/usr/bin/python3}

dir=$(mktemp -d /tmp/vecdb-exact-search.XXXXXX)
chmod 755 "$dir"
cleanup()
{
	vecdb_cluster_stop "$dir"
	rm -rf "$dir"
}
trap cleanup EXIT

vecdb_cluster_start "$dir" \
	"shared_buffers = '4GB'" \
	"maintenance_work_mem = '4GB'" \
	"max_parallel_maintenance_workers = 1" \
	"max_parallel_workers_per_gather = 0" \
	"jit = off"

"$PYTHON" "$repo/bench/exact_search.py" "$@"
