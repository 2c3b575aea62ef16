#!/usr/bin/env python3
"""Score scanner reports against a planted-secrets manifest and print tables.

Usage:
    scripts/bench-report.py score TOOL REPORT MANIFEST [--measure JSON] [--run N]
    scripts/bench-report.py table RESULTS.jsonl [--bytes N] [--files N] [--corpus NAME]

`score` reads one scanner report (TOOL: keyhound, gitleaks, betterleaks,
kingfisher, detect-secrets, ripsecrets) and prints one JSON line: the
--measure object (from scripts/measure.py) plus "tool", "run", "findings"
(how many the report lists), "planted", "found" (planted secrets reported at
their path and line: the report's path ends with the manifest's relative
path) and "missed" (kind:path:line of the others). bench-cli.sh appends
these lines to a results file.

`table` prints keyhound's runs with their median, then, when peers ran, one
line per tool side by side with the time and peak-RSS ratios to keyhound's
median. MB means MiB (2^20 bytes) throughout, as in gen-corpus.py --size-mb.
Python 3 standard library only.
"""

import json
import re
import statistics
import sys

MIB = 1024 * 1024


def load_json(path):
    with open(path, "r", encoding="utf-8", errors="replace") as fh:
        text = fh.read()
    text = text.strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        # JSON Lines.
        return [json.loads(line) for line in text.splitlines() if line.strip().startswith("{")]


