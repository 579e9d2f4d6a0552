# The audit pack: the demo database is packed by ismsctl; the pack
# unpacks into one folder whose MANIFEST.sha256 checks with sha256sum,
# holds every register in three formats, each approved SoA version, the
# audit log as JSON and its verification; HEAD.txt is the head ismsctl
# prints; a tampered file fails the check; an existing file is only
# replaced with --force; chat answers auditors how to make it.
# engines: sqlite pg
. tests/integration/lib.sh
DB=$(db_path isms.db)
"$ISMSCTL" --db "$DB" init >/dev/null
"$ISMSCTL" --db "$DB" staff import config/demo/staff.csv >/dev/null
"$ISMSCTL" --db "$DB" seed config/demo/seed.txt >/dev/null
# management approves SoA version 1, so that the pack holds a version
printf 'soa approve First approved SoA\n' | console "$DB" dana
expect_in "$T/out" "version 1"

before=$(db_digest "$DB")
"$ISMSCTL" --db "$DB" export audit-pack "$T/pack.tar.gz" >"$T/made" ||
	fail "export audit-pack failed"
expect_in "$T/made" "audit pack written to $T/pack.tar.gz"
[ "$(db_digest "$DB")" = "$before" ] || fail "the pack changed the database"
[ ! -e "$T/pack.tar.gz.partial" ] || fail "a partial file was left"
[ "$(stat -c %a "$T/pack.tar.gz")" = 600 ] || fail "the pack is not mode 0600"

mkdir "$T/x"
tar -xzf "$T/pack.tar.gz" -C "$T/x"
[ "$(ls "$T/x")" = audit-pack ] || fail "the pack is not in one folder"
P=$T/x/audit-pack
(cd "$P" && sha256sum -c --strict MANIFEST.sha256 >"$T/check") ||
	fail "the manifest does not check: $(cat "$T/check")"
# every file but the manifest is listed, and nothing else
(cd "$P" && find . -type f ! -name MANIFEST.sha256 | sed 's|^\./||' |
	sort) >"$T/files"
awk '{print $2}' "$P/MANIFEST.sha256" | sort >"$T/listed"
cmp -s "$T/files" "$T/listed" || fail "manifest and files differ"

# every register in each format; the SoA as approved
for e in incidents risks actions assets suppliers documents evidence \
	training acknowledgements quiz-results findings soa staff; do
	for f in csv json md; do
		[ -s "$P/registers/$e.$f" ] || fail "registers/$e.$f missing"
	done
	$PY -m json.tool "$P/registers/$e.json" >/dev/null ||
		fail "registers/$e.json is not JSON"
done
for f in csv json md; do
	[ -s "$P/soa/soa-v1.$f" ] || fail "soa/soa-v1.$f missing"
done
# each framework's mapping, as ismsctl exports it
for fw in nis2 gdpr; do
	"$ISMSCTL" --db "$DB" export mapping --framework $fw --format csv >"$T/map.csv"
	cmp -s "$T/map.csv" "$P/mappings/$fw.csv" || fail "mappings/$fw.csv differs"
done
"$ISMSCTL" --db "$DB" export soa --version 1 --format csv >"$T/soa1.csv"
cmp -s "$T/soa1.csv" "$P/soa/soa-v1.csv" || fail "soa-v1.csv differs"
expect_in "$P/registers/risks.csv" "RSK-1,Stolen laptop exposes customer data"
expect_in "$P/registers/risks.csv" "RSK-4,Office flooding damages equipment"
[ "$(grep -c '^RSK-' "$P/registers/risks.csv")" = \
	"$(sql "$DB" 'SELECT COUNT(*) FROM risks')" ] ||
	fail "risks.csv does not hold every risk"
expect_in "$P/registers/findings.csv" "FND-1,AUD-1"
expect_in "$P/registers/acknowledgements.csv" "DOC-1,"
expect_in "$P/registers/risks.md" "| RSK-1 |"
[ ! -e "$P/registers/audit-log.csv" ] || fail "the audit log is a register"

