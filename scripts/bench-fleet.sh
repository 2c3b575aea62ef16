#!/usr/bin/env bash
# Fleet benchmark (security-team scale): N generated repositories, scanned
# into a fresh datastore, then rescanned unchanged (the nightly case), then
# after one new commit in one repository.
#
# Usage: scripts/bench-fleet.sh [--repos N] [--commits C] [--size-mb S] [--no-build]
#
# Each repository is made by scripts/gen-history.py (its own seed; C commits,
# S MiB of unique blobs, planted secrets) under target/bench-fleet-<N>x<C>c-<S>mb
# and reused. Prints wall time, peak RSS and blob counts of each run, and the
# rescan/first ratio (the bar: under 10%).
set -euo pipefail
cd "$(dirname "$0")/.."
repos=100
commits=200
size_mb=4
build=1
while (($#)); do
    case "$1" in
        --repos) repos=$2; shift 2 ;;
        --commits) commits=$2; shift 2 ;;
        --size-mb) size_mb=$2; shift 2 ;;
        --no-build) build=0; shift ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done
[ "$build" = 1 ] && cargo build --release --quiet
dir="target/bench-fleet-${repos}x${commits}c-${size_mb}mb"
mkdir -p "$dir"
for i in $(seq 1 "$repos"); do
    python3 scripts/gen-history.py "$dir/repo-$i" --commits "$commits" --size-mb "$size_mb" --seed "$i" --quiet
done
ls -d "$PWD/$dir"/repo-*/ | sed 's:/$::' > "$dir/repos.txt"
rm -rf "$dir/store"
run() {
    local label=$1
    /usr/bin/time -f "%e %M" -o /tmp/kh-fleet-time target/release/keyhound git --repos "$dir/repos.txt" \
        --datastore "$dir/store" --no-config --no-progress --format json -o /tmp/kh-fleet.json 2> /tmp/kh-fleet.err || true
    read -r wall rss < <(tail -n 1 /tmp/kh-fleet-time)
    local summary
    summary=$(grep -o '[0-9]* new blobs, [0-9]* new findings' /tmp/kh-fleet.err || echo "?")
    printf '%-16s %8.2f s %8.1f MB peak RSS  %s\n' "$label" "$wall" "$(python3 -c "print($rss / 1024)")" "$summary" >&2
    echo "$wall"
}
first=$(run "first scan")
again=$(run "unchanged rescan")
python3 - "$dir/repo-1" <<'PY'
import subprocess, sys, tempfile, os
repo = sys.argv[1]
with tempfile.TemporaryDirectory() as work:
    subprocess.run(["git", "clone", "-q", repo, work], check=True)
    with open(os.path.join(work, "new.env"), "w") as fh:
        fh.write(f"DEEPSEEK_API_KEY=sk-{os.urandom(16).hex()}\n")
    env = dict(os.environ, GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="b@e", GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="b@e")
    subprocess.run(["git", "-C", work, "add", "-A"], check=True)
    subprocess.run(["git", "-C", work, "commit", "-qm", "new key"], check=True, env=env)
    subprocess.run(["git", "-C", work, "push", "-q", "origin", f"HEAD:refs/heads/bench-{os.getpid()}"], check=True)
PY
run "one new commit" > /dev/null
python3 -c "print(f'unchanged rescan / first scan = {100 * $again / $first:.1f}%')"
