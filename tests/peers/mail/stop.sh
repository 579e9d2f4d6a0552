#!/bin/bash
# Stop the mail peers started by start.sh DIR.  Idempotent: a DIR that was
# never started, was already stopped, or no longer exists is fine (exit 0).
# Only the processes recorded in DIR (smtp.pid, dovecot.pid) are signalled,
# and only if their command line is still the expected one.
# usage: stop.sh DIR
set -u

[ $# -ge 1 ] || { echo "usage: stop.sh DIR" >&2; exit 2; }
DIR=$1
[ -d "$DIR" ] || exit 0

# stop_pid PIDFILE PATTERN
stop_pid() {
  local file=$1 pattern=$2 pid cmd i
  [ -s "$file" ] || return 0
  pid=$(tr -dc '0-9' <"$file")
  [ -n "$pid" ] || { rm -f "$file"; return 0; }
  cmd=$( { tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null || true)
  case "$cmd" in
    *"$pattern"*) ;;
    *) rm -f "$file"; return 0 ;;   # gone, or the pid was reused by something else
  esac
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 100); do          # up to 5 s for a clean shutdown
    kill -0 "$pid" 2>/dev/null || break
    # a zombie (our own child not yet reaped) counts as stopped
    [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ] && break
    sleep 0.05
  done
  if kill -0 "$pid" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]; then
    echo "stop.sh: $pattern (pid $pid) ignored SIGTERM, sending SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

stop_pid "$DIR/smtp.pid" "smtp_server.py"
stop_pid "$DIR/dovecot.pid" "dovecot"

rm -f "$DIR/smtp.port"
exit 0
