#!/bin/sh
# agent-oids.sh - the OIDs ephportd serves (agent/mib.c) equal those of
# mibs/EPHEMERAL-PORT-MIB.txt, both ways: no drift between C and MIB.
set -u
srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
dump=${AGENT_OIDS:-./tests/agent_oids}
command -v snmptranslate >/dev/null || { echo "SKIP: snmptranslate not installed"; exit 77; }
mibdirs="$srcdir/mibs:$srcdir/mibs/ietf:/usr/share/snmp/mibs"
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/cert_indexes"
export SNMPCONFPATH="$tmp" SNMP_PERSISTENT_DIR="$tmp" MIBS= MIBDIRS=

pass=0 fail=0
"$dump" > "$tmp/c.txt" || { echo "FAIL: $dump did not run"; exit 1; }
while read -r name oid; do
	mib=$(snmptranslate -M "$mibdirs" -m EPHEMERAL-PORT-MIB -On "EPHEMERAL-PORT-MIB::$name" 2>&1)
	if [ "$mib" = "$oid" ]; then
		pass=$((pass + 1))
	else
		echo "FAIL $name: agent serves $oid, the MIB says $mib"
		fail=$((fail + 1))
	fi
done < "$tmp/c.txt"

# The other way: every readable object of the MIB is served, and every
# accessible-for-notify one is known to the agent (it sends them).
awk '/OBJECT-TYPE/ { name = $1 } /MAX-ACCESS/ && /read-only|accessible-for-notify/ { print name }' \
	"$srcdir/mibs/EPHEMERAL-PORT-MIB.txt" | sort > "$tmp/mib-names"
cut -d' ' -f1 "$tmp/c.txt" | sort > "$tmp/c-names"
missing=$(comm -23 "$tmp/mib-names" "$tmp/c-names")
extra=$(comm -13 "$tmp/mib-names" "$tmp/c-names")
if [ -n "$missing$extra" ]; then
	echo "FAIL: in the MIB, not served: ${missing:-none}; served, not readable in the MIB: ${extra:-none}"
	fail=$((fail + 1))
else
	pass=$((pass + 1))
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
