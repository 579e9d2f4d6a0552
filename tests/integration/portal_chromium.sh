# The web portal in Debian's headless Chromium (chromedriver): a link from
# the console opens its sign-in page, whose button lands on the
# dashboard (looking at a link uses nothing up; a sign-in from another
# origin and a replayed one are refused); the SoA and a risk match the
# database; screenshots go to build/artifacts/; a used, an expired, a
# made-up and a leaver's link are refused alike and audited; a staff
# member cannot open another person's incident by URL; the browser asks
# no other host; the security headers are on every answer.
. tests/integration/lib.sh
[ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] ||
	fail "chromium and chromium-driver are needed (make test-deps)"
DB=$T/isms.db
ART=$PWD/build/artifacts
mkdir -p "$ART"
new_db "$DB"
"$ISMSCTL" --db "$DB" seed config/demo/seed.txt >/dev/null
PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE=http://127.0.0.1:$PORT
cat >"$T/ismsd.conf" <<EOC
[store]
path = $DB
[portal]
listen = 127.0.0.1:$PORT
EOC
"$ISMSD" -c "$T/ismsd.conf" >"$T/ismsd.log" 2>&1 &
PIDS="$PIDS $!"
wait_for grep -q "portal: listening" "$T/ismsd.log" || { cat "$T/ismsd.log"; fail "portal not started"; }

# an approved SoA version, listed on the SoA page
printf '/isms soa approve First version\n' | "$ISMSD" --console -c "$T/ismsd.conf" --as dana >"$T/out" 2>"$T/err"
expect_in "$T/out" "SoA v1 approved"
# links: from the console (carol), from ismsctl (grace, alice), one made
# as of the past (expired), and one of a leaver
printf '/isms portal\n' | "$ISMSD" --console -c "$T/ismsd.conf" --as carol >"$T/out" 2>"$T/err"
expect_in "$T/out" "Your portal link (valid 15 minutes"
CAROL=$(grep -o "$BASE/l/[A-Za-z0-9_-]*" "$T/out")
GRACE=$("$ISMSCTL" -c "$T/ismsd.conf" portal-link --for @grace --hours 8)
ALICE=$("$ISMSCTL" -c "$T/ismsd.conf" portal-link --for alice)
EXPIRED=$("$ISMSCTL" -c "$T/ismsd.conf" portal-link --for @grace --now "2026-01-01 09:00")
LEAVER=$("$ISMSCTL" -c "$T/ismsd.conf" portal-link --for @frank)
"$ISMSCTL" -c "$T/ismsd.conf" staff deactivate frank >/dev/null
if "$ISMSCTL" -c "$T/ismsd.conf" portal-link --for @frank >"$T/out" 2>&1; then
	fail "a leaver got a link"
fi
expect_in "$T/out" "@frank has left (inactive): no portal link"
# a HEAD (a link preview) does not use a link up
[ "$(curl -s -o /dev/null -w '%{http_code}' -I "$ALICE")" = 200 ] || fail "HEAD on a link"
# behind a TLS proxy on loopback the cookie is Secure; a GET of the link
# only shows its sign-in page, the POST of its button signs in
SECURE=$("$ISMSCTL" -c "$T/ismsd.conf" portal-link --for @erik)
curl -s -D "$T/headers" -o "$T/page" -H "X-Forwarded-Proto: https" "$SECURE"
expect_not_in "$T/headers" "Set-Cookie"
expect_in "$T/headers" "Referrer-Policy: same-origin"
expect_in "$T/page" 'action="/l/'
curl -s -D "$T/headers" -o /dev/null -d '' -H "Origin: $BASE" -H "X-Forwarded-Proto: https" "$SECURE"
expect_in "$T/headers" "HTTP/1.1 303"
expect_in "$T/headers" "SameSite=Strict; Secure"
# mailed to the person through the outbox
"$ISMSCTL" -c "$T/ismsd.conf" portal-link --for @grace --mail >"$T/out"
expect_in "$T/out" "queued as a mail to grace@"
[ "$(sql "$DB" "SELECT COUNT(*) FROM outbox WHERE kind = 'portal' AND address = (SELECT email FROM people WHERE handle = 'grace') AND body LIKE '%$BASE/l/%'")" = 1 ] ||
	fail "the link was not queued as a mail"
# only hashes are stored
for l in "$CAROL" "$GRACE" "$ALICE"; do
	[ "$(sql "$DB" "SELECT COUNT(*) FROM portal_tokens WHERE hash LIKE '%${l##*/}%'")" = 0 ] ||
		fail "a token is stored in the clear"
done

ISMSCTL=$ISMSCTL timeout 240 $PY tests/integration/portal_chromium.py "$BASE" "$DB" "$ART" \
	"$CAROL" "$GRACE" "$ALICE" "$EXPIRED" "$LEAVER" "$T" || fail "browser scenario"
[ -s "$ART/portal-dashboard.png" ] && [ -s "$ART/portal-soa.png" ] || fail "no screenshots"

# logins and refusals are audited; sessions are listed without secrets
[ "$(sql "$DB" "SELECT COUNT(*) FROM audit_log WHERE action = 'portal.login'")" = 4 ] || fail "logins audited"
[ "$(sql "$DB" "SELECT COUNT(*) FROM audit_log WHERE action = 'portal.refused'")" -ge 5 ] || fail "refusals audited"
[ "$(sql "$DB" "SELECT COUNT(*) FROM audit_log WHERE action = 'portal.logout'")" = 1 ] || fail "logout audited"
"$ISMSCTL" -c "$T/ismsd.conf" portal-sessions >"$T/out"
expect_in "$T/out" "	grace	"
expect_not_in "$T/out" "	alice	"
"$ISMSCTL" -c "$T/ismsd.conf" portal-sessions revoke --all >"$T/out"
expect_in "$T/out" "3 portal sessions revoked"
"$ISMSCTL" --db "$DB" audit verify >"$T/out" || { cat "$T/out"; fail "audit verify"; }
# no secret reached the log
for l in "$CAROL" "$GRACE" "$ALICE"; do
	expect_not_in "$T/ismsd.log" "${l##*/}"
done
echo "portal_chromium: ok"
