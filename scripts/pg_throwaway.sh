#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests, from Debian's postgresql package: a cluster in DIR that
# listens only on a Unix socket in DIR (no TCP port), trusts local connections as user "kinglet",
# and runs as "nobody" when started by root (PostgreSQL refuses to run as root; DIR's parent folders
# must then be searchable by nobody, e.g. a fresh `mktemp -d` under /tmp).
#   pg_throwaway.sh start DIR   prints the URL of database "postgres" (append ?... parameters freely)
#   pg_throwaway.sh stop DIR    stops it (DIR is left for the caller to remove)
# Exit status 3: no PostgreSQL server binaries on this machine.
set -euo pipefail
cmd=${1:?start or stop}
dir=${2:?folder for the cluster}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  echo "pg_throwaway: no PostgreSQL server binaries (/usr/lib/postgresql/*/bin); install Debian's postgresql" >&2
  exit 3
fi
as=()
if [ "$(id -u)" = 0 ]; then as=(setpriv --reuid=nobody --regid=nogroup --clear-groups --); fi
case "$cmd" in
  start)
    mkdir -p "$dir"
    chmod 700 "$dir"
    if ((${#as[@]})); then chown nobody:nogroup "$dir"; fi
    if ! "${as[@]}" "$bin/initdb" -D "$dir/data" -U kinglet --auth=trust --no-sync -E UTF8 --no-locale \
        >"$dir/initdb.log" 2>&1; then
      cat "$dir/initdb.log" >&2
      exit 1
    fi
    if ! "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-k $dir -p 5432 -c listen_addresses='' -c fsync=off" start >/dev/null; then
      cat "$dir/server.log" >&2
      exit 1
    fi
    echo "postgresql:///postgres?host=$dir&port=5432&user=kinglet"
    ;;
  stop)
    "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    ;;
  *)
    echo "pg_throwaway: unknown command '$cmd' (start or stop)" >&2
    exit 2
    ;;
esac
