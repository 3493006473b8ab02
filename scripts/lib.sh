# scripts/lib.sh: shared by README's two commands (scripts/demo, test/run).
#
# Installs what a fresh Debian 12 machine lacks, builds and installs vecdb,
# and runs a throwaway PostgreSQL 15 cluster in a private directory. Source
# it; every function prefixes its output with "vecdb:".

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
VECDB_ROOT=${VECDB_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}

# Debian packages the build, the tests, the demo and the benchmarks use.
# libopenblas0-pthread: the BLAS alternative (libblas.so.3) then points to
# OpenBLAS, not the reference BLAS that makes faiss's batched searches (the
# benchmark's references) about 10 x slower. sqlsmith: test/run's random SQL.
VECDB_PACKAGES=(
	build-essential ca-certificates git sudo
	postgresql-15 postgresql-server-dev-15 postgresql-15-pgtap
	libtap-parser-sourcehandler-pgtap-perl libipc-run-perl
	libeigen3-dev libxsimd-dev libgtest-dev libbenchmark-dev
	clang-14 libclang-rt-14-dev
	python3 python3-numpy python3-psycopg python3-matplotlib
	python3-hnswlib python3-faiss dataset-fashion-mnist
	libopenblas0-pthread
	sqlsmith
)

vecdb_log() { echo "vecdb: $*" >&2; }

# Run as root, or through sudo when we are not root.
vecdb_as_root()
{
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Run as the cluster's owner: PostgreSQL refuses to run as root, so root
# hands the server to the postgres user that the postgresql-15 package makes.
# VECDB_SERVER_WRAPPERS, when set, is a directory searched before PG_BIN:
# test/run --asan puts a pg_ctl there that starts servers with libasan.
vecdb_as_owner()
{
	local path="${VECDB_SERVER_WRAPPERS:+$VECDB_SERVER_WRAPPERS:}$PG_BIN:$PATH"
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- env PATH="$path" "$@"
	else
		env PATH="$path" "$@"
	fi
}

vecdb_install_deps()
{
	local missing=()
	local pkg
	for pkg in "${VECDB_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" ||
			missing+=("$pkg")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	vecdb_log "installing ${missing[*]}"
	vecdb_as_root apt-get update -qq
	# (through env: sudo would drop a plain variable assignment)
	vecdb_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null
	# Debian's postgresql package starts a cluster on 5432; ours run on
	# private ports, so that one is left alone.
}

vecdb_build_install()
{
	local werror=
	[ -n "${CI:-}" ] && werror=VECDB_WERROR=1
	vecdb_log "building"
	make -C "$VECDB_ROOT" -s -j"$(nproc)" $werror PG_CONFIG="$PG_BIN/pg_config" all
	vecdb_as_root make -C "$VECDB_ROOT" -s PG_CONFIG="$PG_BIN/pg_config" install
}

# vecdb_build_install_sanitized TREE: build vecdb with ASan and UBSan
# (Makefile's VECDB_SANITIZE) in TREE, a copy of the checkout without its
# build products, and install it. The checkout's own objects stay as they
# are, so that a plain build after this one never links sanitized objects,
# and this one never reuses plain ones.
vecdb_build_install_sanitized()
{
	local tree=$1
	rm -rf "$tree"
	mkdir -p "$tree"
	tar -C "$VECDB_ROOT" --exclude=./.git --exclude='*.o' --exclude='*.so' --exclude='*.bc' \
		--exclude=./build --exclude=./results --exclude=./.demo -cf - . | tar -C "$tree" -xf -
	vecdb_log "building with AddressSanitizer and UBSan in $tree"
	make -C "$tree" -s -j"$(nproc)" VECDB_SANITIZE=1 PG_CONFIG="$PG_BIN/pg_config" all
	vecdb_as_root make -C "$tree" -s PG_CONFIG="$PG_BIN/pg_config" install
}

# vecdb_sanitizer_wrappers DIR LOGDIR: make DIR/pg_ctl, which runs PG_BIN's
# pg_ctl with gcc's libasan preloaded, so that every server it starts (the
# runner's, and the TAP tests' through PostgreSQL::Test::Cluster) can load
# the sanitized vecdb. Reports go to LOGDIR/report.PID, not to the server
# log; a finding aborts the process. Leaks are not looked for: a backend
# exits without freeing what it keeps to its end, by design. UBSan's runtime
# reads UBSAN_OPTIONS only at its first report, after the postmaster has
# written its process title over the environment: its reports go to the
# server log and the process exits with status 1 (test/run looks there too).
vecdb_sanitizer_wrappers()
{
	local dir=$1 logdir=$2 libasan
	libasan=$(${CXX:-g++} -print-file-name=libasan.so)
	[ -e "$libasan" ] || { vecdb_log "no libasan.so for ${CXX:-g++}"; return 1; }
	mkdir -p "$dir" "$logdir"
	# see test/asan/init_first.c: without it postgres hangs at its start
	${CC:-gcc} -shared -fPIC -O1 -Wl,-z,initfirst -o "$dir/init_first.so" \
		"$VECDB_ROOT/test/asan/init_first.c" || return 1
	[ "$(id -u)" -eq 0 ] && chown postgres: "$logdir"
	local common="log_path=$logdir/report:abort_on_error=1:disable_coredump=1"
	cat >"$dir/pg_ctl" <<-EOF
		#!/bin/sh
		# made by vecdb_sanitizer_wrappers (scripts/lib.sh)
		LD_PRELOAD=$libasan:$dir/init_first.so\${LD_PRELOAD:+:\$LD_PRELOAD}
		ASAN_OPTIONS=$common:detect_leaks=0:quarantine_size_mb=64
		UBSAN_OPTIONS=$common:print_stacktrace=1:halt_on_error=1
		export LD_PRELOAD ASAN_OPTIONS UBSAN_OPTIONS
		exec "$PG_BIN/pg_ctl" "\$@"
	EOF
	chmod 755 "$dir/pg_ctl"
}

# A TCP port nothing listens on.
vecdb_free_port()
{
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# vecdb_cluster_start DIR [extra postgresql.conf lines...]
# Creates and starts a cluster in DIR (made if missing) on a free port of
# 127.0.0.1, with its socket in DIR; exports PGHOST, PGPORT, PGUSER,
# PGDATABASE and VECDB_PGDATA for psql, pg_regress and the tests.
vecdb_cluster_start()
{
	local dir=$1
	shift
	mkdir -p "$dir"
	[ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
	local port
	port=$(vecdb_free_port)
	vecdb_log "starting PostgreSQL in $dir on port $port"
	vecdb_as_owner initdb -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log" >&2; return 1; }
	{
		echo "port = $port"
		echo "listen_addresses = '127.0.0.1'"
		echo "unix_socket_directories = '$dir'"
		echo "fsync = off"
		echo "jit = off"
		local line
		for line in "$@"; do echo "$line"; done
	} | vecdb_as_owner tee -a "$dir/data/postgresql.conf" >/dev/null
	vecdb_as_owner pg_ctl -D "$dir/data" -l "$dir/server.log" -w start >/dev/null ||
		{ cat "$dir/server.log" >&2; return 1; }
	export PGHOST=$dir PGPORT=$port PGUSER=postgres PGDATABASE=postgres VECDB_PGDATA=$dir/data
}

vecdb_cluster_stop()
{
	local dir=$1
	[ -f "$dir/data/postmaster.pid" ] || return 0
	vecdb_as_owner pg_ctl -D "$dir/data" -m fast -w stop >/dev/null || true
}
