#!/usr/bin/env python3
"""Alarms on near-exhaustion, end to end, in a private network namespace
with a 20-port range: real sockets push TCP usage past the rising
threshold (50 %) and back under the falling one (30 %).  For the same
crossings: a real snmptrapd must receive exactly one ephExhaustionHigh and,
after the release, exactly one ephExhaustionCleared, with the right
varbinds; a real collectd with the plugin and its logfile plugin logs one
WARNING and one OKAY notification; `ephport check` returns 0, 1, 2 at the
right points.  Dipping between the thresholds sends nothing anywhere."""
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nsutil  # noqa: E402
import snmputil as su  # noqa: E402
from collectdutil import (asan_runtime, find_collectd, find_plugin,  # noqa: E402
                          needs_asan)
from nsutil import tcp_connect, tcp_listen  # noqa: E402

if not su.have_tools() or not os.path.exists("/usr/sbin/snmptrapd"):
    print("SKIP: snmpd/snmptrapd not installed")
    sys.exit(nsutil.SKIP)
nsutil.enter_private_netns(sys.argv)
ck = nsutil.Checker()
nsutil.setup_namespace(40000, 40019, "")
tmp = tempfile.mkdtemp(prefix="ephport-alarm-")
TRAP_PORT = 11162

trapconf = os.path.join(tmp, "snmptrapd.conf")
with open(trapconf, "w") as f:
    f.write("disableAuthorization yes\n")
traplog = os.path.join(tmp, "traps.log")
env = dict(os.environ, MIBS="", SNMP_PERSISTENT_DIR=tmp)
trapd = subprocess.Popen(
    ["snmptrapd", "-f", "-C", "-c", trapconf, "-Lf", traplog,
     "-M", su.mib_path(), "-m", "EPHEMERAL-PORT-MIB:SNMPv2-MIB", "-OQsbeU",
     "-F", "TRAP %v\\n", f"udp:127.0.0.1:{TRAP_PORT}"], env=env)

master = su.Master(tmp)
with open(master.conf, "a") as f:
    f.write(f"trap2sink 127.0.0.1:{TRAP_PORT} public\n")
master.start()
agent = su.Agent(tmp, master, extra="risingThreshold 50\nfallingThreshold 30\n")
agent.start()
su.wait_for(lambda: su.values("snmpget", "ephCollectorStatus.0")["ephCollectorStatus.0"] == "1")

# collectd with the plugin (same thresholds) and logfile, which logs
# notifications.  Copies, not symlinks: collectd skips symlinks.
plugin, collectd = find_plugin(), find_collectd()
if not plugin or not collectd:
    print("SKIP: collectd or the built ephport.so not found")
    sys.exit(nsutil.SKIP)
cdir = os.path.join(tmp, "collectd")
os.makedirs(os.path.join(cdir, "plugins"))
shutil.copyfile(plugin, os.path.join(cdir, "plugins", "ephport.so"))
shutil.copyfile("/usr/lib/collectd/logfile.so", os.path.join(cdir, "plugins", "logfile.so"))
cdlog = os.path.join(cdir, "collectd.log")
with open(os.path.join(cdir, "collectd.conf"), "w") as f:
    f.write(f"""Hostname "ephtest"
FQDNLookup false
BaseDir "{cdir}"
PIDFile "{cdir}/collectd.pid"
PluginDir "{cdir}/plugins"
TypesDB "/usr/share/collectd/types.db"
Interval 1
LoadPlugin logfile
<Plugin logfile>
  File "{cdlog}"
  LogLevel info
</Plugin>
LoadPlugin ephport
<Plugin ephport>
  Protocol "tcp"
  RisingThreshold 50
  FallingThreshold 30
</Plugin>
""")
cdenv = dict(os.environ)
if needs_asan(plugin):
    cdenv["LD_PRELOAD"] = asan_runtime()
    cdenv["ASAN_OPTIONS"] = "detect_leaks=0"
cd = subprocess.Popen([collectd, "-f", "-C", os.path.join(cdir, "collectd.conf")],
                      stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, env=cdenv)


def notifications():
    if not os.path.exists(cdlog):
        return []
    return [line for line in open(cdlog) if "Notification:" in line and "plugin = ephport" in line]


def traps():
    if not os.path.exists(traplog):
        return []
    # Ours only: the master sends a coldStart of its own.
    return [line[5:] for line in open(traplog)
            if line.startswith("TRAP ") and "ephExhaustion" in line]


def collections():
    return int(su.values("snmpget", "ephCollectionsTotal.0")["ephCollectionsTotal.0"])


def settle(n=3):
    """Let n more collections (and their notifications) happen, in
    ephportd and in collectd (both every second)."""
    start = collections()
    su.wait_for(lambda: collections() >= start + n, timeout=30)
    time.sleep(1.5)


