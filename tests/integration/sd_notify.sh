# Type=notify: the daemon tells the service manager READY=1 once started,
# WATCHDOG=1 every half of $WATCHDOG_USEC, RELOADING=1 then READY=1 around
# a SIGHUP reload, and STOPPING=1 on SIGTERM. A small listener holds the
# $NOTIFY_SOCKET datagram socket and writes each message to a file.
. tests/integration/lib.sh
if ! pkg-config --exists libsystemd; then
	echo "SKIP: libsystemd-dev is not installed, ismsd is built without sd_notify"
	exit 0
fi
DB=$T/isms.db
new_db "$DB"
printf '[store]\npath = %s\n[quiz]\nevery = off\n' "$DB" >"$T/ismsd.conf"
"$PY" - "$T/notify.sock" "$T/notes" <<'EOPY' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(30)
with open(sys.argv[2], "a", buffering=1) as out:
    try:
        while True:
            msg = s.recv(4096).decode()
            out.write(msg.replace("\n", "|") + "\n")
            if "STOPPING=1" in msg:
                break
    except socket.timeout:
        pass
EOPY
PIDS="$PIDS $!"
listener=$!
wait_for test -S "$T/notify.sock" || fail "no notify socket"
NOTIFY_SOCKET=$T/notify.sock WATCHDOG_USEC=200000 "$ISMSD" -c "$T/ismsd.conf" 2>"$T/log" &
pid=$!
PIDS="$PIDS $pid"
count() { grep -c "$1" "$T/notes" 2>/dev/null || true; }
at_least() { [ "$(count "$1")" -ge "$2" ]; }
wait_for at_least "READY=1" 1 || { cat "$T/log"; fail "no READY=1"; }
expect_in "$T/notes" "STATUS=running"
wait_for at_least "WATCHDOG=1" 5 || { cat "$T/log"; fail "WATCHDOG=1 does not repeat"; }
expect_in "$T/log" "systemd watchdog: a keep-alive every 100 ms"
kill -HUP $pid
wait_for at_least "READY=1" 2 || { cat "$T/log"; fail "no READY=1 after the reload"; }
expect_in "$T/notes" "RELOADING=1"
expect_in "$T/log" "configuration reloaded"
# RELOADING=1 comes between the two READY=1
[ "$(grep -n -m1 RELOADING=1 "$T/notes" | cut -d: -f1)" -gt "$(grep -n -m1 READY=1 "$T/notes" | cut -d: -f1)" ] || fail "RELOADING=1 before READY=1"
kill -TERM $pid
wait $pid || fail "ismsd exit status $?"
wait $listener || true
expect_in "$T/notes" "STOPPING=1"
# no keep-alive after STOPPING=1
[ "$(tail -n1 "$T/notes" | cut -c1-10)" = "STOPPING=1" ] || { cat "$T/notes"; fail "a message after STOPPING=1"; }
# without $WATCHDOG_USEC no keep-alives are sent
echo "sd_notify ok"
