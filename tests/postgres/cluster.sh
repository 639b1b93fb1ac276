#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests, on 127.0.0.1 and a socket in DIR.
#
#   tests/postgres/cluster.sh start DIR PORT   prints the URL (postgres://inferd@127.0.0.1:PORT/inferd)
#   tests/postgres/cluster.sh restart DIR      restarts the server (same port, same data)
#   tests/postgres/cluster.sh stop DIR         stops it (immediate); DIR stays for the caller to remove
#
# Uses Debian's server binaries (package postgresql: scripts/install-deps.sh test). initdb refuses
# to run as root: as root, the cluster runs as the postgres user, which owns DIR.
# Exit code 77 when PostgreSQL is not installed (the tests then say they skip, or fail under CI).
set -euo pipefail
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [[ -z $bin || ! -x $bin/initdb ]]; then
  echo "PostgreSQL's server is not installed (package postgresql: scripts/install-deps.sh test)" >&2
  exit 77
fi
as=()
if [[ $(id -u) -eq 0 ]]; then as=(runuser -u postgres --); fi
cmd=${1:?start|restart|stop}
dir=${2:?DIR}
case $cmd in
  start)
    port=${3:?PORT}
    mkdir -p "$dir"
    if ((${#as[@]})); then
      chown postgres: "$dir"
      # The postgres user must reach DIR: a private temporary parent (mktemp -d) lets it pass.
      chmod o+x "$(dirname "$(realpath "$dir")")"
    fi
    "${as[@]}" "$bin/initdb" -D "$dir/data" -U inferd --auth=trust -E UTF8 --no-sync \
      >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    # fsync off: a test cluster's durability is not under test (the server never crashes here;
    # inferd's replicas do).
    "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off" start >/dev/null ||
      { cat "$dir/server.log" >&2; exit 1; }
    "${as[@]}" "$bin/createdb" -h 127.0.0.1 -p "$port" -U inferd inferd
    echo "postgres://inferd@127.0.0.1:$port/inferd"
    ;;
  restart)
    "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 -m fast restart >/dev/null
    ;;
  stop)
    "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -w -m immediate stop >/dev/null 2>&1 || true
    ;;
  *)
    echo "usage: $0 start DIR PORT | restart DIR | stop DIR" >&2
    exit 2
    ;;
esac
