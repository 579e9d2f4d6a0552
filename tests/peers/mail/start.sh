#!/bin/bash
# Start the real mail peers for ismsd integration tests inside DIR:
#   - aiosmtpd SMTP server (smtp_server.py) delivering into DIR/mail/<address>/ (Maildir)
#   - Dovecot serving those Maildirs over IMAP, unprivileged, everything under DIR
# Writes DIR/env (shell assignments) and prints it.  See README.md.
#
# usage: start.sh DIR [options]
#   --smtp-port N        SMTP port (default 0 = ephemeral, chosen by the kernel)
#   --imap-port N        IMAP port (default: a free port picked by the script)
#   --tls                STARTTLS on SMTP and IMAP (+ implicit-TLS IMAPS port)
#   --smtp-tls           STARTTLS on SMTP only        --imap-tls   TLS on IMAP only
#   --require-starttls   SMTP refuses MAIL/AUTH before STARTTLS (implies --smtp-tls)
#   --auth-required      SMTP refuses MAIL before a successful AUTH
#   --auth-require-tls   SMTP offers AUTH only after STARTTLS (default: AUTH in clear is fine)
#   --users FILE         copy FILE to DIR/users   (address:password lines)
#   --policy FILE        copy FILE to DIR/policy.json (DKIM simulation + reject rules)
#   --hostname NAME      SMTP hostname used in banner and Received: (default mx.test.example)
#   --opendkim-conf CONF DKIM verdicts by OpenDKIM (opendkim -x CONF -t) instead of the policy
#   --no-imap            do not start Dovecot
#   --timeout SECS       how long to wait for each server to listen (default 15)
# Existing DIR/users and DIR/policy.json are kept; missing ones get the defaults.
# Running start.sh on a DIR whose peers still run stops them first (restart).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY=/usr/bin/python3
DOVECOT=${DOVECOT:-/usr/sbin/dovecot}

die() { echo "mail-peers start.sh: ERROR: $*" >&2; exit 1; }

[ $# -ge 1 ] || die "usage: start.sh DIR [--smtp-port N] [--imap-port N] [--tls|--smtp-tls|--imap-tls] [--require-starttls] [--auth-required] [--auth-require-tls] [--users FILE] [--policy FILE] [--hostname NAME] [--opendkim-conf CONF] [--no-imap] [--timeout SECS]"
DIR_ARG=$1; shift
mkdir -p "$DIR_ARG" || die "cannot create $DIR_ARG"
DIR="$(cd "$DIR_ARG" && pwd)"

SMTP_PORT=0 IMAP_PORT= SMTP_TLS=0 IMAP_TLS=0 REQUIRE_STARTTLS=0 AUTH_REQUIRED=0 AUTH_REQUIRE_TLS=0
USERS_SRC= POLICY_SRC= HOSTNAME_SMTP=mx.test.example WITH_IMAP=1 TIMEOUT=15 OPENDKIM_CONF=
while [ $# -gt 0 ]; do
  case "$1" in
    --smtp-port) SMTP_PORT=$2; shift 2 ;;
    --imap-port) IMAP_PORT=$2; shift 2 ;;
    --tls) SMTP_TLS=1; IMAP_TLS=1; shift ;;
    --smtp-tls) SMTP_TLS=1; shift ;;
    --imap-tls) IMAP_TLS=1; shift ;;
    --require-starttls) REQUIRE_STARTTLS=1; SMTP_TLS=1; shift ;;
    --auth-required) AUTH_REQUIRED=1; shift ;;
    --auth-require-tls) AUTH_REQUIRE_TLS=1; SMTP_TLS=1; shift ;;
    --users) USERS_SRC=$2; shift 2 ;;
    --policy) POLICY_SRC=$2; shift 2 ;;
    --hostname) HOSTNAME_SMTP=$2; shift 2 ;;
    --no-imap) WITH_IMAP=0; shift ;;
    --opendkim-conf) OPENDKIM_CONF=$2; shift 2 ;;
    --timeout) TIMEOUT=$2; shift 2 ;;
    *) die "unknown option: $1" ;;
  esac
done

