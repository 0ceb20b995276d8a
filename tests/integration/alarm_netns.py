#!/usr/bin/env python3
"""Alarms on near-exhaustion, end to end, in a private network namespace
with a 20-port range: real sockets to one destination push TCP bind
pressure past its rising threshold (50 %) and connect pressure past its
own (70 %), then back under the falling ones (connect 50 %, bind 30 %).
A real snmptrapd must receive, for each alarm and crossing, exactly one
ephPressureHigh / ephPressureCleared naming the kind (and, for connect,
the destination) with the right varbinds, and never a deprecated
ephExhaustionHigh / Cleared; a real collectd with the plugin and its
logfile plugin logs one WARNING and one OKAY notification; `ephport
check` returns 0, 1, 2 at the right points.  Dipping between the
thresholds sends nothing anywhere."""
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

trapd, traplog = su.start_trapd(tmp, TRAP_PORT, "-OQsbU")

master = su.Master(tmp)
with open(master.conf, "a") as f:
    f.write(f"trap2sink 127.0.0.1:{TRAP_PORT} public\n")
master.start()
agent = su.Agent(tmp, master, extra="risingThreshold 50\nfallingThreshold 30\n"
                 "connectRisingThreshold 70\nconnectFallingThreshold 50\n")
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
cd = nsutil.spawn([collectd, "-f", "-C", os.path.join(cdir, "collectd.conf")],
                  stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, env=cdenv)


def notifications(bind_only=True):
    """The plugin's notifications; by default those of its bind alarm
    (type_instance bind_pressure, or exhaustion before the plugin had
    per-kind alarms), whose crossings this test drives with collectd's
    thresholds (50 / 30)."""
    if not os.path.exists(cdlog):
        return []
    return [line for line in open(cdlog) if "Notification:" in line and "plugin = ephport" in line
            and (not bind_only or "type_instance = bind_pressure" in line
                 or "type_instance = exhaustion" in line)]


def traps(what="ephPressure"):
    if not os.path.exists(traplog):
        return []
    # Ours only: the master sends a coldStart of its own.
    return [line[5:] for line in open(traplog)
            if line.startswith("TRAP ") and what in line]


def check_trap(what, trap, wants):
    for want in wants:
        ck.eq(f"{what} carries {want}", want in trap, True)


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
ck.eq("no collectd notification while idle", notifications(bind_only=False), [])
ck.eq("check OK when idle", check_status("50", "70"), 0)

clients = [tcp_connect("127.0.0.1", 8080) for _ in range(12)]     # 60 %
settle()
t = traps()
ck.eq("exactly one trap after rising to 60 % (bind only: connect rises at 70 %)",
      len(t), 1)
high = t[0] if t else ""
dest = "1.1.1.4.127.0.0.1.1.4.127.0.0.1.8080"
check_trap("bind high trap", high, (
    "snmpTrapOID.0 = ephPressureHigh", "ephNsName.1 = ", "ephAlarmKind.0 = bind",
    "ephRangeBindPressure.1.1 = 60.00", "ephRangeConnectPressure.1.1 = 60.00",
    "ephRangePortsInUse.1.1 = 12", "ephRangeBindOwned.1.1 = 0", "ephRangeUsable.1.1 = 20",
    "ephRangeLow.1.1 = 40000", "ephRangeHigh.1.1 = 40019"))
ck.eq("bind high trap names no destination", "ephDest" in high, False)
ck.eq("alarm states: bind high(2), connect normal(1)",
      [su.values("snmpget", f"ephRange{k}AlarmState.1.1")[f"ephRange{k}AlarmState.1.1"]
       for k in ("Bind", "Connect")], ["2", "1"])
n = notifications()
ck.eq("one collectd notification after rising", len(n), 1)
ck.eq("collectd notification: WARNING with the numbers",
      all(w in (n[0] if n else "") for w in (
          "severity = WARNING", "host = ephtest", "plugin_instance = tcp",
          "type = percent", "60.00%", "rose to or above 50.00%",
          "12 of 20 ports in use")), True)
ck.eq("deprecated alarm state high(2)", su.values("snmpget", "ephRangeAlarmState.1.1")
      ["ephRangeAlarmState.1.1"], "2")
ck.eq("udp alarm stays normal(1)", su.values("snmpget", "ephRangeAlarmState.1.2")
      ["ephRangeAlarmState.1.2"], "1")
ck.eq("udp bind alarm normal(1), no connect alarm (off(3))",
      [su.values("snmpget", f"ephRange{k}AlarmState.1.2")[f"ephRange{k}AlarmState.1.2"]
       for k in ("Bind", "Connect")], ["1", "3"])
