#!/bin/sh
# contrib/systemd/ephport-textfile.service: runs the shell command of its
# ExecStart= (systemd's "$$" unescaped) with $EPHPORT and a temporary
# TEXTFILE_DIR, and checks that
#   - the file it writes passes `promtool check metrics`;
#   - no temporary file is left beside it, and it is mode 0644;
#   - a failing ephport leaves the previous file untouched (atomic);
#   - systemd-analyze verify accepts the service and the timer.
# Skips (77) without promtool or $EPHPORT.
set -eu
top=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
unit="$top/contrib/systemd/ephport-textfile.service"
timer="$top/contrib/systemd/ephport-textfile.timer"
: "${EPHPORT:?EPHPORT must name the ephport binary}"
[ -x "$EPHPORT" ] || { echo "SKIP: no $EPHPORT"; exit 77; }
command -v promtool >/dev/null 2>&1 || { echo "SKIP: no promtool (Debian: prometheus)"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

line=$(grep '^ExecStart=' "$unit") || fail "no ExecStart= in $unit"
case $line in
"ExecStart=/bin/sh -ec '"*"'") ;;
*) fail "ExecStart= is not /bin/sh -ec '...': $line" ;;
esac
script=${line#"ExecStart=/bin/sh -ec '"}
script=${script%"'"}
script=$(printf '%s\n' "$script" | sed 's/\$\$/$/g')
# Every Environment= the unit sets must be one the script is given here.
grep '^Environment=' "$unit" | sed 's/^Environment=//; s/=.*//' | sort >"${TMPDIR:-/tmp}/textfile-env.$$"
tmpd=$(mktemp -d)
trap 'rm -rf "$tmpd" "${TMPDIR:-/tmp}/textfile-env.$$"' EXIT
[ "$(tr '\n' ' ' <"${TMPDIR:-/tmp}/textfile-env.$$")" = "EPHPORT EPHPORT_OPTS TEXTFILE_DIR " ] ||
	fail "unexpected Environment= in the unit: $(cat "${TMPDIR:-/tmp}/textfile-env.$$")"

run() { env EPHPORT="$1" TEXTFILE_DIR="$tmpd" EPHPORT_OPTS="${2:-}" /bin/sh -ec "$script"; }

run "$EPHPORT" || fail "the unit's command failed"
out="$tmpd/ephport.prom"
[ -s "$out" ] || fail "no $out"
promtool check metrics <"$out" || fail "promtool check metrics rejects the textfile"
grep -q '^ephport_pressure_ratio{' "$out" || fail "no ephport_pressure_ratio in the textfile"
[ "$(ls -A "$tmpd")" = ephport.prom ] || fail "left behind: $(ls -A "$tmpd")"
[ "$(stat -c %a "$out")" = 644 ] || fail "mode $(stat -c %a "$out"), not 644"

run "$EPHPORT" "--top 3" || fail "the unit's command failed with EPHPORT_OPTS"
promtool check metrics <"$out" || fail "promtool rejects the --top 3 textfile"

cp "$out" "$tmpd/before"
if run /bin/false 2>/dev/null; then fail "a failing ephport did not fail the unit"; fi
cmp -s "$out" "$tmpd/before" || fail "a failing ephport changed ephport.prom"
rm -f "$tmpd/before"
[ "$(ls -A "$tmpd")" = ephport.prom ] || fail "a failing run left: $(ls -A "$tmpd")"

if command -v systemd-analyze >/dev/null 2>&1; then
	systemd-analyze verify --man=no "$unit" "$timer" || fail "systemd-analyze verify"
fi
echo "PASS: ephport-textfile.service writes a textfile promtool accepts, atomically"
