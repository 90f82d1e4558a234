#!/usr/bin/env python3
"""README's operator path, as a new user takes it: scripts/run in one shell, then from
another shell and another directory a real `logger` datagram and bare `resyncwatch
history MAC`, `fleet` and `stats` with no flag and no variable. Runs scripts/run with
RESYNCWATCH_NO_BUILD=1 against the already built binaries, in a temporary HOME, on
ephemeral loopback ports.

Usage: operator_path_test.py SCRIPTS_RUN BUILD_DIR
"""
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

MAC = "00:12:34:ab:45:de"
LINE = "CP-8851-3PCC 00:12:34:ab:45:de -- Resync failed: http_get failed"


def fail(message):
    print("FAIL: " + message, file=sys.stderr)
    sys.exit(1)


class Reader:
    """Collects a pipe's lines as they come, without blocking past a deadline."""

    def __init__(self, pipe):
        self.pipe = pipe
        self.text = ""

    def wait_for(self, pattern, seconds, proc):
        deadline = time.monotonic() + seconds
        while not re.search(pattern, self.text):
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.pipe], [], [], min(left, 0.5))
            if ready:
                chunk = os.read(self.pipe.fileno(), 65536).decode(errors="replace")
                if not chunk and proc.poll() is not None:
                    return re.search(pattern, self.text)
                self.text += chunk
        return re.search(pattern, self.text)

    def drain(self):
        while select.select([self.pipe], [], [], 0)[0]:
            chunk = os.read(self.pipe.fileno(), 65536).decode(errors="replace")
            if not chunk:
                break
            self.text += chunk
        return self.text


