#!/usr/bin/env python3
"""How far the notebook kernel's build has got, for scripts/setup-notebooks.sh.

    scripts/kernel-progress.py total          crates the kernel's build of freqtag compiles
    scripts/kernel-progress.py built STAMP    of those, how many are done since STAMP's mtime

The kernel (evcxr 0.22) builds inside a headless Jupyter kernel, where cargo's
own progress is not visible. With `:cache` on (the notebooks' prelude), evcxr
runs every rustc invocation through itself and, for each dependency compiled
(not freqtag: path crates are built incrementally and never cached), stores
the outputs in a folder of its cache, ~/.cache/evcxr/<hash of the command
line>/, with `meta` (the command line, one argument a line), `stderr` and
`hits` (a counter, written when the entry is made and on every cache hit)
(evcxr-0.22.0/src/module/cache.rs). So an entry whose `hits` is newer than
the start of the build is a crate compiled, or taken from the cache, by this
build. Build scripts have entries of their own (crate name
build_script_build); they are not counted.

The total counts libraries as cargo builds them for the kernel: once for the
target, and once more for the host where a crate is needed by a build script
or a procedural macro (the kernel builds with an explicit --target), from
`cargo tree` on this repository's Cargo.lock. The kernel resolves its own
versions, so the total is approximate. Plain Python 3.
"""
import os
import re
import subprocess
import sys


def evcxr_cache():
    # evcxr uses dirs::cache_dir(): $XDG_CACHE_HOME or ~/.cache on Linux,
    # ~/Library/Caches on macOS
    if sys.platform == "darwin":
        base = os.path.expanduser("~/Library/Caches")
    else:
        base = os.environ.get("XDG_CACHE_HOME", "")
        if not os.path.isabs(base):
            base = os.path.expanduser("~/.cache")
    return os.path.join(base, "evcxr")


def built(stamp):
    since = os.path.getmtime(stamp)
    cache = evcxr_cache()
    if not os.path.isdir(cache):
        return 0
    n = 0
    for entry in os.scandir(cache):
        try:
            if os.path.getmtime(os.path.join(entry.path, "hits")) < since:
                continue
            with open(os.path.join(entry.path, "meta"), encoding="utf-8") as f:
                if "build_script_build" in f.read().split("\n"):
                    continue
        except OSError:
            continue  # an entry being written, or not an entry
        n += 1
    return n


def total(root):
    host = re.search(r"^host: (\S+)", subprocess.run(
        ["rustc", "-vV"], capture_output=True, text=True, check=True).stdout, re.M).group(1)
    tree = subprocess.run(
        ["cargo", "tree", "--locked", "--quiet", "-e", "normal,build", "--target", host, "--format", "{p}"],
        cwd=root, capture_output=True, text=True, check=True).stdout.splitlines()
    units = set()
    stack = []  # (depth, built for the host) of the lines above
    for line in tree[1:]:  # the first line is freqtag itself
        prefix, rest = re.match(r"^((?:│   |    |├── |└── )*)(.*)$", line).groups()
        depth = len(prefix) // 4
        if rest.startswith("["):  # "[build-dependencies]" of the package above, at depth - 1
            stack = [s for s in stack if s[0] < depth + 0.5]
            stack.append((depth + 0.5, rest == "[build-dependencies]"))
            continue
        stack = [s for s in stack if s[0] < depth]
        host_side = any(h for _, h in stack) or "(proc-macro)" in rest
        name = re.sub(r" \((\*|proc-macro|/.*)\)", "", rest)
        units.add((name, host_side))
        stack.append((depth, host_side))
    return len(units)


def main():
    if len(sys.argv) == 2 and sys.argv[1] == "total":
        print(total(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    elif len(sys.argv) == 3 and sys.argv[1] == "built":
        print(built(sys.argv[2]))
    else:
        sys.exit("usage: kernel-progress.py total | built STAMP")


if __name__ == "__main__":
    main()
