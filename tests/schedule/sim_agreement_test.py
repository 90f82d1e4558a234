#!/usr/bin/env python3
"""The schedule analysis agrees with an independent simulator.

resyncwatch-sim's phones are written from the provisioning guide's rules alone and label
every gap and every phone with what docs/schedule.md says the analysis must answer. This
test runs the simulator, imports its archive with `resyncwatch import`, runs
`resyncwatch schedule --fleet --gaps --json` and `resyncwatch overdue --json`, and compares:
every gap's rule, retry_step and verdict (gaps matched by MAC and start time within 1 ms),
every phone's state and backoff_step, the overdue set, and the failing phones that
`resyncwatch recovery --json` lists with their back-off step.

Cases: the main fleet (0 mismatches), a smaller fleet that sends no failure messages (0
mismatches), and that fleet's store judged by a deliberately wrong config (must disagree).

  sim_agreement_test.py --resyncwatch build/query/resyncwatch \
      --sim build/tools/sim/resyncwatch-sim [--phones 10000] [--days 3] [--keep DIR]
"""
import argparse
import collections
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

START = "2026-11-22T00:00:00Z"


_DAYS = {}


def iso_us(text):
    """Microseconds since the epoch of an ISO-8601 time (fast path for ...ss.ffffffZ)."""
    if len(text) == 27 and text[26] == "Z" and text[19] == ".":
        day = _DAYS.get(text[:10])
        if day is None:
            day = _DAYS[text[:10]] = (datetime.date.fromisoformat(text[:10]) -
                                      datetime.date(1970, 1, 1)).days
        secs = ((day * 24 + int(text[11:13])) * 60 + int(text[14:16])) * 60 + int(text[17:19])
        return secs * 1_000_000 + int(text[20:26])
    t = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return int(t.timestamp()) * 1_000_000 + t.microsecond


def norm_mac(mac):
    return mac.replace(":", "").replace("-", "").lower()


def run(cmd, ok_codes=(0,)):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode not in ok_codes:
        sys.exit("FAILED (exit %d): %s\n%s" % (p.returncode, " ".join(cmd), p.stderr[-2000:]))
    return p.stdout


def json_lines(text):
    lines = [line for line in text.splitlines() if line.strip()]
    return json.loads("[" + ",".join(lines) + "]")


class Mismatches:
    def __init__(self):
        self.by_category = collections.Counter()
        self.examples = []

    def add(self, category, truth, analysis):
        self.by_category[category] += 1
        if len(self.examples) < 20:
            self.examples.append((category, truth, analysis))

    def total(self):
        return sum(self.by_category.values())

    def report(self, title):
        print("%s: %d mismatches" % (title, self.total()))
        for cat, n in self.by_category.most_common():
            print("  %6d  %s" % (n, cat))
        for cat, truth, analysis in self.examples:
            print("  - %s\n      truth:    %s\n      analysis: %s" % (
                cat, json.dumps(truth), json.dumps(analysis)))