[ -x "$PY" ] || die "$PY not found"
"$PY" -c 'import aiosmtpd' 2>/dev/null || die "python3-aiosmtpd is not installed (apt-get install python3-aiosmtpd)"
if [ -n "$OPENDKIM_CONF" ]; then
  [ -x /usr/sbin/opendkim ] || die "opendkim not found (apt-get install opendkim opendkim-tools)"
  [ -r "$OPENDKIM_CONF" ] || die "cannot read $OPENDKIM_CONF"
  OPENDKIM_CONF="$(cd "$(dirname "$OPENDKIM_CONF")" && pwd)/$(basename "$OPENDKIM_CONF")"
fi
if [ "$WITH_IMAP" = 1 ]; then
  [ -x "$DOVECOT" ] || die "dovecot not found at $DOVECOT (apt-get install dovecot-imapd)"
fi

# A previous run in the same DIR: stop it first (stop.sh is idempotent).
"$HERE/stop.sh" "$DIR" >/dev/null 2>&1 || true

mkdir -p "$DIR/mail" "$DIR/home" "$DIR/tls"
rm -f "$DIR/env" "$DIR/smtp.port" "$DIR/smtp.pid" "$DIR/dovecot.pid"

# ---------------------------------------------------------------- users
if [ -n "$USERS_SRC" ]; then
  cp "$USERS_SRC" "$DIR/users" || die "cannot copy users file $USERS_SRC"
elif [ ! -f "$DIR/users" ]; then
  cat >"$DIR/users" <<'EOF'
# address:password  (Dovecot passwd-file compatible; the SMTP server reads it per transaction)
isms@example.org:isms-pass
alice@example.org:alice-pass
bob@example.org:bob-pass
carol@example.org:carol-pass
dave@partner.example:dave-pass
mallory@evil.example:mallory-pass
flaky@example.org:flaky-pass
EOF
fi
chmod 600 "$DIR/users"

# ---------------------------------------------------------------- policy
if [ -n "$POLICY_SRC" ]; then
  cp "$POLICY_SRC" "$DIR/policy.json" || die "cannot copy policy file $POLICY_SRC"
elif [ ! -f "$DIR/policy.json" ]; then
  cat >"$DIR/policy.json" <<'EOF'
{
  "authserv_id": "mx.test.example",
  "strip_forged_authentication_results": true,
  "dkim": {
    "authenticated": "pass",
    "authenticated_d": "auth_user",
    "domain_source": "header_from",
    "domains": {
      "partner.example": "pass",
      "trusted.example": "pass",
      "dkimfail.example": "fail",
      "unaligned.example": {"result": "pass", "d": "bulk-mailer.example"}
    },
    "default": "omit"
  },
  "reject": {
    "bounce@example.org": "550 5.1.1 <bounce@example.org>: mailbox unavailable (test: permanent failure)",
    "tempfail@example.org": "451 4.3.0 <tempfail@example.org>: try again later (test: temporary failure)",
    "flaky@example.org": {"reply": "451 4.3.0 <flaky@example.org>: try again later (test: first 2 attempts)", "times": 2},
    "datafail@example.org": {"reply": "554 5.6.0 Message rejected at end of DATA (test)", "stage": "data"}
  }
}
EOF
fi
"$PY" -c 'import json,sys; json.load(open(sys.argv[1]))' "$DIR/policy.json" \
  || die "$DIR/policy.json is not valid JSON"

# Pre-create a Maildir for every user so IMAP SELECT and `mailctl list` work at once.
while IFS= read -r line; do
  case "$line" in ''|'#'*) continue ;; esac
  u=${line%%:*}; u=$(printf '%s' "$u" | tr 'A-Z' 'a-z' | tr -d ' ')
  [ -n "$u" ] || continue
  mkdir -p "$DIR/mail/$u/cur" "$DIR/mail/$u/new" "$DIR/mail/$u/tmp" "$DIR/home/$u"
done <"$DIR/users"

