#!/bin/sh
# The systemd unit is generated from configure's paths (issue 16, defect
# 11): ExecStart and the ephport-bpf ExecStartPre name $(sbindir), whatever
# the prefix, and nothing is left unsubstituted.
# Environment (make check): EPH_UNIT, the built unit; EPH_SBINDIR.
set -u
unit=${EPH_UNIT:-contrib/systemd/ephportd.service}
sbindir=${EPH_SBINDIR:-/usr/local/sbin}
fail=0
check() { # what, command...
	what=$1; shift
	if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fail=1; fi
}
check "the unit was built ($unit)" test -f "$unit"
check "ExecStart=$sbindir/ephportd -f -Ls d" \
	grep -qx "ExecStart=$sbindir/ephportd -f -Ls d" "$unit"
check "ExecStartPre=-+$sbindir/ephport-bpf load" \
	grep -qx "ExecStartPre=-+$sbindir/ephport-bpf load" "$unit"
check "no @VARIABLE@ left" sh -c "! grep -q '@[a-z_]*@' '$unit'"
check "no unexpanded \${prefix}" sh -c "! grep -q '\\\${' '$unit'"
if command -v systemd-analyze >/dev/null 2>&1; then
	# Only the unit's syntax: the binaries need not be installed.
	out=$(systemd-analyze verify "$unit" 2>&1 | grep -v -e 'is not executable' \
		-e 'No such file' -e 'Failed to load' -e 'ephportd.service: Command' \
		-e 'Unit ephportd.service has a bad unit file setting' || true)
	check "systemd-analyze finds no syntax error${out:+: $out}" test -z "$out"
fi
[ $fail = 0 ] && echo "all passed" || echo "some failed"
exit $fail
