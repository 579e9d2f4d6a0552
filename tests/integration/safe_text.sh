# Safe text: control sequences and bidi overrides typed into any command
# never reach a record, and whatever a record holds (written by an older
# version or behind the program's back) is shown escaped by the console,
# ismsctl and the csv/md exports; md escapes HTML; csv defuses formulas,
# including cells that start with TAB or CR.
# engines: sqlite pg
. tests/integration/lib.sh
DB=$(db_path s.db)
new_db "$DB"
ESC=$(printf '\033')
BEL=$(printf '\007')
RLO=$(printf '\342\200\256')
C1=$(printf '\302\233')
# the characters themselves in SQL: char() is SQLite's, chr() PostgreSQL's
TAB=$(printf '\t')
CR=$(printf '\r')

# 1. input: cleaned before the grammar sees it
printf '/incident Phish %s]0;owned%s title %s[2J with %s bidi %s C1 severity=high\n' \
	"$ESC" "$BEL" "$ESC" "$RLO" "$C1" | console "$DB" alice
expect_in "$T/out" "Recorded as INC-1 (severity high)"
title=$(sql "$DB" "SELECT title FROM incidents WHERE id = 1")
[ "$title" = "Phish ]0;owned title [2J with bidi C1" ] || fail "stored title: $title"
[ "$(sql "$DB" "SELECT COUNT(*) FROM incidents, (SELECT '$ESC' AS c UNION ALL SELECT '$BEL' UNION ALL SELECT '$RLO' UNION ALL SELECT '$C1') cc WHERE instr(title || description, c) > 0")" = 0 ] ||
	fail "a control or bidi character was stored"

# a NUL byte in a console line is refused, not cut short
printf '/incident before\000after\n' | console "$DB" alice
expect_in "$T/out" "error: the line contains a NUL byte; nothing was done"
[ "$(sql "$DB" "SELECT COUNT(*) FROM incidents")" = 1 ] || fail "a line with NUL was acted on"

# 2. output: a record holding them is shown escaped everywhere
sql "$DB" "UPDATE incidents SET title = 'Raw ' || '$ESC' || '[31mred' || '$BEL' || ' ' || '$RLO' || 'evil', description = '=cmd|'' /C calc''!A0' WHERE id = 1"
sql "$DB" "UPDATE people SET name = 'Mallory ' || '$ESC' || ']0;pwn' || '$BEL' WHERE handle = 'frank'"
printf 'incident show INC-1\nincident list all\n' | console "$DB" carol
grep -q "$ESC" "$T/out" && fail "the console printed an ESC"
grep -q "$RLO" "$T/out" && fail "the console printed a bidi override"
expect_in "$T/out" 'Raw \x1b[31mred\x07 \u202eevil'
"$ISMSCTL" --db "$DB" staff list >"$T/staff"
grep -q "$ESC" "$T/staff" && fail "staff list printed an ESC"
expect_in "$T/staff" 'Mallory \x1b]0;pwn\x07'
"$ISMSCTL" --db "$DB" export incidents --format csv >"$T/csv"
grep -q "$ESC" "$T/csv" && fail "csv holds an ESC"
expect_in "$T/csv" 'Raw \x1b[31mred\x07 \u202eevil'
expect_in "$T/csv" "\"'=cmd|' /C calc'!A0\""
"$ISMSCTL" --db "$DB" export incidents --format md >"$T/md"
grep -q "$ESC" "$T/md" && fail "md holds an ESC"
"$ISMSCTL" --db "$DB" outbox >"$T/outbox"
grep -q "$ESC" "$T/outbox" && fail "outbox listing printed an ESC"

# 3. md escapes HTML; csv defuses TAB and CR as well as = + - @
sql "$DB" "UPDATE incidents SET title = '<script>alert(1)</script>', category = '$TAB' || '=1+1', lessons = '$CR' || '@SUM(A1)' WHERE id = 1"
"$ISMSCTL" --db "$DB" export incidents --format md >"$T/md"
expect_not_in "$T/md" "<script>"
expect_in "$T/md" "&lt;script&gt;alert(1)&lt;/script&gt;"
"$ISMSCTL" --db "$DB" export incidents --format csv >"$T/csv"
expect_in "$T/csv" "\"'\\x09=1+1\""
expect_in "$T/csv" "\"'\\x0d@SUM(A1)\""
echo "safe text ok"