ck.eq("check WARNING at 60 % (w 50, c 70)", check_status("50", "70"), 1)
ck.eq("check CRITICAL at 60 % (w 40, c 55)", check_status("40", "55"), 2)
ck.eq("check OK at 60 % (w 70, c 90)", check_status("70", "90"), 0)
line = nsutil.ephport("check", "-w", "50", "-c", "70", "-P", "tcp", check=False).stdout
ck.eq("check status line", (line.startswith("EPHPORT WARNING - tcp "), "60.00%" in line,
                            "12 of 20 ports in use" in line), (True, True, True))
ck.eq("check perfdata", "| tcp_exhaustion=60.00%;50.00;70.00;0;100" in line, True)

clients += [tcp_connect("127.0.0.1", 8080) for _ in range(4)]     # 80 %: connect rises
settle()
t = traps()
ck.eq("exactly one more trap at 80 %: the connect alarm", len(t), 2)
chigh = t[1] if len(t) > 1 else ""
check_trap("connect high trap", chigh, (
    "snmpTrapOID.0 = ephPressureHigh", "ephAlarmKind.0 = connect",
    "ephRangeConnectPressure.1.1 = 80.00", "ephRangeBindPressure.1.1 = 80.00",
    "ephRangeUsable.1.1 = 20",
    # The worst destination, named by the index of its row.
    f"ephDestConnectPressure.{dest} = 80.00", f"ephDestBlocked.{dest} = 16",
    f"ephDestSockets.{dest} = 16"))
ck.eq("alarm states: both high(2)",
      [su.values("snmpget", f"ephRange{k}AlarmState.1.1")[f"ephRange{k}AlarmState.1.1"]
       for k in ("Bind", "Connect")], ["2", "2"])
release(clients, 7)                                                # 45 %: connect clears
settle()
t = traps()
ck.eq("one trap at 45 %: connect cleared, bind between its thresholds", len(t), 3)
ccleared = t[2] if len(t) > 2 else ""
check_trap("connect cleared trap", ccleared, (
    "snmpTrapOID.0 = ephPressureCleared", "ephAlarmKind.0 = connect",
    "ephRangeConnectPressure.1.1 = 45.00", f"ephDestConnectPressure.{dest} = 45.00",
    f"ephDestBlocked.{dest} = 9"))
ck.eq("no collectd notification while high or between", len(notifications()), 1)
release(clients, 3)                                                # 30 %: at falling
settle()
t = traps()
ck.eq("exactly one more trap after falling to 30 %: bind cleared", len(t), 4)
cleared = t[3] if len(t) > 3 else ""
check_trap("bind cleared trap", cleared, (
    "snmpTrapOID.0 = ephPressureCleared", "ephAlarmKind.0 = bind",
    "ephRangeBindPressure.1.1 = 30.00", "ephRangePortsInUse.1.1 = 6"))
ck.eq("bind cleared trap names no destination", "ephDest" in cleared, False)
n = notifications()
ck.eq("one more collectd notification after falling", len(n), 2)
ck.eq("collectd notification: OKAY",
      all(w in (n[1] if len(n) > 1 else "") for w in (
          "severity = OKAY", "30.00%", "fell to or below 30.00%",
          "6 of 20 ports in use")), True)
ck.eq("alarm state normal(1)", su.values("snmpget", "ephRangeAlarmState.1.1")
      ["ephRangeAlarmState.1.1"], "1")
clients += [tcp_connect("127.0.0.1", 8080) for _ in range(5)]      # 55 %: re-armed
settle()
t = traps()
ck.eq("re-armed: one new bind high trap",
      (len(t), "= ephPressureHigh" in t[-1], "ephAlarmKind.0 = bind" in t[-1]), (5, True, True))
ck.eq("no deprecated ephExhaustionHigh / Cleared sent", traps("ephExhaustion"), [])
log = open(agent.logpath).read()
ck.eq("the agent logs what will fail (connect)",
      "tcp ephPressureHigh: connect pressure 80.00% (rising 70.00%, falling 50.00%): "
      "connect() from 127.0.0.1 to 127.0.0.1:8080, 16 of 20 ports blocked" in log, True)
ck.eq("the agent logs what will fail (bind)",
      "tcp ephPressureCleared: bind pressure 30.00% (rising 50.00%, falling 30.00%): "
      "bind() to port 0, 6 of 20 ports in use" in log, True)
ck.eq("re-armed: one new collectd WARNING", (len(notifications()), "severity = WARNING" in notifications()[-1]), (3, True))
cd.terminate()
cd.wait(30)
agent.stop()
master.stop()
trapd.terminate()
trapd.wait(10)
ck.done()
