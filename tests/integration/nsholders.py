"""Namespaces that hold sockets, for the tests of every namespace at once
(agent_allns.py, collectd_allns.py): `ip netns add` ones and one only a
process holds, each with its range, reserved ports and a holder process;
all removed at exit."""
import atexit
import json
import os
import subprocess
import sys

import nsutil

EPHPORT = os.environ.get("EPHPORT", "./ephport")

# Holds the sockets of one namespace: a listener on 127.0.0.1:8080 (outside
# every range), N TCP clients of it (their ports come from the range), M
# UDP sockets autobound in the range.  "ready" once they exist; ends when
# its stdin closes.
HOLDER = r"""
import socket, sys
tcp, udp = int(sys.argv[1]), int(sys.argv[2])
keep = []
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 8080))
srv.listen(256)
keep.append(srv)
for _ in range(tcp):
    keep.append(socket.create_connection(("127.0.0.1", 8080)))
    keep.append(srv.accept()[0])
for _ in range(udp):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 0))
    keep.append(u)
print("ready", flush=True)
sys.stdin.read()
"""

created = []     # ip netns names made here
holders = {}     # namespace key -> Popen


def stop_holder(p):
    if p.poll() is None:
        try:
            p.stdin.close()
        except OSError:
            pass
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def cleanup():
    for p in holders.values():
        stop_holder(p)
    holders.clear()
    for name in created:
        subprocess.run(["ip", "netns", "delete", name], capture_output=True)
    created.clear()


atexit.register(cleanup)


def ns_setup_script(low, high, reserved):
    return ("ip link set lo up && "
            f"echo '{low} {high}' > /proc/sys/net/ipv4/ip_local_port_range && "
            f"echo '{reserved}' > /proc/sys/net/ipv4/ip_local_reserved_ports")


def start_holder(key, prefix, tcp, udp):
    p = nsutil.spawn(prefix + [sys.executable, "-c", HOLDER, str(tcp), str(udp)],
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    holders[key] = p
    line = p.stdout.readline().strip()
    if line != "ready":
        raise AssertionError(f"holder {key} did not start: {line!r}")
    return p


def make_named(name, low, high, reserved, tcp, udp):
    subprocess.run(["ip", "netns", "add", name], check=True)
    created.append(name)
    subprocess.run(["ip", "netns", "exec", name, "sh", "-c",
                    ns_setup_script(low, high, reserved)], check=True)
    start_holder(name, ["ip", "netns", "exec", name], tcp, udp)


def make_pid_held(low, high, reserved, tcp, udp):
    """A namespace only a process holds: unshare execs sh, sh the holder, so
    the holder's pid names it."""
    script = ns_setup_script(low, high, reserved) + ' && exec "$0" "$@"'
    p = start_holder("pid", ["unshare", "-n", "sh", "-c", script], tcp, udp)
    return p.pid


def json_in(prefix, *args):
    """ephport --json [args] run under prefix (ip netns exec, nsenter)."""
    r = subprocess.run(prefix + [EPHPORT, "--json", *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise AssertionError(f"{prefix} ephport --json: {r.stderr}")
    nsutil.capture_json(("--json",), r)
    return json.loads(r.stdout)
