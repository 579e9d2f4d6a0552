# A year of ISMS life on a real database, driven by `ismsctl run-scheduler
# --now` once a week (Mondays 15:30 in Berlin, 09:30 in New York): every
# reminder, escalation, quiz and report must come out once, on time, to the
# right person. The transcript of what each pass queued is compared with
# the expected one below, grouped by day and subject.
# engines: sqlite pg
. tests/integration/lib.sh
DB=$(db_path isms.db)
CONF=$T/ismsd.conf
cat >"$CONF" <<EOC
[store]
$(store_conf "$DB")
# the daily audit head (its hashes differ each run): audit_evidence.sh
publish_head = false
[org]
timezone = Europe/Berlin
[quiz]
every = 3m
questions = 2
deadline_days = 14
[nudge]
repeat_days = 7
escalate_after_days = 7
[report]
every = 1m
recipients = board@example.org, dana
EOC
new_db "$DB"
ctl() { "$ISMSCTL" -c "$CONF" "$@"; }
# epoch SQL for a Berlin wall-clock time
at() { TZ=Europe/Berlin date -d "$1" +%s; }

# The register as it stands on 1 January 2027. Commands go through the
# engine; dates the engine takes from the wall clock are pinned after.
cat >"$T/seed.txt" <<'EOS'
carol: review plan date=2027-06-21
carol: audit plan ISMS internal audit date=2027-09-13 auditor=@grace
bob: risk add Laptop theft likelihood=4 impact=4
carol: action add Rotate the API keys owner=@frank due=2027-05-10
carol: doc add Acceptable use policy owner=@heidi review_every=12m ack=required
ivan: /incident Lost a USB stick with the payroll export personal_data=yes severity=high
alice: /incident Phishing mail
carol: incident assign INC-2 @bob
bob: incident close INC-2 Blocked the sender
EOS
ctl seed "$T/seed.txt" --now "2026-12-01 09:00" >/dev/null
sql "$DB" "UPDATE people SET created_at = $(at '2026-12-01 09:00');
UPDATE risks SET next_review_at = $(date -u -d 2027-03-01 +%s);
UPDATE docs SET created_at = $(at '2027-01-01 00:00'), next_review_at = $(date -u -d 2027-06-01 +%s);
UPDATE incidents SET created_at = $(at '2027-02-10 09:00'), personal_data_at = $(at '2027-02-10 09:00') WHERE id = 1;
UPDATE approvals SET created_at = $(at '2027-03-03 10:00'), deadline_at = $(at '2027-03-06 10:00');"

# pass DATE [TIME]: one scheduler pass; its messages go to the transcript
pass() {
	ctl run-scheduler --now "$1 ${2:-15:30}" >"$T/pass" || { cat "$T/pass"; fail "pass $1"; }
	sed -n "s/^-> \([^:]*\): \(.*\)/$1|\1|\2/p" "$T/pass" >>"$T/transcript"
}
# people acting between passes, through the console
as() { console "$DB" "$1"; }

: >"$T/transcript"
d=$(at '2027-01-04 12:00')
end=$(at '2027-12-31 12:00')
while [ "$d" -le "$end" ]; do
	day=$(TZ=Europe/Berlin date -d "@$d" +%F)
	d=$((d + 7 * 86400))
	case $day in
	2027-07-12 | 2027-07-19) continue ;; # the daemon is down for two weeks
	esac
	pass "$day"
	case $day in
	2027-01-04)
		# two finish QZ-1 at once; all but ivan read the policy
		printf '1\n1\n' | as alice
		printf '1\n1\n' | as carol
		for h in dana carol erik bob alice frank heidi grace; do
			printf 'doc ack DOC-1\n' | as $h
		done
		;;
	2027-02-08)
		# the personal-data incident of Wednesday: a Saturday pass
		# sends only the latest stage of the 72-hour clock, at once
		pass 2027-02-13 10:00
		printf 'incident notified INC-1\n' | as carol
		expect_in "$T/out" "72-hour clock stopped"
		;;
	2027-03-01) printf 'doc ack DOC-1\n' | as ivan ;;
	2027-03-08)
		# a second pass at the same minute sends nothing
		pass 2027-03-08
		grep -q ": 0 messages queued" "$T/pass" || fail "repeated pass sent again"
		# the escalated manager decides; bob re-assesses his risk
		printf 'approve APR-1 fine\n' | as dana
		expect_in "$T/out" "APR-1 approved"
		sql "$DB" "UPDATE risks SET next_review_at = $(date -u -d 2028-03-01 +%s)"
		;;
	2027-05-31) printf 'action done ACT-1 keys rotated on 2027-06-01\n' | as frank ;;
	2027-06-07) sql "$DB" "UPDATE docs SET next_review_at = $(date -u -d 2028-06-01 +%s)" ;;
	2027-06-14)
		sql "$DB" "UPDATE reviews SET status = 'held', held_at = $(at '2027-06-21 10:00'), decisions = 'Continue'"
		;;
	esac
done