def locations(tool, report):
    """(path, line) of every finding in a report."""
    out = []
    if tool == "ripsecrets":
        with open(report, "r", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                m = re.match(r"^(.+?):(\d+):", line)
                if m:
                    out.append((m.group(1), int(m.group(2))))
        return out
    doc = load_json(report)
    if doc is None:
        return out
    if tool == "keyhound":
        for f in doc.get("findings", []):
            out.append((f.get("path", ""), f.get("line", 0)))
    elif tool == "gitleaks":
        for f in doc if isinstance(doc, list) else doc.get("findings", []):
            out.append((f.get("File", ""), f.get("StartLine", 0)))
    elif tool == "betterleaks":
        findings = doc.get("findings", []) if isinstance(doc, dict) else doc
        for f in findings:
            loc = f.get("location", {})
            out.append((loc.get("path", f.get("File", "")), loc.get("start_line", f.get("StartLine", 0))))
    elif tool == "kingfisher":
        findings = doc.get("findings", []) if isinstance(doc, dict) else doc
        for f in findings:
            inner = f.get("finding", f)
            out.append((inner.get("path", ""), inner.get("line", 0)))
    elif tool == "detect-secrets":
        for path, items in doc.get("results", {}).items():
            for item in items:
                out.append((path, item.get("line_number", 0)))
    else:
        raise SystemExit("bench-report.py: unknown tool %s" % tool)
    return out


def score(tool, report, manifest_path, measure, run):
    with open(manifest_path, "r", encoding="utf-8") as fh:
        manifest = json.load(fh)
    try:
        found_at = locations(tool, report)
    except (OSError, ValueError, AttributeError) as exc:
        print("bench-report.py: cannot read %s report %s: %s" % (tool, report, exc), file=sys.stderr)
        found_at = []
    by_line = {}
    for path, line in found_at:
        by_line.setdefault(int(line or 0), []).append(str(path).replace("\\", "/"))
    missed = []
    found = 0
    for p in manifest["planted"]:
        rel = p["path"]
        paths = by_line.get(p["line"], [])
        if any(x == rel or x.endswith("/" + rel) for x in paths):
            found += 1
        else:
            missed.append("%s:%s:%d" % (p["kind"], rel, p["line"]))
    result = dict(measure)
    result.update({"tool": tool, "run": run, "findings": len(found_at), "planted": len(manifest["planted"]),
                   "found": found, "missed": missed})
    return result


def fmt(value, spec):
    return "-" if value is None else format(value, spec)


def table(results_path, total_bytes, files, corpus):
    rows = []
    with open(results_path, "r", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                rows.append(json.loads(line))
    size = total_bytes / MIB if total_bytes else None

    def rate(wall):
        return size / wall if size and wall else None

    kh = [r for r in rows if r["tool"] == "keyhound"]
    head = "corpus %s" % corpus if corpus else "corpus"
    if size:
        head += ": %.1f MB" % size
    if files:
        head += " in %d files" % files
    print(head)
    print()
    if kh:
        print("keyhound, %d run(s) after one warm-up run:" % len(kh))
        print("%-8s %9s %9s %10s %6s %9s %9s" % ("run", "wall_s", "MB/s", "rss_MB", "exit", "findings", "planted"))
        for r in kh:
            print("%-8s %9.3f %9s %10.1f %6d %9d %9s" % (r["run"], r["wall_s"], fmt(rate(r["wall_s"]), ".1f"),
                                                       r["max_rss_mb"], r["exit"], r["findings"],
                                                       "%d/%d" % (r["found"], r["planted"])))
        med_wall = statistics.median(r["wall_s"] for r in kh)
        med_rss = statistics.median(r["max_rss_mb"] for r in kh)
        print("%-8s %9.3f %9s %10.1f" % ("median", med_wall, fmt(rate(med_wall), ".1f"), med_rss))
        last = kh[-1]
        if last["missed"]:
            print("missed planted secrets (last run): " + ", ".join(last["missed"]))
    peers = [r for r in rows if r["tool"] != "keyhound"]
    if not peers:
        return
    print()
    print("side by side (keyhound: median of its runs; peers: median of theirs; x = peer / keyhound):")
    print("%-15s %9s %9s %9s %9s %9s %9s %6s" % ("tool", "wall_s", "MB/s", "rss_MB", "x_time", "x_rss",
                                                "findings", "planted"))
    tools = []
    for r in rows:
        if r["tool"] not in tools:
            tools.append(r["tool"])
    for tool in tools:
        runs = [r for r in rows if r["tool"] == tool]
        ok = [r for r in runs if not r.get("failed")]
        if not ok:
            print("%-15s failed: %s" % (tool, runs[-1].get("failed")))
            continue
        wall = statistics.median(r["wall_s"] for r in ok)
        rss = statistics.median(r["max_rss_mb"] for r in ok)
        xt = wall / med_wall if kh and med_wall else None
        xr = rss / med_rss if kh and med_rss else None
        print("%-15s %9.3f %9s %9.1f %9s %9s %9d %6s" % (tool, wall, fmt(rate(wall), ".1f"), rss, fmt(xt, ".2f"),
                                                         fmt(xr, ".2f"), ok[-1]["findings"],
                                                         "%d/%d" % (ok[-1]["found"], ok[-1]["planted"])))


def main(argv):
    if len(argv) >= 4 and argv[0] == "score":
        tool, report, manifest = argv[1:4]
        rest = argv[4:]
        measure, run = {}, 1
        while rest:
            flag = rest.pop(0)
            if flag == "--measure":
                measure = json.loads(rest.pop(0))
            elif flag == "--run":
                run = int(rest.pop(0))
            else:
                raise SystemExit("bench-report.py: unknown option %s" % flag)
        print(json.dumps(score(tool, report, manifest, measure, run)))
        return 0
    if len(argv) >= 2 and argv[0] == "table":
        results = argv[1]
        rest = argv[2:]
        total, files, corpus = 0, 0, ""
        while rest:
            flag = rest.pop(0)
            if flag == "--bytes":
                total = int(rest.pop(0))
            elif flag == "--files":
                files = int(rest.pop(0))
            elif flag == "--corpus":
                corpus = rest.pop(0)
            else:
                raise SystemExit("bench-report.py: unknown option %s" % flag)
        table(results, total, files, corpus)
        return 0
    print(__doc__.strip(), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