# ---------------------------------------------------------------- TLS
if [ "$SMTP_TLS" = 1 ] || [ "$IMAP_TLS" = 1 ]; then
  if [ ! -s "$DIR/tls/cert.pem" ] || [ ! -s "$DIR/tls/key.pem" ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -keyout "$DIR/tls/key.pem" -out "$DIR/tls/cert.pem" -days 30 \
      -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,DNS:$HOSTNAME_SMTP,IP:127.0.0.1" \
      >"$DIR/tls/openssl.log" 2>&1 || { cat "$DIR/tls/openssl.log" >&2; die "openssl failed to create a test certificate"; }
    chmod 600 "$DIR/tls/key.pem"
  fi
fi

free_port() {
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

port_open() {  # port_open PORT -> 0 when something accepts on 127.0.0.1:PORT
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

STARTED_PIDS=()
cleanup_on_fail() {
  local p i
  for p in "${STARTED_PIDS[@]:-}"; do
    [ -n "$p" ] && kill "$p" 2>/dev/null || true
  done
  for p in "${STARTED_PIDS[@]:-}"; do
    for i in $(seq 1 40); do
      [ -n "$p" ] && kill -0 "$p" 2>/dev/null || break
      sleep 0.05
    done
  done
  rm -f "$DIR/smtp.pid" "$DIR/dovecot.pid"
}

# ---------------------------------------------------------------- user
# Dovecot refuses to give root a mailbox (uid 0) and to run its login
# processes as root.  As root, both servers therefore run as an ordinary
# system user (dovecot, else dovenull, else nobody) through setpriv(1):
# no user namespace (refused in chroots and under Docker's default seccomp
# profile), nothing under /etc changes.  DIR is handed to that user; its
# parent directories must let that user through (o+x).  As an ordinary
# user everything simply runs as that user.
PREFIX=()
if [ "$(id -u)" = 0 ]; then
  RUN_USER=
  for u in dovecot dovenull nobody; do
    if getent passwd "$u" >/dev/null; then RUN_USER=$u; break; fi
  done
  [ -n "$RUN_USER" ] || die "running as root but there is no unprivileged system user (dovecot/dovenull/nobody) to run the servers as"
  command -v setpriv >/dev/null || die "running as root but setpriv (util-linux) is missing"
  RUN_UID=$(id -u "$RUN_USER"); RUN_GID=$(id -g "$RUN_USER")
  RUN_GROUP=$(getent group "$RUN_GID" | cut -d: -f1)
  PREFIX=(setpriv --reuid="$RUN_UID" --regid="$RUN_GID" --clear-groups
          env HOME="$DIR/home" USER="$RUN_USER" LOGNAME="$RUN_USER")
  chown -R "$RUN_UID:$RUN_GID" "$DIR" || die "cannot hand $DIR to user $RUN_USER"
  if ! "${PREFIX[@]}" test -x "$DIR" -a -w "$DIR"; then
    d=$DIR blocked=
    while [ "$d" != / ]; do
      d=$(dirname "$d")
      "${PREFIX[@]}" test -x "$d" || blocked=$d
    done
    die "running as root, the servers run as user $RUN_USER, who cannot reach $DIR${blocked:+ ($blocked denies it: chmod o+x $blocked)}"
  fi
else
  RUN_USER=$(id -un) RUN_UID=$(id -u) RUN_GID=$(id -g) RUN_GROUP=$(id -gn)
fi
# own_file FILE: create FILE (empty) owned by the user the servers run as
own_file() {
  : >"$1"
  [ "$(id -u)" != 0 ] || chown "$RUN_UID:$RUN_GID" "$1"
}

# ---------------------------------------------------------------- SMTP
smtp_args=(--host 127.0.0.1 --port "$SMTP_PORT" --port-file "$DIR/smtp.port" --pid-file "$DIR/smtp.pid"
           --users "$DIR/users" --policy "$DIR/policy.json" --maildir-root "$DIR/mail"
           --transcript "$DIR/smtp-transcript.jsonl" --hostname "$HOSTNAME_SMTP")
[ "$SMTP_TLS" = 1 ] && smtp_args+=(--tls-cert "$DIR/tls/cert.pem" --tls-key "$DIR/tls/key.pem")
[ "$REQUIRE_STARTTLS" = 1 ] && smtp_args+=(--require-starttls)
[ "$AUTH_REQUIRED" = 1 ] && smtp_args+=(--auth-required)
[ "$AUTH_REQUIRE_TLS" = 1 ] && smtp_args+=(--auth-require-tls)
[ -n "$OPENDKIM_CONF" ] && smtp_args+=(--opendkim-conf "$OPENDKIM_CONF")

if [ "$SMTP_PORT" != 0 ] && port_open "$SMTP_PORT"; then
  die "SMTP port $SMTP_PORT is already in use on 127.0.0.1"
fi
"${PREFIX[@]}" "$PY" "$HERE/smtp_server.py" "${smtp_args[@]}" </dev/null >>"$DIR/smtp.log" 2>&1 &
SMTP_PID=$!
STARTED_PIDS+=("$SMTP_PID")

deadline=$(( $(date +%s) + TIMEOUT ))
SMTP_REAL_PORT=
while :; do
  if [ -s "$DIR/smtp.port" ]; then
    SMTP_REAL_PORT=$(cat "$DIR/smtp.port")
    port_open "$SMTP_REAL_PORT" && break
  fi
  if ! kill -0 "$SMTP_PID" 2>/dev/null; then
    echo "---- $DIR/smtp.log (tail) ----" >&2; tail -n 30 "$DIR/smtp.log" >&2 || true
    cleanup_on_fail; die "SMTP server exited during startup"
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "---- $DIR/smtp.log (tail) ----" >&2; tail -n 30 "$DIR/smtp.log" >&2 || true
    cleanup_on_fail; die "SMTP server did not listen within ${TIMEOUT}s"
  fi
  sleep 0.05
done

# ---------------------------------------------------------------- Dovecot
DOVECOT_PID= IMAPS_PORT=
if [ "$WITH_IMAP" = 1 ]; then
  RUN_DIR="$DIR/dovecot/run"
  [ ${#RUN_DIR} -le 80 ] || { cleanup_on_fail; die "DIR path too long for Dovecot's unix sockets (base_dir '$RUN_DIR' > 80 chars); use a shorter DIR, e.g. mktemp -d"; }
  mkdir -p "$RUN_DIR" "$DIR/dovecot/state"
  [ "$(id -u)" != 0 ] || chown -R "$RUN_UID:$RUN_GID" "$DIR/dovecot"

  if [ "$IMAP_TLS" = 1 ]; then
    SSL_CONF="ssl = yes
ssl_cert = <$DIR/tls/cert.pem
ssl_key = <$DIR/tls/key.pem
ssl_min_protocol = TLSv1.2"
    [ -f /usr/share/dovecot/dh.pem ] && SSL_CONF="$SSL_CONF
ssl_dh = </usr/share/dovecot/dh.pem"
  else
    SSL_CONF="ssl = no"
  fi

  PORT_GIVEN=${IMAP_PORT:+1}
  attempt=0
  while :; do
    attempt=$((attempt + 1))
    [ -n "$PORT_GIVEN" ] || IMAP_PORT=$(free_port)
    if [ "$IMAP_TLS" = 1 ]; then IMAPS_PORT=$(free_port); else IMAPS_PORT=; fi
    cat >"$DIR/dovecot.conf" <<EOF
# generated by tests/peers/mail/start.sh -- throwaway Dovecot for ismsd tests
# (check with: dovecot -n -c $DIR/dovecot.conf ; run with: dovecot -F -c $DIR/dovecot.conf)
instance_name = ismsd-test-$$
base_dir = $RUN_DIR
state_dir = $DIR/dovecot/state
log_path = $DIR/dovecot.log
info_log_path = $DIR/dovecot.log
default_internal_user = $RUN_USER
default_internal_group = $RUN_GROUP
default_login_user = $RUN_USER
first_valid_uid = 1
first_valid_gid = 1
protocols = imap
listen = 127.0.0.1
$SSL_CONF
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_username_format = %Lu
mail_location = maildir:$DIR/mail/%u
protocol imap {
  mail_max_userip_connections = 50
}
namespace inbox {
  inbox = yes
  mailbox Sent {
    special_use = \\Sent
    auto = subscribe
  }
  mailbox Trash {
    special_use = \\Trash
    auto = subscribe
  }
  mailbox Archive {
    special_use = \\Archive
    auto = subscribe
  }
  mailbox Junk {
    special_use = \\Junk
    auto = create
  }
}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%Lu $DIR/users
}
userdb {
  driver = static
  args = uid=$RUN_UID gid=$RUN_GID home=$DIR/home/%u mail=maildir:$DIR/mail/%u
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP_PORT
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = ${IMAPS_PORT:-0}
  }
}
service anvil {
  chroot =
}
EOF
    if [ -n "$PORT_GIVEN" ] && port_open "$IMAP_PORT"; then
      cleanup_on_fail; die "IMAP port $IMAP_PORT is already in use on 127.0.0.1"
    fi
    own_file "$DIR/dovecot.log"
    "${PREFIX[@]}" "$DOVECOT" -F -c "$DIR/dovecot.conf" </dev/null >>"$DIR/dovecot.stderr" 2>&1 &
    DOVECOT_PID=$!
    STARTED_PIDS+=("$DOVECOT_PID")
    echo "$DOVECOT_PID" >"$DIR/dovecot.pid"

    deadline=$(( $(date +%s) + TIMEOUT ))
    ok=0 died=0
    while :; do
      if ! kill -0 "$DOVECOT_PID" 2>/dev/null; then died=1; break; fi
      # The master logs "starting up" only after it bound all its listeners.
      if grep -q "starting up" "$DIR/dovecot.log" 2>/dev/null && port_open "$IMAP_PORT" \
         && { [ -z "$IMAPS_PORT" ] || port_open "$IMAPS_PORT"; }; then ok=1; break; fi
      [ "$(date +%s)" -lt "$deadline" ] || break
      sleep 0.05
    done
    [ "$ok" = 1 ] && break
    if [ "$died" = 1 ] && [ -z "$PORT_GIVEN" ] && [ "$attempt" -lt 3 ] \
       && grep -q "Address already in use" "$DIR/dovecot.log" "$DIR/dovecot.stderr" 2>/dev/null; then
      continue   # lost the race for the port: pick another one
    fi
    echo "---- $DIR/dovecot.log / dovecot.stderr (tail) ----" >&2
    tail -n 30 "$DIR/dovecot.log" "$DIR/dovecot.stderr" >&2 2>/dev/null || true
    cleanup_on_fail
    if [ "$died" = 1 ]; then die "Dovecot exited during startup"; fi
    die "Dovecot did not listen on 127.0.0.1:$IMAP_PORT within ${TIMEOUT}s"
  done
fi

# ---------------------------------------------------------------- env
q() {  # shell-quote a value only when needed
  case "$1" in
    *[!A-Za-z0-9_./@:+,=-]*) printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")" ;;
    *) printf '%s' "$1" ;;
  esac
}
{
  echo "MAILPEERS_DIR=$(q "$DIR")"
  echo "SMTP_HOST=127.0.0.1"
  echo "SMTP_PORT=$SMTP_REAL_PORT"
  echo "SMTP_PID=$SMTP_PID"
  echo "SMTP_TLS=$SMTP_TLS"
  echo "SMTP_REQUIRE_STARTTLS=$REQUIRE_STARTTLS"
  echo "SMTP_AUTH_REQUIRED=$AUTH_REQUIRED"
  echo "IMAP_HOST=127.0.0.1"
  if [ "$WITH_IMAP" = 1 ]; then echo "IMAP_PORT=$IMAP_PORT"; else echo "IMAP_PORT="; fi
  echo "IMAPS_PORT=$IMAPS_PORT"
  echo "IMAP_TLS=$IMAP_TLS"
  echo "IMAP_PID=$DOVECOT_PID"
  echo "DOVECOT_PID=$DOVECOT_PID"
  echo "MAIL_ROOT=$(q "$DIR/mail")"
  echo "USERS_FILE=$(q "$DIR/users")"
  echo "POLICY_FILE=$(q "$DIR/policy.json")"
  echo "AUTHSERV_ID=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1])).get("authserv_id","mx.test.example"))' "$DIR/policy.json")"
  echo "TLS_CERT=$( [ -s "$DIR/tls/cert.pem" ] && q "$DIR/tls/cert.pem")"
  echo "TLS_KEY=$( [ -s "$DIR/tls/key.pem" ] && q "$DIR/tls/key.pem")"
  echo "GATEWAY_USER=isms@example.org"
  echo "GATEWAY_PASSWORD=$(grep -i '^isms@example.org:' "$DIR/users" | head -n1 | cut -d: -f2)"
  echo "GATEWAY_MAILDIR=$(q "$DIR/mail/isms@example.org")"
  echo "SMTP_LOG=$(q "$DIR/smtp.log")"
  echo "SMTP_TRANSCRIPT=$(q "$DIR/smtp-transcript.jsonl")"
  echo "DOVECOT_LOG=$(q "$DIR/dovecot.log")"
} >"$DIR/env.tmp"
mv "$DIR/env.tmp" "$DIR/env"
cat "$DIR/env"
