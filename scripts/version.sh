#!/bin/sh
# Prints the release version: `git describe` in a git checkout of this
# tree (VERSION-gHASH when there is no tag yet), else the VERSION file,
# else the newest debian/changelog entry (a tarball or package build).
cd "$(dirname "$0")/.." || exit 2
top=$(git rev-parse --show-toplevel 2>/dev/null) || top=
if [ -n "$top" ] && [ "$(cd "$top" && pwd -P)" = "$(pwd -P)" ]; then
	if v=$(git describe --tags --dirty 2>/dev/null); then
		echo "${v#v}"
		exit 0
	fi
	if h=$(git describe --always --dirty 2>/dev/null); then
		if [ -f VERSION ]; then
			echo "$(cat VERSION)-g$h"
		else
			echo "$h"
		fi
		exit 0
	fi
fi
if [ -s VERSION ]; then
	head -n1 VERSION
elif [ -f debian/changelog ]; then
	# "isms-gateway (0.1.0-1) unstable; ...": the upstream part
	sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' debian/changelog | sed 's/-[^-]*$//'
else
	echo unknown
fi
