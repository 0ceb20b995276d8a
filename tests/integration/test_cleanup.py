#!/usr/bin/env python3
"""Tests stop what they started (issue 16, defect 10): a test that starts
snmpd and ephportd (through snmputil) and then fails with an exception, is
sent SIGTERM or SIGINT, or is interrupted through the `unshare -n` wrapper
of nsutil.enter_private_netns, leaves no process behind."""
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nsutil  # noqa: E402
import snmputil as su  # noqa: E402

if not su.have_tools():
    print("SKIP: Net-SNMP tools (snmpd, snmp) not installed")
    sys.exit(nsutil.SKIP)
nsutil.enter_private_netns(sys.argv)
ck = nsutil.Checker()
HERE = os.path.dirname(os.path.abspath(__file__))

# The child: a test like the others that starts a master and ephportd,
# writes their pids, then fails or waits to be interrupted.
CHILD = r'''
import os, sys, time
sys.path.insert(0, sys.argv[1])
import nsutil, snmputil as su
nsutil.enter_private_netns(sys.argv)
tmp = sys.argv[2]
master = su.Master(tmp)
master.start()
agent = su.Agent(tmp, master)
agent.start()
su.wait_for(lambda: su.values("snmpget", "ephCollectorStatus.0")["ephCollectorStatus.0"] == "1")
with open(os.path.join(tmp, "pids.tmp"), "w") as f:
    f.write(f"{master.proc.pid} {agent.proc.pid}\n")
os.rename(os.path.join(tmp, "pids.tmp"), os.path.join(tmp, "pids"))
if sys.argv[3] == "raise":
    raise AssertionError("a failing check")
time.sleep(120)
'''


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def run(mode, sig=None, outer=False):
    tmp = tempfile.mkdtemp(prefix="ephport-cleanup-")
    script = os.path.join(tmp, "child.py")
    with open(script, "w") as f:
        f.write(CHILD)
    env = dict(os.environ)
    if outer:               # through enter_private_netns's own wrapper
        env.pop("EPH_IN_NETNS", None)
    # A test run started in the background (nohup, `make check &`) has
    # SIGINT ignored, which the child would inherit: give it the default
    # disposition, as an interactive run has.
    child = subprocess.Popen([sys.executable, script, HERE, tmp, mode], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             preexec_fn=lambda: signal.signal(signal.SIGINT,
                                                              signal.SIG_DFL))
    pidfile = os.path.join(tmp, "pids")
    deadline = time.time() + 60
    while not os.path.exists(pidfile) and time.time() < deadline and child.poll() is None:
        time.sleep(0.1)
    pids = [int(x) for x in open(pidfile).read().split()] if os.path.exists(pidfile) else []
    if sig:
        child.send_signal(sig)
    try:
        child.wait(60)
    except subprocess.TimeoutExpired:
        child.kill()
    time.sleep(0.5)
    left = [p for p in pids if alive(p)]
    for p in left:          # what the test leaves, this one removes
        os.kill(p, signal.SIGKILL)
    return len(pids), left


for mode, sig, outer, what in (("raise", None, False, "a failing test"),
                               ("wait", signal.SIGTERM, False, "SIGTERM"),
                               ("wait", signal.SIGINT, False, "SIGINT"),
                               ("wait", signal.SIGTERM, True, "SIGTERM to the netns wrapper")):
    n, left = run(mode, sig, outer)
    ck.eq(f"{what}: snmpd and ephportd were running", n, 2)
    ck.eq(f"{what}: nothing left running", left, [])
ck.done()
