#!/bin/bash
# mib-lint.sh - lint mibs/EPHEMERAL-PORT-MIB.txt with smilint and Net-SNMP.
#
# Usage: tests/mib-lint.sh [SRCDIR]
#   SRCDIR: the source tree (default: the repository holding this script).
#
# The standard IETF modules the MIB imports (SNMPv2-SMI, INET-ADDRESS-MIB,
# ...) come from SRCDIR/mibs/ietf (Debian does not ship them), NET-SNMP-MIB
# from /usr/share/snmp/mibs. Nothing outside the tree and the system's
# Net-SNMP is read.
#
# Exit status: 0 clean ("mib-lint: ok"), 1 lint failure (the offending
# output is printed), 77 smilint or snmptranslate not installed (automake
# SKIP).
set -u

me="mib-lint"
srcdir=${1:-$(cd "$(dirname "$0")/.." && pwd)}
mib="$srcdir/mibs/EPHEMERAL-PORT-MIB.txt"
module=EPHEMERAL-PORT-MIB
root_oid=.1.3.6.1.4.1.8072.9999.9999.7

for tool in smilint snmptranslate; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "$me: SKIP: $tool not installed (Debian: smitools, snmp)"
		exit 77
	fi
done

if [ ! -r "$mib" ]; then
	echo "$me: FAIL: $mib not found"
	exit 1
fi

mibdirs="$srcdir/mibs/ietf:/usr/share/snmp/mibs"
for m in SNMPv2-SMI SNMPv2-TC SNMPv2-CONF INET-ADDRESS-MIB; do
	if [ ! -r "$srcdir/mibs/ietf/$m.txt" ]; then
		echo "$me: FAIL: $srcdir/mibs/ietf/$m.txt missing"
		exit 1
	fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mib-lint.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
# Keep Net-SNMP away from the user's and the system's configuration and
# persistent state: an snmp.conf "mibs +ALL" or a first-run "Created
# directory" line would otherwise land on stderr.
mkdir -p "$tmp/cert_indexes"
unset MIBS MIBDIRS MIBFILES
export SNMPCONFPATH="$tmp" SNMP_PERSISTENT_DIR="$tmp"

fail=0

# 1. smilint at level 6: any output at all is a failure (it exits 0 even
#    when it warns).
out=$(SMIPATH="$mibdirs" smilint -l 6 -s "$mib" 2>&1)
if [ -n "$out" ]; then
	echo "$me: FAIL: smilint -l 6 -s $mib printed:"
	printf '%s\n' "$out"
	fail=1
fi

# 2. snmptranslate must parse the module (only it and its imports: -m
#    without '+', so that missing unrelated default modules do not count)
#    with nothing on stderr.
snmp_m="$srcdir/mibs:$mibdirs"
snmptranslate -M "$snmp_m" -m "$module" -Tp >"$tmp/tp.out" 2>"$tmp/tp.err"
rc=$?
if [ $rc -ne 0 ] || [ -s "$tmp/tp.err" ]; then
	echo "$me: FAIL: snmptranslate -M $snmp_m -m $module -Tp (exit $rc):"
	cat "$tmp/tp.err"
	fail=1
elif ! grep -q 'ephemeralPortMIB(7)' "$tmp/tp.out"; then
	echo "$me: FAIL: snmptranslate -Tp tree lacks ephemeralPortMIB(7)"
	fail=1
fi

# 3. The root: ephRangeExhaustion must resolve under netSnmpPlaypen.7.
oid=$(snmptranslate -M "$snmp_m" -m "$module" -On \
	"$module::ephRangeExhaustion" 2>"$tmp/on.err")
rc=$?
case "$oid" in
"$root_oid".*)
	if [ $rc -ne 0 ] || [ -s "$tmp/on.err" ]; then
		echo "$me: FAIL: snmptranslate -On $module::ephRangeExhaustion (exit $rc):"
		cat "$tmp/on.err"
		fail=1
	fi
	;;
*)
	echo "$me: FAIL: $module::ephRangeExhaustion resolved to '$oid'," \
		"expected $root_oid.*"
	cat "$tmp/on.err"
	fail=1
	;;
esac

if [ $fail -ne 0 ]; then
	exit 1
fi
echo "$me: ok"
exit 0
