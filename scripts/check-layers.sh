#!/bin/sh
# Keeps the source tree layered: each folder includes only headers of the
# folders below it (and its own). The order, bottom to top:
#
#   base      buffers, allocators, logging, embedded data, time zones
#   config    the configuration table          (base)
#   store     the database                     (base)
#   commands  the engine, command objects, scheduled jobs, working time
#   net       HTTP client and server, WebSocket (base)
#   adapters  console, Slack, Matrix, mail
#   gateway   the daemon loop, group commit, outbox delivery, main
#   tools     ismsctl                          (base, config, store, commands)
#
# Prints each offending #include and exits 1 when there is one.
set -u
cd "$(dirname "$0")/.." || exit 2

allowed() {
	case $1 in
	base) echo "base" ;;
	config) echo "base config" ;;
	store) echo "base store" ;;
	commands) echo "base config store commands" ;;
	net) echo "base net" ;;
	adapters) echo "base config store commands net adapters" ;;
	gateway) echo "base config store commands net adapters gateway" ;;
	tools) echo "base config store commands tools" ;;
	*) return 1 ;;
	esac
}

bad=0
for dir in base config store commands net adapters gateway tools; do
	ok=$(allowed "$dir")
	for f in "$dir"/*.c "$dir"/*.h; do
		[ -f "$f" ] || continue
		# "x.h" is the folder's own; "../d/x.h" names folder d
		grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" |
		while IFS= read -r line; do
			inc=$(printf '%s\n' "$line" | sed 's/.*"\(.*\)".*/\1/')
			case $inc in
			../*/*) to=$(printf '%s\n' "$inc" | cut -d/ -f2) ;;
			*/*) to=unknown ;;
			*) to=$dir ;;
			esac
			case " $ok " in
			*" $to "*) ;;
			*) echo "$f:${line%%:*}: $dir may not include $inc" ;;
			esac
		done
	done
done >"${TMPDIR:-/tmp}/check-layers.$$"
if [ -s "${TMPDIR:-/tmp}/check-layers.$$" ]; then
	cat "${TMPDIR:-/tmp}/check-layers.$$"
	bad=1
fi
rm -f "${TMPDIR:-/tmp}/check-layers.$$"
[ "$bad" -eq 0 ] && echo "layers: ok"
exit "$bad"
