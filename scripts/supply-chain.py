#!/usr/bin/env python3
"""Offline supply-chain checks of keyhound's shipped dependencies (normal
dependencies for this platform, from Cargo.lock; no network):

- every crate's license expression is satisfiable with permissive licenses;
- no OpenSSL / native TLS (keyhound uses rustls);
- crates present in two versions are listed, and only the known ones are
  allowed (a new duplicate fails: bump or unify the dependency, or add it
  here with a reason).

Run by scripts/test; exits 1 with the reasons on a violation.
"""
import re
import subprocess
import sys

ALLOWED_LICENSES = {
    "MIT", "MIT-0", "Apache-2.0", "LLVM-exception", "BSD-2-Clause", "BSD-3-Clause", "0BSD", "ISC",
    "Zlib", "Unicode-3.0", "Unicode-DFS-2016", "Unlicense", "BSL-1.0", "CDLA-Permissive-2.0",
}
FORBIDDEN_CRATES = {"openssl", "openssl-sys", "native-tls"}
# Duplicates we know and accept, with why.
KNOWN_DUPLICATES = {
    "getrandom": "rand/tempfile moved to 0.3+/0.4 while ring/rustls still use 0.2",
    "syn": "derive macros split between syn 2 and 3",
    "webpki-roots": "ureq 2 pins 0.26, which re-exports 1.x",
    "fallible-iterator": "postgres 0.19 uses 0.2, rusqlite 0.32 uses 0.3",
    "hashbrown": "rusqlite's hashlink 0.9 pins 0.14; the rest of the tree is on 0.17",
    # The MySQL/MariaDB login check (mysql 28, the maintained synchronous client):
    # mysql_common 0.37 is on RustCrypto's digest 0.10 stack and pem 4 on base64 0.23,
    # while postgres-protocol and keyhound are on digest 0.11 and base64 0.22.
    "base64": "mysql's pem 4 uses 0.23; ureq, postgres-protocol and keyhound use 0.22",
    "block-buffer": "digest 0.10 (mysql_common) and 0.11 (postgres-protocol, keyhound)",
    "cpufeatures": "digest 0.10 (mysql_common) and 0.11 (postgres-protocol, keyhound)",
    "crypto-common": "digest 0.10 (mysql_common) and 0.11 (postgres-protocol, keyhound)",
    "digest": "mysql_common 0.37 uses 0.10; postgres-protocol 0.6.12 and keyhound use 0.11",
    "sha1": "mysql_common 0.37 uses 0.10; keyhound uses 0.11",
    "sha2": "mysql_common 0.37 uses 0.10; postgres-protocol 0.6.12 and keyhound use 0.11",
}


def satisfiable(expression: str) -> bool:
    """Whether an SPDX-ish expression (OR, AND, WITH, '/', parentheses) allows a permissive choice."""
    expression = expression.replace("/", " OR ")
    tokens = re.findall(r"\(|\)|[A-Za-z0-9.+-]+", expression)
    position = 0

    def parse_or():
        nonlocal position
        value = parse_and()
        while position < len(tokens) and tokens[position] == "OR":
            position += 1
            value = parse_and() or value
        return value

    def parse_and():
        nonlocal position
        value = parse_atom()
        while position < len(tokens) and tokens[position] == "AND":
            position += 1
            value = parse_atom() and value
        return value

    def parse_atom():
        nonlocal position
        token = tokens[position]
        position += 1
        if token == "(":
            value = parse_or()
            position += 1  # ")"
        else:
            value = token in ALLOWED_LICENSES
        if position < len(tokens) and tokens[position] == "WITH":
            position += 2
        return value

    return parse_or()


def main() -> int:
    tree = subprocess.run(
        ["cargo", "tree", "--locked", "--offline", "-e", "normal", "--prefix", "none", "-f", "{p}|{l}"],
        check=True, capture_output=True, text=True,
    ).stdout
    problems = []
    versions = {}
    for line in sorted(set(tree.splitlines())):
        if "|" not in line:
            continue
        package, license_expression = line.split("|", 1)
        name, version = package.split()[:2]
        versions.setdefault(name, set()).add(version)
        if name in FORBIDDEN_CRATES:
            problems.append(f"{package}: forbidden (keyhound uses rustls, not OpenSSL)")
        if package.startswith("keyhound "):
            continue
        if not license_expression.strip():
            problems.append(f"{package}: no license declared")
        elif not satisfiable(license_expression):
            problems.append(f"{package}: license `{license_expression}` is not on the permissive list")
    duplicates = {name: sorted(found) for name, found in versions.items() if len(found) > 1}
    for name, found in sorted(duplicates.items()):
        if name not in KNOWN_DUPLICATES:
            problems.append(f"{name} is built in {len(found)} versions ({', '.join(found)}): a new duplicate")
    print(f"supply chain: {len(versions)} crates, {len(duplicates)} known duplicates "
          f"({', '.join(sorted(duplicates)) or 'none'}), licenses permissive, no OpenSSL")
    for problem in problems:
        print(f"supply chain: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