# the audit log, its verification and its head
$PY -m json.tool "$P/audit-log.json" >/dev/null || fail "audit-log.json"
rows=$($PY -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' \
	"$P/audit-log.json")
[ "$rows" = "$(sql "$DB" 'SELECT COUNT(*) FROM audit_log')" ] ||
	fail "audit-log.json has $rows rows"
"$ISMSCTL" --db "$DB" audit verify >"$T/verify"
cmp -s "$T/verify" "$P/verify.txt" || fail "verify.txt differs"
expect_in "$P/verify.txt" "hash chain verified"
head=$("$ISMSCTL" --db "$DB" audit head)
[ "$(sed -n 's/^head //p' "$P/HEAD.txt")" = "$head" ] ||
	fail "HEAD.txt does not name $head"
"$ISMSCTL" --db "$DB" audit verify --head "$head" >/dev/null ||
	fail "the packed head does not verify"

# a changed file fails the check
sed -i 's/Stolen laptop/Found laptop/' "$P/registers/risks.csv"
if (cd "$P" && sha256sum -c --quiet MANIFEST.sha256 >"$T/check" 2>&1); then
	fail "a tampered file passed the manifest"
fi
expect_in "$T/check" "registers/risks.csv: FAILED"

# an existing file is kept unless --force; usage errors
cp "$T/pack.tar.gz" "$T/keep"
if "$ISMSCTL" --db "$DB" export audit-pack "$T/pack.tar.gz" 2>"$T/err2"; then
	fail "an existing pack was replaced without --force"
fi
expect_in "$T/err2" "exists (--force replaces it)"
cmp -s "$T/keep" "$T/pack.tar.gz" || fail "the refused pack changed the file"
"$ISMSCTL" --db "$DB" export audit-pack "$T/pack.tar.gz" --force >/dev/null ||
	fail "--force did not replace the pack"
rm -rf "$T/x" && mkdir "$T/x" && tar -xzf "$T/pack.tar.gz" -C "$T/x"
(cd "$T/x/audit-pack" && sha256sum -c --quiet MANIFEST.sha256) ||
	fail "the replaced pack does not check"
if "$ISMSCTL" --db "$DB" export audit-pack 2>"$T/err2"; then
	fail "no file name accepted"
fi
expect_in "$T/err2" "usage: ismsctl export audit-pack FILE.tar.gz [--force]"
if "$ISMSCTL" --db "$DB" export audit-pack "$T/nodir/p.tar.gz" 2>"$T/err2"; then
	fail "a pack in a missing folder"
fi
expect_in "$T/err2" "no audit pack written"
[ ! -e "$T/nodir" ] || fail "a folder was made"

# chat: auditors and isms_managers are told how; staff are refused
printf 'export audit-pack\n' | console "$DB" grace
expect_in "$T/out" "ismsctl export audit-pack FILE.tar.gz"
expect_in "$T/out" "The audit log's head now is $head"
printf 'export audit-pack\n' | console "$DB" carol
expect_in "$T/out" "cannot be sent over chat"
grep -q "/isms portal" "$T/out" && fail "the portal is offered while it is off"
# with the portal on, the answer points at its download
printf '[store]\n%s\n[portal]\nlisten = 127.0.0.1:1\n' "$(store_conf "$DB")" >"$T/portal.conf"
printf 'export audit-pack\n' | "$ISMSD" --console -c "$T/portal.conf" --as carol >"$T/out" 2>"$T/err" ||
	fail "console with the portal configured"
expect_in "$T/out" "Or download it: /isms portal"
printf 'export audit-pack\n' | console "$DB" alice || true
expect_in "$T/out" "needs the isms_manager or auditor role"
"$ISMSCTL" --db "$DB" audit verify >/dev/null || fail "audit verify"
echo "audit_pack: ok"
