"""Finding collectd and the built ephport.so for the integration tests."""
import os
import shutil
import subprocess


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
