#!/usr/bin/env python3
"""ephportd is leak-free and memory-clean over a run of several hundred
requests and several collections, with its bind and connect alarms raised
(thresholds of 1 %: ephPressureHigh is built and sent through the master):
under valgrind (memcheck, definite leaks and errors fail) or, in the
sanitizer build, under ASan/LSan."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nsutil  # noqa: E402
import snmputil as su  # noqa: E402

if not su.have_tools():
    print("SKIP: Net-SNMP tools not installed")
    sys.exit(nsutil.SKIP)
exe = os.environ.get("EPHPORTD", "./ephportd")
asan = "libasan" in subprocess.run(["ldd", exe], capture_output=True, text=True).stdout
if not asan and not shutil.which("valgrind"):
    print("SKIP: valgrind not installed")
    sys.exit(nsutil.SKIP)
nsutil.enter_private_netns(sys.argv)
ck = nsutil.Checker()
nsutil.setup_namespace(*nsutil.SCENARIO_A)
keep = nsutil.scenario_a_sockets()

tmp = tempfile.mkdtemp(prefix="ephportd-leaks-")
master = su.Master(tmp)
master.start()
vglog = os.path.join(tmp, "valgrind.log")
wrapper = [] if asan else ["valgrind", "--quiet", f"--log-file={vglog}",
                           "--leak-check=full", "--errors-for-leak-kinds=definite",
                           "--error-exitcode=42"]
agent = su.Agent(tmp, master, wrapper=wrapper,
                 extra="risingThreshold 1\nfallingThreshold 0\n")
agent.start()
ck.eq("ephportd serves", su.wait_for(
    lambda: su.values("snmpget", "ephCollectorStatus.0")["ephCollectorStatus.0"] == "1",
    timeout=60), True)

requests = 0
for i in range(100):
    su.snmp("snmpget", "ephRangeUsable.1.1", "ephDataAge.0", "ephStateInRange.1.1.1")
    su.snmp("snmpgetnext", "ephDestSockets")
    su.snmp("snmpget", "ephRangePressure.1.1", "ephRangeConnectAlarmState.1.1",
            "ephNsTcpTwReuse.1", "ephConnectThresholdRising.0")
    su.snmp("snmpgetnext", "ephDestConnectPressure")
    requests += 4
for i in range(20):
    out = su.snmp("snmpbulkwalk", "-Cr5", "ephemeralPortMIB").stdout
    requests += len(out.splitlines()) // 5 + 1
    su.snmp("snmpwalk", "ephRangeTable", version="3")
    requests += 45
print(f"about {requests} requests served")
ck.eq("several hundred requests", requests >= 300, True)
# Let several collections (interval 1 s) run under the checker too.
ck.eq("several collections", su.wait_for(
    lambda: int(su.values("snmpget", "ephCollectionsTotal.0")["ephCollectionsTotal.0"]) >= 5,
    timeout=60), True)

log = open(agent.logpath).read()
ck.eq("the alarms were raised and notified",
      ("tcp ephPressureHigh: bind pressure" in log, "tcp ephPressureHigh: connect pressure" in log,
       "udp ephPressureHigh: bind pressure" in log), (True, True, True))

rc = agent.stop()
master.stop()
ck.eq("exit status (42: valgrind found errors; ASan: non-zero)", rc, 0)
if not asan:
    report = open(vglog).read()
    print(report)
    ck.eq("valgrind reports nothing", re.search(r"definitely lost: [1-9]|Invalid (read|write)|uninitialised",
                                                report), None)
else:
    log = open(agent.logpath).read()
    ck.eq("no sanitizer report", "Sanitizer" in log, False)
ck.done()
