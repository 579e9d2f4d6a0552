#!/bin/sh
# A throwaway PostgreSQL 15 cluster for tests, from Debian's packages.
#
#   scripts/pg-cluster.sh start DIR   initdb in DIR (made; must be missing
#                                     or empty), start it, print a libpq URL
#   scripts/pg-cluster.sh stop DIR    stop it and remove DIR
#
# The server runs as an unprivileged user: the caller, or when run as
# root the system user "postgres" (Debian's; "isms-pg" is made when it is
# missing). It listens on 127.0.0.1 on a free port and on a Unix socket
# in DIR, with fsync and synchronous_commit on (durable commits, as in
# production; PG_DURABLE=off turns both off for tests that never stop the
# server). The database "isms" belongs to the role "isms".
#
# The URL printed reaches the server through the socket in DIR (trust:
# only its owner, and root, can reach that directory). TCP on 127.0.0.1
# needs the password in DIR/pgpass (0600), e.g.
#   PGPASSFILE=DIR/pgpass psql "postgresql://isms@127.0.0.1:PORT/isms"
# DIR/url holds the socket URL, DIR/url-tcp the TCP one (no password).
set -eu

BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
MARK=.isms-pg-cluster

usage() {
	echo "usage: $0 start|stop DIR" >&2
	exit 2
}

die() {
	echo "pg-cluster: $*" >&2
	exit 1
}

[ $# -eq 2 ] || usage
cmd=$1
dir=$2
case "$dir" in
/*) ;;
*) dir="$(pwd)/$dir" ;;
esac

# as_user CMD...: runs a command as the cluster's owner
if [ "$(id -u)" -eq 0 ]; then
	if getent passwd postgres >/dev/null; then
		owner=postgres
	else
		owner=isms-pg
		getent passwd "$owner" >/dev/null ||
			useradd --system --no-create-home --home-dir /nonexistent \
				--shell /usr/sbin/nologin "$owner" ||
			die "cannot create the system user $owner"
	fi
	as_user() { runuser -u "$owner" -- "$@"; }
else
	owner=$(id -un)
	as_user() { "$@"; }
fi

# A TCP port on 127.0.0.1 nothing listens on (the server's start fails
# and is retried with another when one is taken meanwhile).
free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

start() {
	[ -x "$BIN/initdb" ] || die "no $BIN/initdb (install postgresql-15)"
	if [ -e "$dir" ]; then
		[ -d "$dir" ] || die "$dir exists and is not a directory"
		[ -z "$(ls -A "$dir")" ] || die "$dir is not empty"
	else
		mkdir -p "$dir"
	fi
	: >"$dir/$MARK"
	chmod 700 "$dir"
	[ "$(id -u)" -ne 0 ] || chown -R "$owner" "$dir"
	as_user test -w "$dir" ||
		die "$owner cannot reach $dir (a parent directory is closed to it)"

	pw=$(od -An -N18 -tx1 /dev/urandom | tr -d ' \n')
	umask 077
	printf '%s\n' "$pw" >"$dir/pwfile"
	[ "$(id -u)" -ne 0 ] || chown "$owner" "$dir/pwfile"
	as_user "$BIN/initdb" -D "$dir/data" -U isms --pwfile="$dir/pwfile" \
		-E UTF8 --locale=C.UTF-8 --auth-local=trust \
		--auth-host=scram-sha-256 >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log" >&2; die "initdb failed"; }
	rm -f "$dir/pwfile"

	# PG_DURABLE=off: no fsync, for tests that kill gateways, never the
	# server (an order of magnitude faster on a busy disk)
	durable=on
	[ "${PG_DURABLE:-on}" = off ] && durable=off
	tries=0
	while :; do
		port=$(free_port)
		cat >"$dir/data/postgresql.auto.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
unix_socket_permissions = 0700
fsync = $durable
synchronous_commit = $durable
full_page_writes = $durable
max_connections = 50
shared_buffers = '32MB'
logging_collector = off
EOF
		[ "$(id -u)" -ne 0 ] ||
			chown "$owner" "$dir/data/postgresql.auto.conf"
		if as_user "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" \
			-w -t 30 start >/dev/null 2>&1; then
			break
		fi
		tries=$((tries + 1))
		[ $tries -lt 5 ] ||
			{ tail -n 20 "$dir/server.log" >&2; die "the server did not start"; }
	done
	as_user "$BIN/createdb" -h "$dir" -p "$port" -U isms -O isms isms ||
		die "createdb failed"

	printf '127.0.0.1:%s:*:isms:%s\n' "$port" "$pw" >"$dir/pgpass"
	url="postgresql:///isms?host=$dir&port=$port&user=isms"
	printf '%s\n' "$url" >"$dir/url"
	printf 'postgresql://isms@127.0.0.1:%s/isms\n' "$port" >"$dir/url-tcp"
	chmod 600 "$dir/pgpass"
	chmod 644 "$dir/url" "$dir/url-tcp"
	printf '%s\n' "$url"
}

stop() {
	[ -d "$dir" ] || die "$dir is not a directory"
	[ -e "$dir/$MARK" ] || die "$dir is not a cluster this script started"
	if [ -f "$dir/data/postmaster.pid" ]; then
		as_user "$BIN/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop \
			>/dev/null 2>&1 || {
			# a server that does not stop is killed: nothing in it matters
			pid=$(head -n 1 "$dir/data/postmaster.pid" 2>/dev/null || true)
			[ -z "$pid" ] || kill -9 "$pid" 2>/dev/null || true
		}
	fi
	rm -rf "$dir"
}

case "$cmd" in
start) start ;;
stop) stop ;;
*) usage ;;
esac
