#!/usr/bin/env python3
"""ephportd as a daemon (issue 16): SIGHUP reloads the configuration,
agentXPingInterval sets how fast a restarted master is rejoined, a
collection that overruns its interval shows as stale, a second instance on
the same subtree or pidfile is refused, the pidfile and -Lf log do not
follow symlinks, and a clock step does not stall collections."""
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
EXE = os.environ.get("EPHPORTD", "./ephportd")
nsutil.setup_namespace(*nsutil.SCENARIO_A)
keep = nsutil.scenario_a_sockets()
tmp = tempfile.mkdtemp(prefix="ephportd-daemon-")
master = su.Master(tmp)
master.start()


def get(name):
    return su.values("snmpget", name).get(name)


def serving(timeout=20):
    return su.wait_for(lambda: get("ephCollectorStatus.0") == "1", timeout=timeout)


def count(name):
    v = get(name)
    return int(v) if v and v.isdigit() else -1


def run(*args, timeout=20):
    """ephportd run to its end; returncode None if it ran on (then killed)."""
    try:
        return subprocess.run([EXE, "-f", "-C"] + list(args), capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        out = [x.decode(errors="replace") if isinstance(x, bytes) else (x or "")
               for x in (e.stdout, e.stderr)]
        return subprocess.CompletedProcess(e.cmd, None, *out)


# A shim for the faults a test cannot make otherwise: EPH_SLOW_FLAG (a
# file) makes opening ip_local_reserved_ports take EPH_SLOW_SECS while the
# file exists; EPH_CLOCK_STEP steps CLOCK_REALTIME an hour ahead 3 s after
# the first reading.
SHIM_C = r'''
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
static void slow(const char *p)
{
	const char *f = getenv("EPH_SLOW_FLAG"), *s = getenv("EPH_SLOW_SECS");
	if (f && p && strstr(p, "ip_local_reserved_ports") && access(f, F_OK) == 0)
		sleep(s ? atoi(s) : 5);
}
#define WRAP(name)                                                         \
	int name(const char *p, int fl, ...)                               \
	{                                                                  \
		static int (*real)(const char *, int, ...);                \
		va_list ap;                                                \
		int m;                                                     \
		if (!real)                                                 \
			real = dlsym(RTLD_NEXT, #name);                    \
		va_start(ap, fl);                                          \
		m = va_arg(ap, int);                                       \
		va_end(ap);                                                \
		slow(p);                                                   \
		return real(p, fl, m);                                     \
	}
WRAP(open)
WRAP(open64)
int __open_2(const char *p, int fl) { return open(p, fl, 0); }
int __open64_2(const char *p, int fl) { return open(p, fl, 0); }
int clock_gettime(clockid_t c, struct timespec *ts)
{
	static int (*real)(clockid_t, struct timespec *);
	static time_t first;
	int r;
	if (!real)
		real = dlsym(RTLD_NEXT, "clock_gettime");
	r = real(c, ts);
	if (r == 0 && c == CLOCK_REALTIME && getenv("EPH_CLOCK_STEP")) {
		if (!first)
			first = ts->tv_sec;
		if (ts->tv_sec - first >= 3)
			ts->tv_sec += 3600;
	}
	return r;
}
'''


def shim():
    src, lib = os.path.join(tmp, "shim.c"), os.path.join(tmp, "shim.so")
    with open(src, "w") as f:
        f.write(SHIM_C)
    r = subprocess.run(["cc", "-shared", "-fPIC", "-O1", "-o", lib, src, "-ldl"],
                       capture_output=True, text=True)
    return lib if r.returncode == 0 else None


SHIM = shim()
SHIM_ENV = {"LD_PRELOAD": SHIM or "", "ASAN_OPTIONS": "verify_asan_link_order=0:detect_leaks=0"}

# --- agentXPingInterval (defect 2): a restarted master is rejoined within
# the interval (measured: 2 s, not Net-SNMP's 15 s default); 0 disables it.
for interval in (2, 0):
    a = su.Agent(tmp, master, name=f"ping{interval}", extra=f"agentXPingInterval {interval}")
    a.start()
    ck.eq(f"ping {interval}: serving", serving(), True)
    master.stop()
    time.sleep(0.5)
    t0 = time.time()
    master.start()
    back = su.wait_for(lambda: get("ephRangeUsable.1.1") == "94",
                       timeout=2 * interval + 1 if interval else 6, step=0.1)
    took = time.time() - t0
    if interval:
        print(f"ping {interval}: values back {took:.1f} s after the master restarted")
        ck.eq(f"ping {interval}: back within 2 x agentXPingInterval", back, True)
    else:
        ck.eq("ping 0: no reconnection (disabled)", back, False)
    ck.eq(f"ping {interval}: same process", a.proc.poll(), None)
    ck.eq(f"ping {interval}: exits 0", a.stop(), 0)

# --- the clock (defect 9): an hour's step of CLOCK_REALTIME does not stall
# the collections (intervals are measured on CLOCK_MONOTONIC).
if SHIM:
    a = su.Agent(tmp, master, name="clock", env=dict(SHIM_ENV, EPH_CLOCK_STEP="1"))
    a.start()
    ck.eq("clock: serving", serving(), True)
    time.sleep(4)   # past the step
    c1 = count("ephCollectionsTotal.0")
    time.sleep(4)
    c2 = count("ephCollectionsTotal.0")
    print(f"clock: {c1} collections before, {c2} 4 s later")
    ck.eq("clock: collections go on after a clock step", c2 - c1 >= 2, True)
    ck.eq("clock: exits 0", a.stop(), 0)
else:
    print("no C compiler: the clock step is not tested")

# --- SIGHUP (defect 1): the configuration is reloaded; a bad one is
# refused and the running one kept; the process and its pidfile stay.
pidfile = os.path.join(tmp, "hup.pid")
a = su.Agent(tmp, master, name="hup", args=["-p", pidfile])
a.start()
ck.eq("hup: serving", serving(), True)
c0 = count("ephCollectionsTotal.0")
a.write_conf("interval 2\nrisingThreshold 60\nfallingThreshold 50")
a.proc.send_signal(signal.SIGHUP)
ck.eq("hup: the new interval is served", su.wait_for(
    lambda: get("ephCollectionInterval.0") == "2"), True)
ck.eq("hup: the new thresholds are served",
      (get("ephThresholdRising.0"), get("ephThresholdFalling.0")), ("6000", "5000"))
ck.eq("hup: still running", a.proc.poll(), None)
ck.eq("hup: collections are counted on", count("ephCollectionsTotal.0") >= c0, True)
log = a.log_text()
ck.eq("hup: the reload is logged with what changed",
      ("configuration reloaded" in log, "interval 1 -> 2" in log,
       "risingThreshold 80.00% -> 60.00%" in log), (True, True, True))
a.write_conf("interval 2\nrisingThreshold 40\nfallingThreshold 50")
a.proc.send_signal(signal.SIGHUP)
ck.eq("hup: a bad configuration is refused and logged", su.wait_for(
    lambda: "keeping the running configuration" in a.log_text(), timeout=10), True)
a.write_conf("interval 0")
a.proc.send_signal(signal.SIGHUP)
time.sleep(1)
ck.eq("hup: after bad reloads the running configuration stays",
      (a.proc.poll(), get("ephCollectionInterval.0"), get("ephThresholdRising.0"),
       get("ephCollectorStatus.0")), (None, "2", "6000", "1"))
ck.eq("hup: both refusals logged, naming the problem",
      ("fallingThreshold (50.00%) must be below risingThreshold (40.00%)" in a.log_text(),
       "interval: expected seconds" in a.log_text()), (True, True))
ck.eq("hup: the pidfile stays", open(pidfile).read().strip(), str(a.proc.pid))
ck.eq("hup: exits 0 on SIGTERM", a.stop(), 0)
ck.eq("hup: the pidfile is removed at exit", os.path.exists(pidfile), False)

# --- a second instance (defect 4): the subtree taken by another subagent
# is said clearly and the second one exits non-zero; the pidfile is locked.
pidfile = os.path.join(tmp, "first.pid")
first = su.Agent(tmp, master, name="first", args=["-p", pidfile])
first.start()
ck.eq("second: the first serves", serving(), True)
second = su.Agent(tmp, master, name="second")
second.start()
try:
    rc = second.proc.wait(20)
except subprocess.TimeoutExpired:
    rc = None
ck.eq("second: on the same subtree, exits 1", rc, 1)
ck.eq("second: says the subtree is taken",
      "already registered by another subagent" in second.log_text(), True)
ck.eq("second: does not say it started", "started" in second.log_text(), False)
r = run("-c", first.conf, "-p", pidfile, timeout=20)
ck.eq("second: the same pidfile is refused",
      (r.returncode, f"another ephportd (pid {first.proc.pid}) holds {pidfile}" in r.stderr),
      (1, True))
ck.eq("second: the pidfile is the first one's", open(pidfile).read().strip(),
      str(first.proc.pid))
ck.eq("second: the first still serves", (first.proc.poll(), get("ephCollectorStatus.0")),
      (None, "1"))
ck.eq("second: the first exits 0", first.stop(), 0)

# --- the pidfile and -Lf (defect 5): no symlinks followed, nothing
# truncated, a log that cannot be opened is an error.
victim = os.path.join(tmp, "victim")
with open(victim, "w") as f:
    f.write("precious\n")
conf = os.path.join(tmp, "files.conf")
with open(conf, "w") as f:
    f.write(f"agentXSocket {master.socket}\n")
link = os.path.join(tmp, "x.pid")
os.symlink(victim, link)
r = run("-c", conf, "-p", link)
ck.eq("files: a symlinked pidfile is refused",
      (r.returncode, "symbolic link" in r.stderr, open(victim).read()), (1, True, "precious\n"))
hard = os.path.join(tmp, "h.pid")
os.link(victim, hard)
r = run("-c", conf, "-p", hard)
ck.eq("files: a hard-linked pidfile is refused", (r.returncode, open(victim).read()),
      (1, "precious\n"))
loglink = os.path.join(tmp, "x.log")
os.symlink(victim, loglink)
r = run("-c", conf, "-Lf", loglink)
ck.eq("files: a symlinked -Lf log is refused",
      (r.returncode, "symbolic link" in r.stderr, open(victim).read()), (1, True, "precious\n"))
r = run("-c", conf, "-Lf", "/nonexistent/dir/ephportd.log")
ck.eq("files: a -Lf log that cannot be opened is an error",
      (r.returncode, "/nonexistent/dir/ephportd.log: No such file or directory" in r.stderr),
      (1, True))
logfile = os.path.join(tmp, "append.log")
with open(logfile, "w") as f:
    f.write("an older line\n")
a = su.Agent(tmp, master, name="append", args=["-Lf", logfile])
a.start()
ck.eq("files: serving with -Lf", serving(), True)
ck.eq("files: exits 0", a.stop(), 0)
text = open(logfile).read()
ck.eq("files: -Lf appends", (text.startswith("an older line\n"), "started" in text),
      (True, True))

# --- a collection that overruns its interval (defect 3) shows as stale and
# is logged once; it is ok again when the collection finishes.
if SHIM:
    flag = os.path.join(tmp, "slow")
    a = su.Agent(tmp, master, name="overrun", env=dict(SHIM_ENV, EPH_SLOW_FLAG=flag,
                                                       EPH_SLOW_SECS="6"))
    a.start()
    ck.eq("overrun: serving", serving(), True)
    open(flag, "w").close()
    ck.eq("overrun: stale while a collection overruns", su.wait_for(
        lambda: get("ephCollectorStatus.0") == "2", timeout=8, step=0.2), True)
    os.unlink(flag)
    ck.eq("overrun: ok again when it finishes", serving(), True)
    log = a.log_text()
    ck.eq("overrun: logged once, and its end",
          (log.count("overran its interval"), "collection finished after" in log), (1, True))
    ck.eq("overrun: exits 0", a.stop(), 0)

# --- options (defect 8): -x '' is an error, not the default socket.
r = run("-x", "")
ck.eq("opts: -x '' exits 2", (r.returncode, "-x" in r.stderr), (2, True))

master.stop()
ck.done()