def check_status(warn, crit):
    return nsutil.ephport("check", "-w", warn, "-c", crit, "-P", "tcp", check=False).returncode


def release(socks, n):
    """Close n client sockets with RST (SO_LINGER 0): no TIME_WAIT keeps
    their ports."""
    for _ in range(n):
        s = socks.pop()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()


srv = tcp_listen("127.0.0.1", 8080)
settle()
ck.eq("no trap while idle", traps(), [])
ck.eq("no collectd notification while idle", notifications(), [])
ck.eq("check OK when idle", check_status("50", "70"), 0)

clients = [tcp_connect("127.0.0.1", 8080) for _ in range(12)]     # 60 %
settle()
t = traps()
ck.eq("exactly one trap after rising to 60 %", len(t), 1)
high = t[0] if t else ""
dest = "1.1.1.4.127.0.0.1.1.4.127.0.0.1.8080"
for want in ("snmpTrapOID.0 = ephExhaustionHigh", "ephNsName.1 = net:[",
             "ephRangeExhaustion.1.1 = 6000", "ephRangePortsInUse.1.1 = 12",
             "ephRangeUsable.1.1 = 20", "ephRangeLow.1.1 = 40000",
             "ephRangeHigh.1.1 = 40019", "ephRangeWorstDestExhaustion.1.1 = 6000",
             f"ephDestSockets.{dest} = 12", f"ephDestExhaustion.{dest} = 6000"):
    ck.eq(f"high trap carries {want}", want in high, True)
n = notifications()
ck.eq("one collectd notification after rising", len(n), 1)
ck.eq("collectd notification: WARNING with the numbers",
      all(w in (n[0] if n else "") for w in (
          "severity = WARNING", "host = ephtest", "plugin_instance = tcp",
          "type = percent", "type_instance = exhaustion",
          "tcp ephemeral ports 60.00% exhausted: rose to or above 50.00% (12 of 20 ports in use",
          "worst destination 127.0.0.1 -> 127.0.0.1:8080 at 60.00%")), True)
ck.eq("alarm state high(2)", su.values("snmpget", "ephRangeAlarmState.1.1")
      ["ephRangeAlarmState.1.1"], "2")
ck.eq("udp alarm stays normal(1)", su.values("snmpget", "ephRangeAlarmState.1.2")
      ["ephRangeAlarmState.1.2"], "1")
ck.eq("check WARNING at 60 % (w 50, c 70)", check_status("50", "70"), 1)
ck.eq("check CRITICAL at 60 % (w 40, c 55)", check_status("40", "55"), 2)
ck.eq("check OK at 60 % (w 70, c 90)", check_status("70", "90"), 0)
line = nsutil.ephport("check", "-w", "50", "-c", "70", "-P", "tcp", check=False).stdout
ck.eq("check status line", line.startswith("EPHPORT WARNING - tcp 60.00% exhausted (12 of 20 ports in use"), True)
ck.eq("check perfdata", "| tcp_exhaustion=60.00%;50.00;70.00;0;100" in line, True)

clients += [tcp_connect("127.0.0.1", 8080) for _ in range(4)]     # 80 %: still high
settle()
release(clients, 7)                                                # 45 %: between
settle()
ck.eq("no trap while staying high or between thresholds", len(traps()), 1)
ck.eq("no collectd notification while high or between", len(notifications()), 1)
release(clients, 3)                                                # 30 %: at falling
settle()
t = traps()
ck.eq("exactly one more trap after falling to 30 %", len(t), 2)
cleared = t[1] if len(t) > 1 else ""
for want in ("snmpTrapOID.0 = ephExhaustionCleared", "ephRangeExhaustion.1.1 = 3000",
             "ephRangePortsInUse.1.1 = 6"):
    ck.eq(f"cleared trap carries {want}", want in cleared, True)
n = notifications()
ck.eq("one more collectd notification after falling", len(n), 2)
ck.eq("collectd notification: OKAY",
      all(w in (n[1] if len(n) > 1 else "") for w in (
          "severity = OKAY", "fell to or below 30.00% (6 of 20 ports in use")), True)
ck.eq("alarm state normal(1)", su.values("snmpget", "ephRangeAlarmState.1.1")
      ["ephRangeAlarmState.1.1"], "1")
clients += [tcp_connect("127.0.0.1", 8080) for _ in range(5)]      # 55 %: re-armed
settle()
t = traps()
ck.eq("re-armed: one new high trap", (len(t), "= ephExhaustionHigh" in t[-1]), (3, True))
ck.eq("re-armed: one new collectd WARNING", (len(notifications()), "severity = WARNING" in notifications()[-1]), (3, True))
cd.terminate()
cd.wait(30)
agent.stop()
master.stop()
trapd.terminate()
trapd.wait(10)
ck.done()
