#!/bin/sh
# The packaging metadata agrees with configure.ac and parses:
#   - debian/changelog's upstream version and contrib/rpm/ephport.spec's
#     Version are AC_INIT's;
#   - debian/control names the three binary packages debian/*.install fill;
#   - `rpmspec -P contrib/rpm/ephport.spec` expands it, leaving no macro
#     unexpanded (systemd-rpm-macros stubbed when rpm has none, as on
#     Debian); skipped without rpmspec.
# The packages themselves are built, linted, installed and purged by
# scripts/package (run from scripts/test).
set -eu
top=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
fail() { echo "FAIL: $*"; exit 1; }
ac=$(sed -n 's/^AC_INIT(\[ephport\], \[\([^]]*\)\].*/\1/p' "$top/configure.ac")
[ -n "$ac" ] || fail "no version in AC_INIT"
# debian/ is not in the dist tarball (scripts/package builds from the tree).
if [ -d "$top/debian" ]; then
	deb=$(sed -n '1s/^ephport (\([^)-]*\)-[^)]*).*/\1/p' "$top/debian/changelog")
	[ "$deb" = "$ac" ] || fail "debian/changelog upstream version '$deb' is not configure.ac's '$ac'"
	for p in ephport ephportd collectd-ephport; do
		grep -q "^Package: $p\$" "$top/debian/control" || fail "debian/control has no package $p"
		[ -s "$top/debian/$p.install" ] || fail "no debian/$p.install"
	done
	echo "ok: debian/changelog version $ac, debian/control packages"
else
	echo "note: no debian/ (a dist tarball): Debian metadata not checked"
fi
spec="$top/contrib/rpm/ephport.spec"
rpmv=$(sed -n 's/^Version:[[:space:]]*//p' "$spec")
[ "$rpmv" = "$ac" ] || fail "ephport.spec Version '$rpmv' is not configure.ac's '$ac'"
echo "ok: ephport.spec version $ac"
if ! command -v rpmspec >/dev/null 2>&1; then
	echo "SKIP: rpmspec not installed (Debian: rpm): ephport.spec not parsed"
	exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
: >"$tmp/macros"
if [ -z "$(rpm --eval '%{?_unitdir}')" ]; then
	cat >"$tmp/macros" <<'MACROS'
%_unitdir /usr/lib/systemd/system
%systemd_requires %{nil}
%systemd_post() :
%systemd_preun() :
%systemd_postun() :
%systemd_postun_with_restart() :
MACROS
fi
rpmspec --load "$tmp/macros" -P "$spec" >"$tmp/spec" 2>"$tmp/err" ||
	{ cat "$tmp/err"; fail "rpmspec -P $spec"; }
if grep -n '%{[a-z_]' "$tmp/spec" | grep -v '%{?' >"$tmp/left"; then
	cat "$tmp/left"; fail "macros left unexpanded by rpmspec -P"
fi
for p in ephport ephportd collectd-ephport; do
	grep -q "^%files.*$p\|^%files\$" "$tmp/spec" || fail "no %files for $p"
done
[ ! -s "$tmp/err" ] || { cat "$tmp/err"; fail "rpmspec -P warned"; }
echo "PASS: packaging metadata; rpmspec -P parses contrib/rpm/ephport.spec"
