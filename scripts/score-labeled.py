#!/usr/bin/env python3
"""Score a keyhound report against a labeled corpus from gen-labeled.py.

Usage:
    scripts/score-labeled.py LABELS REPORT.jsonl [--json OUT] [--details N]

LABELS is OUT_DIR/../<name>.labels.json; REPORT.jsonl comes from
`keyhound scan OUT_DIR --no-config --format jsonl --show-secrets` (one JSON
finding per line; a JSON report with a "findings" array works too).

A finding is a true positive when its path and secret are those of a planted
true key of the same provider (the rule id may differ within a provider, e.g.
stripe-live-secret-key vs stripe-test-secret-key); a finding of another
provider on a planted key, and every other finding, is a false positive of the
finding's provider; a planted key without a true-positive finding is a false
negative. Repeated findings of one planted key (same provider) count once.

One exception: a rule's negative example only promises that THAT rule does not
report it; many are near misses (a truncated key in DEEPSEEK_API_KEY=...) that
generic rules report by design, or another rule's genuine secret (a Stripe key
in an ElevenLabs negative example, a Datadog application key in the Datadog API
key rule's). A finding of another rule inside a negative example is therefore
"unscored": listed, not counted (--strict counts it as a false positive). So
is a generic rule's finding on a secret the labels list as "unscored" (a
generic match inside another rule's example, such as `TWILIO_API_SECRET=...`
next to a Twilio API key, whose truth the generator cannot vouch for).
Generic decoys (UUIDs, hashes, placeholders, documentation keys, lock files)
are decoys for every rule.
Provider = the rule's [rules.verify].provider, else the first segment of the
rule id (the labels file carries the mapping for the rules it was made with).

Prints a per-provider table (TP, FP, FN, recall, precision, F1) and the
overall line, then the misses and false alarms (first N of each, with the
decoy they hit). --json writes {"overall": {...}, "providers": {name: {...}},
"skipped": n, ...}; recall (precision) is null when a provider has no planted
keys (no findings). Always exits 0: thresholds are the caller's business.
"""

import argparse
import collections
import json
import os
import re
import sys


def provider_of(rule_id, providers):
    if rule_id in providers:
        return providers[rule_id]
    return re.split(r"[-_.:]", rule_id)[0]


def read_report(path):
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    try:  # a --format json report
        doc = json.loads(text)
        if isinstance(doc, dict) and isinstance(doc.get("findings"), list):
            return doc["findings"]
    except json.JSONDecodeError:
        pass
    findings = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        try:
            finding = json.loads(line)
        except json.JSONDecodeError:
            print("score-labeled: %s:%d is not JSON, ignored" % (path, number), file=sys.stderr)
            continue
        if isinstance(finding, dict) and "rule_id" in finding:
            findings.append(finding)
    return findings


class PathMapper:
    """Maps a finding's path (absolute, relative to the working directory, or
    already relative to the corpus) to the corpus-relative path of the labels."""

    def __init__(self, corpus_dir, label_paths):
        self.corpus = os.path.realpath(corpus_dir)
        self.labels = set(label_paths)

    def __call__(self, path):
        path = path.replace("\\", "/")
        if path in self.labels:
            return path
        for candidate in (path, os.path.join(os.getcwd(), path)):
            real = os.path.realpath(candidate)
            if real == self.corpus or real.startswith(self.corpus + os.sep):
                return os.path.relpath(real, self.corpus).replace(os.sep, "/")
        # Last resort: the longest label path the finding's path ends with.
        best = None
        for label in self.labels:
            if path.endswith("/" + label) and (best is None or len(label) > len(best)):
                best = label
        return best or path


def ratio(num, den):
    return num / den if den else None


def metrics(tp, fp, fn):
    recall = ratio(tp, tp + fn)
    precision = ratio(tp, tp + fp)
    if recall is None or precision is None or recall + precision == 0:
        f1 = None if (recall is None or precision is None) else 0.0
    else:
        f1 = 2 * recall * precision / (recall + precision)
    return {"tp": tp, "fp": fp, "fn": fn, "recall": recall, "precision": precision, "f1": f1}