def user_env(home):
    """A login shell's environment for a user whose HOME is home: nothing resyncwatch-specific."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("RESYNCWATCH_") and k not in ("XDG_STATE_HOME", "BUILD_DIR")}
    env["HOME"] = home
    env["PATH"] = os.path.join(home, ".local/bin") + ":" + env.get("PATH", "/usr/bin:/bin")
    return env


def start_run(scripts_run, build_dir, home, cwd):
    env = user_env(home)
    env.update({"BUILD_DIR": build_dir, "RESYNCWATCH_NO_BUILD": "1",
                "RESYNCWATCH_UDP_PORT": "0", "RESYNCWATCH_TCP_PORT": "0",
                "RESYNCWATCH_HTTP_LISTEN": ""})
    return subprocess.Popen([scripts_run], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def cli(args, home, cwd):
    # Bare "resyncwatch": found on PATH through the link scripts/run made.
    return subprocess.run(["resyncwatch"] + args, cwd=cwd, env=user_env(home),
                          capture_output=True, text=True, timeout=60)


def main():
    scripts_run, build_dir = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    if shutil.which("logger") is None:
        fail("logger (bsdutils) is not installed")
    tmp = tempfile.mkdtemp(prefix="rw-operator-")
    home, run_cwd, query_cwd = (os.path.join(tmp, d) for d in ("home", "run-here", "elsewhere"))
    for d in (home, run_cwd, query_cwd):
        os.makedirs(d)
    proc = start_run(scripts_run, build_dir, home, run_cwd)
    out, err = Reader(proc.stdout), Reader(proc.stderr)
    try:
        # The banner comes only once the daemon listens: its addresses are in it.
        if not out.wait_for(r"Stop: Ctrl-C", 60, proc):
            fail("no banner within 60 s; stdout:\n%s\nstderr:\n%s" % (out.text, err.drain()))
        banner = out.text
        listening = re.search(r"resyncwatchd \(pid (\d+)\) is listening: (.*)", banner)
        if not listening or int(listening.group(1)) != proc.pid:
            fail("the banner does not name the daemon's pid %d:\n%s" % (proc.pid, banner))
        addresses = listening.group(2).split(", ")
        if not addresses or any(" 127.0.0.1:" not in a for a in addresses):
            fail("not on loopback only: %s" % addresses)
        store = os.path.join(home, ".local/state/resyncwatch")
        if "Data: " + store not in banner:
            fail("the banner does not say the data is in %s:\n%s" % (store, banner))
        logger_line = re.search(r"^  (logger --udp -n 127\.0\.0\.1 -P (\d+) '(.*)')$", banner, re.M)
        if not logger_line or logger_line.group(3) != LINE:
            fail("no exact logger line in the banner:\n" + banner)
        for q in ("resyncwatch history " + MAC, "resyncwatch fleet", "resyncwatch stats"):
            if "  " + q + "\n" not in banner:
                fail("the banner does not say '%s':\n%s" % (q, banner))
        if os.path.realpath(os.path.join(home, ".local/bin/resyncwatch")) != \
                os.path.realpath(os.path.join(build_dir, "query/resyncwatch")):
            fail("resyncwatch is not linked into ~/.local/bin")

        # Another shell, another directory: the test message, then bare queries.
        subprocess.run(["logger", "--udp", "-n", "127.0.0.1", "-P", logger_line.group(2), LINE],
                       cwd=query_cwd, env=user_env(home), check=True, timeout=30)
        deadline = time.monotonic() + 20
        while True:
            history = cli(["history", MAC], home, query_cwd)
            if history.returncode == 0 and "http_get failed" in history.stdout:
                break
            if time.monotonic() > deadline:
                fail("history never showed the failure: exit %d\n%s%s" %
                     (history.returncode, history.stdout, history.stderr))
            time.sleep(0.1)
        if "resync_failure" not in history.stdout:
            fail("history does not call it a resync_failure:\n" + history.stdout)
        for command in (["fleet"], ["stats", "--json"]):
            r = cli(command, home, query_cwd)
            if r.returncode != 0:
                fail("resyncwatch %s: exit %d: %s" % (command[0], r.returncode, r.stderr))
        stats = cli(["stats", "--json"], home, query_cwd).stdout
        if not re.search(r'"received_datagrams":\s*1\b', stats):
            fail("stats does not count the one datagram:\n" + stats)
        if not err.wait_for(r"info first datagram from 127\.0\.0\.0/24", 10, proc):
            fail("the daemon did not log the first datagram of 127.0.0.0/24:\n" + err.text)

        # A second scripts/run on the same store refuses, naming the running one; no banner.
        second = start_run(scripts_run, build_dir, home, query_cwd)
        try:
            so, se = second.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            second.kill()
            fail("a second scripts/run did not refuse within 60 s")
        if second.returncode == 0 or b"already runs" not in se or \
                str(proc.pid).encode() not in se or b"listening" in so:
            fail("second scripts/run: exit %d\nstdout: %s\nstderr: %s" %
                 (second.returncode, so.decode(), se.decode()))

        # Ctrl-C stops it cleanly.
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            fail("resyncwatchd did not stop within 60 s of SIGINT")
        if code != 0:
            fail("resyncwatchd exited %d after SIGINT:\n%s" % (code, err.drain()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)

    # With no collector and no store, the lookup says where it looked (unless this machine
    # has a system store, which the lookup rightly takes).
    if os.path.isdir("/var/lib/resyncwatch"):
        print("ok (no-store message not checked: /var/lib/resyncwatch exists)")
        return
    empty_home = tempfile.mkdtemp(prefix="rw-operator-empty-")
    try:
        os.makedirs(os.path.join(empty_home, ".local/bin"))
        os.symlink(os.path.join(build_dir, "query/resyncwatch"),
                   os.path.join(empty_home, ".local/bin/resyncwatch"))
        r = cli(["history", MAC], empty_home, empty_home)
        user_store = os.path.join(empty_home, ".local/state/resyncwatch")
        if r.returncode != 2 or user_store not in r.stderr or "looked in" not in r.stderr:
            fail("no store: exit %d, stderr: %s" % (r.returncode, r.stderr))
    finally:
        shutil.rmtree(empty_home, ignore_errors=True)
    print("ok")


if __name__ == "__main__":
    main()
