# pg_lib.sh - a PostgreSQL server of a test's own (source after lib.sh):
# initdb in $WORK/pg as user postgres, listening only on a unix socket
# there, database "weft"; DB_URI names it for weft-hub. pg_cleanup stops
# it whatever state it is in: call it from the exit trap before lib.sh's
# cleanup.
#   pg_available     0 when the server programs and user are there
#   pg_init [OPT]    create, start (extra "-c name=value" server options
#                    in OPT) and create the database; dies on failure
#   pg_start, pg_kill   start again, stop at once (-m immediate)

PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
PGDIR=$WORK/pg
DB_URI="postgresql://postgres@/weft?host=$PGDIR"
PG_OPTS=

pg_available() {
    [[ -n $PG_BIN && -x $PG_BIN/initdb && -x $PG_BIN/pg_ctl ]] &&
        id postgres >/dev/null 2>&1 && command -v runuser >/dev/null
}
pg() { (cd / && runuser -u postgres -- "$PG_BIN/$1" "${@:2}"); }
pg_start() {
    pg pg_ctl -D "$PGDIR/data" -l "$WORK/postgres.log" -w -t 30 \
        -o "-c listen_addresses='' -c unix_socket_directories='$PGDIR' $PG_OPTS" \
        start >/dev/null
}
pg_kill() { pg pg_ctl -D "$PGDIR/data" -m immediate -w -t 30 stop >/dev/null 2>&1; }
pg_cleanup() {
    local pid
    [[ -f $PGDIR/data/postmaster.pid ]] || return 0
    pg_kill
    pid=$(head -1 "$PGDIR/data/postmaster.pid" 2>/dev/null)
    [[ -n $pid ]] && kill -KILL "$pid" 2>/dev/null
    return 0
}
pg_init() {
    PG_OPTS=${1:-}
    chmod 755 "$WORK"
    mkdir "$PGDIR" && chown postgres "$PGDIR" && chmod 700 "$PGDIR"
    touch "$WORK/postgres.log" && chown postgres "$WORK/postgres.log"
    pg initdb -D "$PGDIR/data" -A trust -U postgres >"$WORK/initdb.log" 2>&1 ||
        die "initdb failed: $(tail -1 "$WORK/initdb.log")"
    pg_start || die "postgres did not start: $(tail -1 "$WORK/postgres.log")"
    pg psql -h "$PGDIR" -U postgres -qc "CREATE DATABASE weft" postgres >/dev/null ||
        die "CREATE DATABASE failed"
}
