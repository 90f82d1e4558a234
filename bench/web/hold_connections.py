#!/usr/bin/env python3
"""Holds many idle and half-sent connections to a resyncwatchd HTTP address, then times
/healthz and /metrics with curl (each on a new connection) and prints the daemon's
resyncwatch_http_* counters. Usage: hold_connections.py HOST:PORT [HELD] [EVERY_NTH_SLOW]"""
import socket
import subprocess
import sys


def curl(url, fmt):
    return subprocess.run(["curl", "-s", "-o", "/dev/null" if fmt else "-", "-w", fmt,
                           "--max-time", "10", url], capture_output=True, text=True).stdout


def main():
    address = sys.argv[1]
    held_n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    slow_every = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    host, port = address.rsplit(":", 1)
    held = []
    for i in range(held_n):
        s = socket.create_connection((host, int(port)))
        if slow_every and i % slow_every == 0:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow")  # never finished
        held.append(s)
    print(f"holding {held_n} connections, every {slow_every}th with a half-sent request")
    for path in ["/healthz", "/metrics", "/healthz"]:
        print(path, curl(f"http://{address}{path}", "status %{http_code}, %{time_total} s"))
    metrics = curl(f"http://{address}/metrics", "")
    for line in metrics.splitlines():
        if line.startswith("resyncwatch_http_"):
            print(line)


if __name__ == "__main__":
    main()
