# Both binaries find the configuration the same way: -c FILE, else
# $ISMSD_CONFIG, else /etc/ismsd/ismsd.conf when it exists, else the
# built-in defaults; run-scheduler says which, with the time zone and
# working hours it used. A Sunday pass sends a nudge only when the
# configuration that makes Sunday a working day is the one read.
. tests/integration/lib.sh
unset ISMSD_CONFIG
DB=$T/isms.db
new_db "$DB"
printf 'doc add Acceptable use policy review_every=12m ack=required\n' | console "$DB" carol
cat >"$T/sunday.conf" <<EOC
[store]
path = $DB
[org]
timezone = Europe/Berlin
working_days = mon-sun
[quiz]
every = off
[report]
every = off
EOC
sed 's/^working_days = .*/working_days = mon,tue,thu/' "$T/sunday.conf" >"$T/weekdays.conf"
SUNDAY="2027-01-03 10:00"

# 1. no -c and no ISMSD_CONFIG: the built-in defaults (Monday to Friday)
if [ ! -e /etc/ismsd/ismsd.conf ]; then
	"$ISMSCTL" --db "$DB" run-scheduler --now "$SUNDAY" >"$T/out" || { cat "$T/out"; fail "defaults pass"; }
	expect_in "$T/out" "configuration built-in defaults; time zone UTC; working hours 09:00-17:30 on mon-fri"
	expect_in "$T/out" "0 messages queued"
else
	echo "/etc/ismsd/ismsd.conf exists here: the defaults case is skipped"
fi

# 2. ISMSD_CONFIG is read, --db taken from it: Sunday is a working day
ISMSD_CONFIG=$T/sunday.conf "$ISMSCTL" run-scheduler --now "$SUNDAY" >"$T/out" || { cat "$T/out"; fail "env pass"; }
expect_in "$T/out" "configuration $T/sunday.conf; time zone Europe/Berlin; working hours 09:00-17:30 on mon-sun"
expect_in "$T/out" "doc-acks: 8 messages"
expect_in "$T/out" "-> alice: Please read and acknowledge DOC-1"
[ "$(sql "$DB" "SELECT COUNT(*) FROM nudges WHERE kind = 'doc.ack'")" = 8 ] || fail "the nudges are not in the ledger"

# 3. -c wins over ISMSD_CONFIG; a list of days is shown as such
ISMSD_CONFIG=$T/sunday.conf "$ISMSCTL" -c "$T/weekdays.conf" run-scheduler --now "$SUNDAY" >"$T/out" || fail "-c pass"
expect_in "$T/out" "configuration $T/weekdays.conf; time zone Europe/Berlin; working hours 09:00-17:30 on mon,tue,thu"
expect_in "$T/out" "0 messages queued"

# 4. an ISMSD_CONFIG that cannot be read is an error, and changes nothing
before=$(db_digest "$DB")
rc=0
ISMSD_CONFIG=$T/missing.conf "$ISMSCTL" --db "$DB" run-scheduler --now "$SUNDAY" >"$T/out" 2>&1 || rc=$?
[ $rc = 2 ] || fail "missing ISMSD_CONFIG: exit $rc"
expect_in "$T/out" "missing.conf: cannot open: No such file or directory"
[ "$(db_digest "$DB")" = "$before" ] || fail "the database changed"

# 5. ismsd finds it the same way
ISMSD_CONFIG=$T/sunday.conf "$ISMSD" --check-config >"$T/out" || { cat "$T/out"; fail "ismsd --check-config with ISMSD_CONFIG"; }
expect_in "$T/out" "$T/sunday.conf: configuration OK"
rc=0
ISMSD_CONFIG=$T/missing.conf "$ISMSD" --check-config >"$T/out" 2>&1 || rc=$?
[ $rc = 2 ] || fail "ismsd with a missing ISMSD_CONFIG: exit $rc"
if [ ! -e /etc/ismsd/ismsd.conf ]; then
	rc=0
	"$ISMSD" >"$T/out" 2>&1 || rc=$?
	[ $rc = 2 ] || fail "ismsd without any configuration: exit $rc"
	expect_in "$T/out" "no configuration file: give -c FILE, set \$ISMSD_CONFIG or create /etc/ismsd/ismsd.conf"
fi
echo "configuration search ok"
