# The console path under valgrind (plain build): no leaks, no invalid
# reads or writes, over a scenario that touches every incident command.
. tests/integration/lib.sh
command -v valgrind >/dev/null || fail "valgrind is not installed (make test installs it)"
BIN=$PWD/build
[ -x "$BIN/ismsd" ] || fail "build/ismsd missing: run make first"
DB=$T/v.db
"$BIN/ismsctl" --db "$DB" init >/dev/null
"$BIN/ismsctl" --db "$DB" staff import config/demo/staff.csv >/dev/null
vg() {
	valgrind -q --leak-check=full --show-leak-kinds=definite,indirect,possible \
		--errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 "$@"
}
printf '%s\n' '/incident Stolen badge severity=high personal_data=yes' 'help' 'help incident' \
	'incident list all' 'incident show INC-1' 'bogus' '/isms incident report "unterminated' |
	vg "$BIN/ismsd" --console --db "$DB" --as alice >"$T/out" 2>"$T/vg" || { cat "$T/vg"; fail "valgrind (alice)"; }
printf '%s\n' 'incident assign INC-1 @bob' 'incident close INC-1 Badges now expire' 'incident notifiable INC-1 no badge only' |
	vg "$BIN/ismsd" --console --db "$DB" --as carol >"$T/out" 2>"$T/vg" || { cat "$T/vg"; fail "valgrind (carol)"; }
printf '%s\n' 'approvals' 'approve APR-1 ok' 'reject APR-1 late' |
	vg "$BIN/ismsd" --console --db "$DB" --as erik >"$T/out" 2>"$T/vg" || { cat "$T/vg"; fail "valgrind (erik)"; }
expect_in "$T/out" "APR-1 approved"
vg "$BIN/ismsctl" --db "$DB" audit verify >"$T/out" 2>"$T/vg" || { cat "$T/vg"; fail "valgrind (verify)"; }
vg "$BIN/ismsctl" --db "$DB" export incidents --format json >"$T/out" 2>"$T/vg" || { cat "$T/vg"; fail "valgrind (export)"; }
[ ! -s "$T/vg" ] || { cat "$T/vg"; fail "valgrind reported problems"; }
echo "valgrind clean"
