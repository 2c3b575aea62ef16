#!/usr/bin/env python3
"""Run a command and report its wall time and peak memory as JSON.

Usage:
    scripts/measure.py [--stdout FILE] [--stderr FILE] [--cwd DIR] [--] CMD [ARG...]

Prints one line on standard output:
    {"wall_s": 1.234, "max_rss_mb": 45.6, "user_s": 2.1, "sys_s": 0.3, "exit": 1}

wall_s is the elapsed time from start to exit; max_rss_mb is the peak
resident set size of the largest process among the command and its
descendants (getrusage(RUSAGE_CHILDREN).ru_maxrss, in MiB), like GNU time's
%M; user_s and sys_s are their CPU times. The command's own stdout and
stderr go to --stdout / --stderr (default: inherited, i.e. this script's
stderr for both, so the JSON line stays alone on stdout). The exit status of
measure.py is 0 whenever the command ran, whatever its exit code (which is
in "exit"; a command killed by signal N reports -N); 127 if it could not be
started. Python 3 standard library only.
"""

import json
import os
import resource
import subprocess
import sys
import time


def main(argv):
    stdout_path = stderr_path = cwd = None
    args = list(argv)
    while args and args[0].startswith("--"):
        flag = args.pop(0)
        if flag == "--":
            break
        if flag in ("--stdout", "--stderr", "--cwd") and args:
            value = args.pop(0)
            if flag == "--stdout":
                stdout_path = value
            elif flag == "--stderr":
                stderr_path = value
            else:
                cwd = value
        elif flag in ("-h", "--help"):
            print(__doc__.strip())
            return 0
        else:
            print("measure.py: unknown option %s" % flag, file=sys.stderr)
            return 2
    if not args:
        print("usage: measure.py [--stdout FILE] [--stderr FILE] [--cwd DIR] [--] CMD [ARG...]", file=sys.stderr)
        return 2

    out = open(stdout_path, "wb") if stdout_path else sys.stderr.buffer
    err = open(stderr_path, "wb") if stderr_path else sys.stderr.buffer
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    try:
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=cwd)
    except OSError as exc:
        print("measure.py: cannot run %s: %s" % (args[0], exc), file=sys.stderr)
        return 127
    code = proc.wait()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # ru_maxrss is in KiB on Linux (bytes on macOS).
    rss_kib = after.ru_maxrss / 1024 if sys.platform == "darwin" else after.ru_maxrss
    print(json.dumps({
        "wall_s": round(wall, 4),
        "max_rss_mb": round(rss_kib / 1024, 1),
        "user_s": round(after.ru_utime - before.ru_utime, 3),
        "sys_s": round(after.ru_stime - before.ru_stime, 3),
        "exit": code,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
