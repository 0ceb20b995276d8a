"""Finding collectd and the built ephport.so for the integration tests."""
import os
import shutil
import subprocess

# The failure counters (issue 18; ephport-collectd(5), VALUES, Failures):
# where the BPF source is not loaded, each namespace logs this once, and no
# "failures-*" value exists.  The tests of the other values leave both out
# (collectd_failures.py checks them), so they pass whether or not the host
# has pinned the counters.
NOT_OBSERVABLE = "failures: not observable without the BPF source"


def is_failure_line(line):
    """A log line about the failure counters' observability."""
    return "ephport plugin: " in line and (
        ": failures: not observable" in line or ": failures: observable" in line)


def is_failure_value(tinst):
    return tinst.startswith("failures-")


def tw_recycled(prefix=()):
    """TcpExt TWRecycled of /proc/net/netstat, read by `cat` run under
    prefix (e.g. ["ip", "netns", "exec", NAME]); None when absent."""
    text = subprocess.run(list(prefix) + ["cat", "/proc/net/netstat"],
                          capture_output=True, text=True, check=True).stdout
    lines = text.splitlines()
    for names, vals in zip(lines[::2], lines[1::2]):
        if names.startswith("TcpExt:"):
            row = dict(zip(names.split(), vals.split()))
            return float(row["TWRecycled"]) if "TWRecycled" in row else None
    return None


def find_plugin():
    path = os.environ.get("EPH_COLLECTD_PLUGIN")
    if path:
        return path
    bindir = os.path.dirname(os.path.abspath(os.environ.get("EPHPORT", "./ephport")))
    for cand in (os.path.join(bindir, ".libs", "ephport.so"),
                 os.path.join(bindir, "collectd-plugin", ".libs", "ephport.so")):
        if os.path.isfile(cand):
            return cand
    return None


def find_collectd():
    return shutil.which("collectd") or next(
        (p for p in ("/usr/sbin/collectd", "/usr/local/sbin/collectd")
         if os.access(p, os.X_OK)), None)


def needs_asan(plugin):
    """An --enable-sanitizers plugin needs the ASan runtime loaded first."""
    out = subprocess.run(["ldd", plugin], capture_output=True, text=True).stdout
    return "libasan" in out


def asan_runtime():
    r = subprocess.run(["gcc", "-print-file-name=libasan.so"],
                       capture_output=True, text=True)
    path = r.stdout.strip()
    return os.path.realpath(path) if os.path.isabs(path) else None


# The rate values (ephport-collectd(5), VALUES, Rates): (type, type_instance) per
# protocol.  They change from interval to interval (NaN until there is
# history), so the tests of the snapshot values leave them out
# (values(rates=False)) and collectd_rate.py checks them.
RATE_NAMES = {
    "tcp": {("operations_per_second", "open_rate"),
            ("operations_per_second", "sustainable_rate"),
            ("gauge", "headroom"),
            ("duration", "seconds_to_exhaustion"),
            ("duration", "worst_destination_seconds_to_exhaustion")},
    "udp": {("duration", "seconds_to_exhaustion")},
}


def is_rate(type_, tinst):
    return any((type_, tinst) in names for names in RATE_NAMES.values())