def compare(truth_lines, fleet_lines, overdue_lines, recovery_lines):
    m = Mismatches()
    behaviour = {}
    truth_gaps = collections.defaultdict(list)
    truth_dev = {}
    for t in truth_lines:
        mac = norm_mac(t["mac"])
        if t["type"] == "gap":
            truth_gaps[mac].append(t)
        else:
            truth_dev[mac] = t
            behaviour[mac] = t.get("behaviour", "?")
    got_gaps = collections.defaultdict(list)
    got_dev = {}
    for g in fleet_lines:
        mac = norm_mac(g["mac"])
        if g.get("type") == "gap":
            got_gaps[mac].append(g)
        else:
            got_dev[mac] = g
    n_gaps = 0
    for mac in sorted(set(truth_gaps) | set(got_gaps)):
        beh = behaviour.get(mac, "?")
        by_to = {}
        for g in got_gaps.get(mac, []):
            by_to.setdefault(iso_us(g["to"]) // 1000, []).append(g)
        used = set()
        for t in truth_gaps.get(mac, []):
            n_gaps += 1
            to = iso_us(t["to"])
            g = None
            for key in (to // 1000, (to // 1000) - 1, (to // 1000) + 1):
                for cand in by_to.get(key, []):
                    if id(cand) not in used and abs(iso_us(cand["to"]) - to) <= 1000:
                        g = cand
                        break
                if g:
                    break
            if g is None:
                m.add("gap missing in analysis [%s, truth %s/%s]" % (beh, t["rule"], t["verdict"]),
                      t, None)
                continue
            used.add(id(g))
            if g["rule"] != t["rule"] or g["verdict"] != t["verdict"]:
                m.add("gap %s/%s judged %s/%s [%s]" % (t["rule"], t["verdict"], g["rule"],
                                                       g["verdict"], beh), t, g)
            elif g.get("retry_step", 0) != t["retry_step"]:
                m.add("gap %s retry_step differs [%s]" % (t["rule"], beh), t, g)
        for g in got_gaps.get(mac, []):
            if id(g) not in used:
                m.add("gap not in truth [%s, analysis %s/%s]" % (beh, g["rule"], g["verdict"]),
                      None, g)
    for mac in sorted(set(truth_dev) | set(got_dev)):
        t, g = truth_dev.get(mac), got_dev.get(mac)
        beh = behaviour.get(mac, "?")
        if g is None:
            m.add("device missing in analysis [%s]" % beh, t, None)
        elif t is None:
            m.add("device not in truth", None, g)
        elif g["state"] != t["state"]:
            m.add("state %s judged %s [%s]" % (t["state"], g["state"], beh), t, g)
        elif g.get("backoff_step") != t["backoff_step"]:
            m.add("backoff_step differs [%s]" % beh, t, g)
    want_overdue = {mac for mac, t in truth_dev.items() if t["state"] == "overdue"}
    got_overdue = {norm_mac(o["mac"]) for o in overdue_lines}
    for mac in sorted(want_overdue - got_overdue):
        m.add("overdue missing from `overdue` [%s]" % behaviour.get(mac, "?"), truth_dev[mac], None)
    for mac in sorted(got_overdue - want_overdue):
        m.add("`overdue` lists a phone that is not [%s]" % behaviour.get(mac, "?"),
              truth_dev.get(mac), {"mac": mac})
    # recovery: every phone whose last attempt failed, with its back-off step.
    want_failing = {mac: t["backoff_step"] for mac, t in truth_dev.items()
                    if t["last_outcome"] == "failure"}
    got_failing = {norm_mac(r["mac"]): r["backoff_step"] for r in recovery_lines
                   if r.get("type") == "phone"}
    for mac in sorted(set(want_failing) | set(got_failing)):
        if mac not in got_failing:
            m.add("failing phone missing from `recovery` [%s]" % behaviour.get(mac, "?"),
                  truth_dev[mac], None)
        elif mac not in want_failing:
            m.add("`recovery` lists a phone that did not fail [%s]" % behaviour.get(mac, "?"),
                  truth_dev.get(mac), {"mac": mac})
        elif got_failing[mac] != want_failing[mac]:
            m.add("`recovery` backoff_step differs [%s]" % behaviour.get(mac, "?"),
                  truth_dev[mac], {"mac": mac, "backoff_step": got_failing[mac]})
    return m, n_gaps, len(truth_dev)


def run_case(args, work, name, sim_flags, phones):
    d = os.path.join(work, name)
    os.makedirs(d, exist_ok=True)
    archive, truth, config, db = (os.path.join(d, f) for f in
                                  ("fleet.log", "truth.jsonl", "fleet.json", "db"))
    end = (datetime.datetime.fromisoformat(START.replace("Z", "+00:00")) +
           datetime.timedelta(days=args.days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    sim = [args.sim, "--phones", str(phones), "--days", str(args.days), "--seed",
           str(args.seed), "--start", START, "--truth", truth, "--config-out", config]
    reuse_db = os.path.join(work, "no_failure_template", "db")
    t0 = time.monotonic()
    if name == "wrong_config" and os.path.isdir(reuse_db):
        # The same phones (same seed and flags) as the no-failure-template case: its store
        # is reused, only the config differs.
        db = reuse_db
        run(sim + sim_flags)
        t1 = t2 = time.monotonic()
    else:
        shutil.rmtree(db, ignore_errors=True)
        run(sim + ["--archive", archive] + sim_flags)
        t1 = time.monotonic()
        run([args.resyncwatch, "import", archive, "--db", db, "--config", config])
        t2 = time.monotonic()
    common = ["--db", db, "--config", config, "--now", end]
    fleet = run([args.resyncwatch, "schedule", "--fleet", "--gaps", "--json", "--since", START]
                + common, ok_codes=(0, 1))
    overdue = run([args.resyncwatch, "overdue", "--json", "--since", START] + common,
                  ok_codes=(0, 1))
    recovery = run([args.resyncwatch, "recovery", "--json", "--since", START] + common,
                   ok_codes=(0, 1))
    t3 = time.monotonic()
    m, n_gaps, n_dev = compare(json_lines(open(truth).read()), json_lines(fleet),
                               json_lines(overdue), json_lines(recovery))
    print("%s: %d phones with attempts, %d gaps; sim %.1fs, import %.1fs, analysis %.1fs" % (
        name, n_dev, n_gaps, t1 - t0, t2 - t1, t3 - t2))
    return m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--resyncwatch", required=True)
    ap.add_argument("--sim", required=True)
    ap.add_argument("--phones", type=int, default=10000)
    ap.add_argument("--days", type=float, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", help="work directory to keep (default: a temporary one)")
    ap.add_argument("--case", action="append",
                    help="run only these cases: main, no_failure_template, wrong_config")
    args = ap.parse_args()
    work = args.keep or tempfile.mkdtemp(prefix="sim-agreement-")
    cases = args.case or ["main", "no_failure_template", "wrong_config"]
    failed = False
    try:
        if "main" in cases:
            m = run_case(args, work, "main", [], args.phones)
            m.report("main fleet")
            failed |= m.total() > 0
        if "no_failure_template" in cases:
            m = run_case(args, work, "no_failure_template", ["--no-failure-template"],
                         max(args.phones // 5, 1))
            m.report("fleet without failure messages")
            failed |= m.total() > 0
        if "wrong_config" in cases:
            m = run_case(args, work, "wrong_config", ["--no-failure-template", "--wrong-config"],
                         max(args.phones // 5, 1))
            print("wrong config: %d mismatches (must be > 0)" % m.total())
            if m.total() == 0:
                print("FAILED: a config that differs from the phones was not noticed")
                failed = True
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print("FAILED" if failed else "PASSED")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