# the transcript, one line per day and subject, recipients sorted
awk -F'|' '{ k = $1 "|" $3; if (k in r) r[k] = r[k] "," $2; else { r[k] = $2; order[n++] = k } }
	END { for (i = 0; i < n; i++) print order[i] "|" r[order[i]] }' "$T/transcript" |
	while IFS='|' read -r day subj who; do
		printf '%s %s -> %s\n' "$day" "$subj" "$(echo "$who" | tr ',' '\n' | sort | paste -sd, -)"
	done >"$T/got"
cat >"$T/want" <<'EOW'
2027-01-04 Security quiz QZ-1: question 1 of 2 -> alice,bob,carol,dana,erik,frank,grace,heidi,ivan
2027-01-04 Please read and acknowledge DOC-1: Acceptable use policy -> alice,bob,carol,dana,erik,frank,grace,heidi,ivan
2027-01-04 Annual risk assessment 2027 -> carol,erik
2027-01-04 ISMS management report, Example Org, 2027-01-04 -> board@example.org,dana
2027-01-11 Reminder: security quiz QZ-1, question 1 of 2 is waiting -> bob,dana,erik,frank,grace,heidi,ivan
2027-01-11 Please read and acknowledge DOC-1: Acceptable use policy -> ivan
2027-01-18 Security quiz QZ-1 closed: 2 of 8 completed in your teams -> dana
2027-01-18 Security quiz QZ-1 closed: 1 of 2 completed in your teams -> carol
2027-01-18 Security quiz QZ-1 closed: 1 of 3 completed in your teams -> bob
2027-01-18 Security quiz QZ-1 closed: 0 of 2 completed in your teams -> heidi
2027-01-18 Please read and acknowledge DOC-1: Acceptable use policy -> ivan
2027-01-25 Please read and acknowledge DOC-1: Acceptable use policy -> ivan
2027-02-01 Please read and acknowledge DOC-1: Acceptable use policy -> ivan
2027-02-01 ISMS management report, Example Org, 2027-02-01 -> board@example.org,dana
2027-02-08 Please read and acknowledge DOC-1: Acceptable use policy -> ivan
2027-02-13 72-hour clock INC-1: deadline passed on 2027-02-13T08:00:00Z; the authority is not notified yet -> carol,dana,erik
2027-02-15 Risk review due on 2027-03-01: RSK-1 [high] Laptop theft -> bob
2027-02-15 Please read and acknowledge DOC-1: Acceptable use policy -> ivan
2027-02-22 Please read and acknowledge DOC-1: Acceptable use policy -> ivan
2027-03-01 Risk review overdue (due 2027-03-01): RSK-1 [high] Laptop theft -> bob
2027-03-01 Please read and acknowledge DOC-1: Acceptable use policy -> ivan
2027-03-01 ISMS management report, Example Org, 2027-03-01 -> board@example.org,dana
2027-03-08 Approval needed APR-1 (escalated from carol): close INC-2 "Phishing mail" with lessons learned: Blocked the sender -> dana
2027-03-08 APR-1 escalated to dana: close INC-2 "Phishing mail" with lessons learned: Blocked the sender -> carol
2027-03-08 Reminder: APR-1 waits for your decision: close INC-2 "Phishing mail" with lessons learned: Blocked the sender -> carol
2027-03-08 Risk review overdue (due 2027-03-01): RSK-1 [high] Laptop theft -> bob
2027-04-05 Security quiz QZ-2: question 1 of 2 -> alice,bob,carol,dana,erik,frank,grace,heidi,ivan
2027-04-05 ISMS management report, Example Org, 2027-04-05 -> board@example.org,dana
2027-04-12 Reminder: security quiz QZ-2, question 1 of 2 is waiting -> alice,bob,carol,dana,erik,frank,grace,heidi,ivan
2027-04-19 Security quiz QZ-2 closed: 0 of 8 completed in your teams -> dana
2027-04-19 Security quiz QZ-2 closed: 0 of 2 completed in your teams -> carol,heidi
2027-04-19 Security quiz QZ-2 closed: 0 of 3 completed in your teams -> bob
2027-05-03 Action due on 2027-05-10: ACT-1 Rotate the API keys -> frank
2027-05-03 ISMS management report, Example Org, 2027-05-03 -> board@example.org,dana
2027-05-17 Action overdue (due 2027-05-10): ACT-1 Rotate the API keys -> frank
2027-05-24 Document review due on 2027-06-01: DOC-1 Acceptable use policy -> heidi
2027-05-24 Action overdue (due 2027-05-10): ACT-1 Rotate the API keys -> frank
2027-05-24 Overdue action of frank (due 2027-05-10): ACT-1 Rotate the API keys -> bob
2027-05-31 Action overdue (due 2027-05-10): ACT-1 Rotate the API keys -> frank
2027-06-07 Document review overdue (due 2027-06-01): DOC-1 Acceptable use policy -> heidi
2027-06-07 Management review due on 2027-06-21: MR-1 -> carol,erik
2027-06-07 ISMS management report, Example Org, 2027-06-07 -> board@example.org,dana
2027-07-05 Security quiz QZ-3: question 1 of 2 -> alice,bob,carol,dana,erik,frank,grace,heidi,ivan
2027-07-05 ISMS management report, Example Org, 2027-07-05 -> board@example.org,dana
2027-07-26 Security quiz QZ-3 closed: 0 of 8 completed in your teams -> dana
2027-07-26 Security quiz QZ-3 closed: 0 of 2 completed in your teams -> carol,heidi
2027-07-26 Security quiz QZ-3 closed: 0 of 3 completed in your teams -> bob
2027-08-02 ISMS management report, Example Org, 2027-08-02 -> board@example.org,dana
2027-08-30 Internal audit due on 2027-09-13: AUD-1 ISMS internal audit -> grace
2027-09-06 ISMS management report, Example Org, 2027-09-06 -> board@example.org,dana
2027-10-04 Security quiz QZ-4: question 1 of 2 -> alice,bob,carol,dana,erik,frank,grace,heidi,ivan
2027-10-04 ISMS management report, Example Org, 2027-10-04 -> board@example.org,dana
2027-10-11 Reminder: security quiz QZ-4, question 1 of 2 is waiting -> alice,bob,carol,dana,erik,frank,grace,heidi,ivan
2027-10-18 Security quiz QZ-4 closed: 0 of 8 completed in your teams -> dana
2027-10-18 Security quiz QZ-4 closed: 0 of 2 completed in your teams -> carol,heidi
2027-10-18 Security quiz QZ-4 closed: 0 of 3 completed in your teams -> bob
2027-11-01 ISMS management report, Example Org, 2027-11-01 -> board@example.org,dana
2027-12-06 ISMS management report, Example Org, 2027-12-06 -> board@example.org,dana
2027-12-13 Management review due on 2027-12-21: none is planned -> carol,erik
2027-12-27 Management review overdue (due 2027-12-21): none is planned -> carol,erik
EOW
diff -u "$T/want" "$T/got" || fail "the year's transcript differs (- expected, + got)"

