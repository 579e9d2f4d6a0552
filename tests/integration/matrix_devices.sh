# ismsctl matrix-devices: lists the devices end-to-end encryption knows
# with their fingerprints, marks one verified and back and forgets one
# whose keys changed, with an audit row each, and refuses an unknown
# device without changing anything.
# engines: sqlite pg
. tests/integration/lib.sh
DB=$(db_path isms.db)
new_db "$DB"
"$ISMSCTL" --db "$DB" matrix-devices >"$T/out"
expect_in "$T/out" "no Matrix devices"
sql "$DB" "INSERT INTO e2ee_devices (user_id, device_id, curve25519, ed25519, first_seen) VALUES
	('@alice:example.org', 'PHONE', 'cccccccccccccccccccccccccccccccccccccccccccc', 'AbCdEfGhIjKlMnOpQrStUvWxYz0123456789+/abcde', 1795000000),
	('@bob:example.org', 'LAPTOP', 'dddddddddddddddddddddddddddddddddddddddddddd', 'ZZZZeeeeffffgggghhhhiiiijjjjkkkkllllmmmmnnn', 1795000000)"
"$ISMSCTL" --db "$DB" matrix-devices >"$T/out"
expect_in "$T/out" "@alice:example.org	PHONE	AbCd EfGh IjKl MnOp QrSt UvWx Yz01 2345 6789 +/ab cde	unverified	first seen 2026-11-18T"
expect_in "$T/out" "@bob:example.org	LAPTOP"
"$ISMSCTL" --db "$DB" matrix-devices --user @bob:example.org >"$T/out"
expect_not_in "$T/out" "@alice:example.org"
expect_in "$T/out" "LAPTOP"

"$ISMSCTL" --db "$DB" matrix-devices verify @alice:example.org PHONE >"$T/out"
expect_in "$T/out" "device PHONE of @alice:example.org (AbCd EfGh"
[ "$(sql "$DB" "SELECT verified FROM e2ee_devices WHERE device_id = 'PHONE'")" = 1 ] ||
	fail "PHONE not verified"
[ "$(sql "$DB" "SELECT COUNT(*) FROM audit_log WHERE action = 'matrix.device.verify' AND object = '@alice:example.org PHONE' AND details LIKE '%AbCdEfGh%'")" = 1 ] ||
	fail "no audit row for verify"
"$ISMSCTL" --db "$DB" matrix-devices >"$T/out"
expect_in "$T/out" "PHONE	AbCd EfGh IjKl MnOp QrSt UvWx Yz01 2345 6789 +/ab cde	verified"
"$ISMSCTL" --db "$DB" matrix-devices unverify @alice:example.org PHONE >/dev/null
[ "$(sql "$DB" "SELECT verified FROM e2ee_devices WHERE device_id = 'PHONE'")" = 0 ] ||
	fail "PHONE still verified"
[ "$(sql "$DB" "SELECT COUNT(*) FROM audit_log WHERE action = 'matrix.device.unverify'")" = 1 ] ||
	fail "no audit row for unverify"

# a device whose keys changed is forgotten: its user's list is fetched
# again and its keys taken afresh
sql "$DB" "UPDATE e2ee_devices SET key_changed = 1 WHERE device_id = 'LAPTOP'"
"$ISMSCTL" --db "$DB" matrix-devices --user @bob:example.org >"$T/out"
expect_in "$T/out" "keys changed: refused"
"$ISMSCTL" --db "$DB" matrix-devices forget @bob:example.org LAPTOP >"$T/out"
expect_in "$T/out" "device LAPTOP of @bob:example.org (ZZZZ eeee"
[ "$(sql "$DB" "SELECT COUNT(*) FROM e2ee_devices WHERE device_id = 'LAPTOP'")" = 0 ] ||
	fail "LAPTOP still known"
[ "$(sql "$DB" "SELECT stale FROM e2ee_device_lists WHERE user_id = '@bob:example.org'")" = 1 ] ||
	fail "bob's device list not stale"
[ "$(sql "$DB" "SELECT COUNT(*) FROM audit_log WHERE action = 'matrix.device.forget' AND object = '@bob:example.org LAPTOP' AND details LIKE '%ZZZZeeee%'")" = 1 ] ||
	fail "no audit row for forget"

# an unknown device or a malformed call changes nothing
before=$(db_digest "$DB")
if "$ISMSCTL" --db "$DB" matrix-devices verify @alice:example.org TABLET 2>"$T/err"; then
	fail "verified an unknown device"
fi
expect_in "$T/err" "no Matrix device TABLET of @alice:example.org"
if "$ISMSCTL" --db "$DB" matrix-devices forget @alice:example.org TABLET 2>"$T/err"; then
	fail "forgot an unknown device"
fi
expect_in "$T/err" "no Matrix device TABLET of @alice:example.org"
if "$ISMSCTL" --db "$DB" matrix-devices verify @alice:example.org 2>"$T/err"; then
	fail "accepted a call without a device"
fi
expect_in "$T/err" "usage: ismsctl matrix-devices"
[ "$(db_digest "$DB")" = "$before" ] || fail "a refused call changed the database"
"$ISMSCTL" --db "$DB" audit verify >/dev/null || fail "audit chain broken"
echo "matrix devices ok"