def fmt(value):
    return "     -" if value is None else "%6.1f" % (100 * value)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("labels")
    ap.add_argument("report")
    ap.add_argument("--json", dest="json_out", help="write the scores as JSON here")
    ap.add_argument("--details", type=int, default=25, help="misses and false alarms to list (default 25 each)")
    ap.add_argument("--strict", action="store_true",
                    help="count other rules' findings in a rule's negative examples as false positives")
    args = ap.parse_args(argv)

    with open(args.labels, encoding="utf-8") as fh:
        labels = json.load(fh)
    providers = labels.get("providers", {})
    labels_dir = os.path.dirname(os.path.abspath(args.labels))
    name = labels.get("corpus") or os.path.basename(args.labels).rsplit(".labels.json", 1)[0]
    corpus_dir = os.path.join(labels_dir, name)

    truth = {}  # (path, secret, provider) -> label
    by_secret = collections.defaultdict(set)  # (path, secret) -> providers
    for entry in labels["true"]:
        key = (entry["path"], entry["secret"], entry["provider"])
        truth.setdefault(key, entry)
        by_secret[(entry["path"], entry["secret"])].add(entry["provider"])
    decoys = collections.defaultdict(list)
    for entry in labels.get("decoys", []):
        decoys[entry["path"]].append(entry)
    unscored_labels = {(e["path"], e["secret"], e["provider"]) for e in labels.get("unscored", [])}
    all_paths = {e["path"] for e in labels["true"]} | set(decoys) | {e[0] for e in unscored_labels}
    mapper = PathMapper(corpus_dir, all_paths)

    # Categories (plain, encoded:base64, utf16, ...): of each labelled file.
    category_of = {}
    for entry in labels["true"] + labels.get("decoys", []) + labels.get("unscored", []):
        category_of.setdefault(entry["path"], entry.get("category", "plain"))
    cat_tp = collections.Counter()
    cat_fp = collections.Counter()
    cat_fn = collections.Counter()

    findings = read_report(args.report)
    found = set()
    tp = collections.Counter()
    fp = collections.Counter()
    fn = collections.Counter()
    false_alarms = []
    unscored = []
    duplicates = 0
    for finding in findings:
        rule_id = finding.get("rule_id", "")
        provider = provider_of(rule_id, providers)
        path = mapper(finding.get("path", ""))
        secret = finding.get("secret", "")
        key = (path, secret, provider)
        if key in truth:
            if key in found:
                duplicates += 1
            else:
                found.add(key)
                tp[provider] += 1
                cat_tp[category_of.get(path, "plain")] += 1
            continue
        line = finding.get("line") or 0
        if key in unscored_labels:
            unscored.append((provider, rule_id, path, line, secret, "generic match in an example"))
            continue
        decoy = next((d for d in decoys.get(path, []) if d["line"] <= line <= d.get("end_line", d["line"])), None)
        if (path, secret) in by_secret:
            why = "planted %s key, reported by another provider" % "/".join(sorted(by_secret[(path, secret)]))
        elif decoy:
            why = "decoy " + decoy["kind"]
            owner = decoy.get("rule_id")
            if owner and owner != rule_id and not args.strict:
                unscored.append((provider, rule_id, path, line, secret, why))
                continue
        else:
            why = "not planted"
        fp[provider] += 1
        cat_fp[category_of.get(path, "plain")] += 1
        false_alarms.append((provider, rule_id, path, line, secret, why))
    misses = []
    for key, entry in truth.items():
        if key not in found:
            fn[entry["provider"]] += 1
            cat_fn[entry.get("category", "plain")] += 1
            misses.append(entry)

    names = sorted(set(tp) | set(fp) | set(fn) | {e["provider"] for e in labels["true"]})
    table = {name: metrics(tp[name], fp[name], fn[name]) for name in names}
    overall = metrics(sum(tp.values()), sum(fp.values()), sum(fn.values()))

    width = max([len("provider")] + [len(n) for n in names])
    header = "%-*s %6s %6s %6s %7s %9s %6s" % (width, "provider", "TP", "FP", "FN", "recall", "precision", "F1")
    print(header)
    print("-" * len(header))
    for name in names:
        m = table[name]
        print("%-*s %6d %6d %6d  %s    %s %s" % (width, name, m["tp"], m["fp"], m["fn"], fmt(m["recall"]),
                                              fmt(m["precision"]), fmt(m["f1"])))
    print("-" * len(header))
    m = overall
    print("%-*s %6d %6d %6d  %s    %s %s" % (width, "overall", m["tp"], m["fp"], m["fn"], fmt(m["recall"]),
                                          fmt(m["precision"]), fmt(m["f1"])))
    categories = {name: metrics(cat_tp[name], cat_fp[name], cat_fn[name])
                  for name in sorted(set(cat_tp) | set(cat_fp) | set(cat_fn))}
    if len(categories) > 1:
        print("\n%-*s %6s %6s %6s %7s %9s %6s" % (width, "category", "TP", "FP", "FN", "recall", "precision", "F1"))
        for name, m in categories.items():
            print("%-*s %6d %6d %6d  %s    %s %s" % (width, name, m["tp"], m["fp"], m["fn"], fmt(m["recall"]),
                                                  fmt(m["precision"]), fmt(m["f1"])))
    skipped = labels.get("skipped", [])
    note = "" if args.strict else "; --strict counts those in negative examples"
    print("\n%d findings (%d repeated, %d unscored%s), %d planted keys, %d decoys, "
          "%d examples skipped by the generator" % (len(findings), duplicates, len(unscored), note, len(truth),
                                                    sum(len(v) for v in decoys.values()), len(skipped)))
    for entry in skipped:
        print("  skipped: %s %s: %s" % (entry["rule_id"], entry["example"], entry["reason"]))
    if misses and args.details:
        print("\nmisses (false negatives), first %d of %d:" % (min(args.details, len(misses)), len(misses)))
        for entry in sorted(misses, key=lambda e: (e["provider"], e["rule_id"], e["path"]))[:args.details]:
            print("  %s %s %s:%d %s" % (entry["provider"], entry["rule_id"], entry["path"], entry["line"],
                                       entry["secret"][:60].replace("\n", "\\n")))
    if false_alarms and args.details:
        print("\nfalse alarms (false positives), first %d of %d:"
              % (min(args.details, len(false_alarms)), len(false_alarms)))
        for provider, rule_id, path, line, secret, why in sorted(false_alarms)[:args.details]:
            print("  %s %s %s:%d %s (%s)" % (provider, rule_id, path, line, secret[:60].replace("\n", "\\n"), why))

    if unscored and args.details:
        print("\nunscored findings, first %d of %d:" % (min(args.details, len(unscored)), len(unscored)))
        for provider, rule_id, path, line, secret, why in sorted(unscored)[:args.details]:
            print("  %s %s %s:%d %s (%s)" % (provider, rule_id, path, line, secret[:60].replace("\n", "\\n"), why))

    if args.json_out:
        doc = {
            "overall": overall,
            "providers": table,
            "categories": categories,
            "skipped": len(skipped),
            "findings": len(findings),
            "unscored": len(unscored),
            "strict": args.strict,
            "planted": len(truth),
            "decoys": sum(len(v) for v in decoys.values()),
            "misses": [{k: e[k] for k in ("provider", "rule_id", "path", "line")} for e in misses],
            "false_alarms": [{"provider": p, "rule_id": r, "path": pa, "line": li, "why": w}
                             for p, r, pa, li, _s, w in sorted(false_alarms)],
        }
        with open(args.json_out, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=1)
            fh.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