# the ledger holds every nudge sent, each once (first questions are kept
# by the quiz tables, breach stages once for all isms_managers, and the
# escalation is an approval request recorded in approvals.escalated_to)
[ "$(sql "$DB" "SELECT COUNT(*) FROM nudges n JOIN outbox o ON o.id = n.outbox_id")" = \
  "$(grep -cv '|Security quiz QZ-[0-9]: question\||72-hour clock\||Approval needed\||APR-[0-9]* escalated to' "$T/transcript")" ] ||
	fail "ledger and transcript disagree"
[ "$(sql "$DB" "SELECT COUNT(*) FROM outbox WHERE kind = 'report' AND body LIKE 'ISMS management summary, Example Org, %Open incidents: critical 0, high 1%Quiz completion: QZ-%'")" = 24 ] ||
	fail "report text"
[ "$(sql "$DB" "SELECT COUNT(*) FROM outbox WHERE kind = 'report' AND address = 'board@example.org' AND person_id IS NULL AND html LIKE '%<h2>Heat map</h2>%title=\"high (16)\">1</td>%'")" = 12 ] ||
	fail "the board's monthly reports with the heat map"
# the year's state: the approval went through, clocks stopped, quiz closed
[ "$(sql "$DB" "SELECT status || '|' || (SELECT handle FROM people WHERE id = escalated_to) FROM approvals")" = "approved|dana" ] ||
	fail "escalated approval"
[ "$(sql "$DB" "SELECT group_concat(status) FROM quiz_campaigns")" = "closed,closed,closed,closed" ] || fail "campaigns closed"
# the chain holds; the rows this script set with sqlite3 to move the year
# along are named as changed outside ismsd
set +e
"$ISMSCTL" --db "$DB" audit verify >"$T/v"
rc=$?
set -e
[ "$rc" = 3 ] || { cat "$T/v"; fail "audit verify: exit $rc"; }
expect_in "$T/v" "hash chain verified"
expect_in "$T/v" "person alice: changed outside ismsd"
expect_not_in "$T/v" "APR-1"
[ "$(sql "$DB" "SELECT COUNT(*) FROM audit_log WHERE actor = 'scheduler' AND action = 'quiz.close'")" = 4 ] || fail "quiz.close audit rows"

# one busy pass under valgrind (plain build): a new quarter's campaign,
# the report, reminders
if command -v valgrind >/dev/null && [ -x "$PWD/build/ismsctl" ]; then
	valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect,possible \
		--error-exitcode=99 "$PWD/build/ismsctl" -c "$CONF" run-scheduler --now "2028-01-03 15:30" \
		>"$T/vg.out" 2>"$T/vg" || { cat "$T/vg"; fail "valgrind run-scheduler"; }
	expect_in "$T/vg.out" "Security quiz QZ-5: question 1 of 2"
	expect_in "$T/vg.out" "Annual risk assessment 2028"
fi
echo "scheduler year ok"
