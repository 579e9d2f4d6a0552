# The manual pages: docs/man/ismsd.conf.5 is what ismsd --print-man makes
# from the configuration table, every page passes the linters, and the
# hand-written pages name every option and command of --help.
. tests/integration/lib.sh
"$ISMSD" --print-man | diff -u docs/man/ismsd.conf.5 - ||
	fail "docs/man/ismsd.conf.5 is stale: regenerate with ismsd --print-man (make check-man)"
command -v mandoc >/dev/null || command -v groff >/dev/null ||
	fail "neither mandoc nor groff is installed (scripts/deps.sh test)"
for page in docs/man/ismsd.8 docs/man/ismsctl.8 docs/man/ismsd.conf.5; do
	if command -v mandoc >/dev/null; then
		mandoc -T lint -W warning "$page" >"$T/lint" 2>&1 || { cat "$T/lint"; fail "mandoc: $page"; }
	fi
	if command -v groff >/dev/null; then
		groff -ww -z -man "$page" >"$T/lint" 2>&1
		[ ! -s "$T/lint" ] || { cat "$T/lint"; fail "groff: $page"; }
	fi
done
# the roff source spells dashes \-
"$ISMSD" --help | grep -o -- '--[a-z-]*' | sort -u | while read -r opt; do
	grep -qF -- "$(printf '%s' "$opt" | sed 's/-/\\-/g')" docs/man/ismsd.8 || fail "ismsd.8 does not document $opt"
done
"$ISMSCTL" --help | sed -n '/^commands:/,$p' | grep '^  [a-z]' | sed 's/^  //; s/  .*//' |
	awk '{ s = $1; for (i = 2; i <= NF && $i ~ /^[a-z][a-z-]*$/; i++) s = s " " $i; print s }' | sort -u |
	while read -r cmd; do
		grep -qF -- "$(printf '%s' "$cmd" | sed 's/-/\\-/g')" docs/man/ismsctl.8 || fail "ismsctl.8 does not document $cmd"
	done
"$ISMSCTL" --help | grep -o -- '--[a-z-]*' | sort -u | while read -r opt; do
	grep -qF -- "$(printf '%s' "$opt" | sed 's/-/\\-/g')" docs/man/ismsctl.8 || fail "ismsctl.8 does not document $opt"
done
echo "man pages ok"
