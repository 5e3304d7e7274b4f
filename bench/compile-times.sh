#!/usr/bin/env bash
# Where a cold build of freqtag's dependencies spends its time (issue 13: the
# time from a fresh clone to the first plot is mostly this build). Builds the
# library into an EMPTY target folder with the notebook kernel's settings (an
# explicit --target, RUSTFLAGS=-Cprefer-dynamic, rpath on: what
# scripts/setup-notebooks.sh builds) and `cargo build --timings`, then sums
# cargo's per-unit times by group (Polars, tract, freqtag, the rest) and names
# the units only Polars' lazy engine pulls in.
#
#   bench/compile-times.sh [WORK_DIR]          build, then summarise (13-25 min cold on 2 cores)
#   bench/compile-times.sh --summary HTML      summarise an existing cargo-timing.html
#
# env: OPT_LEVEL=N   build the dependencies at opt-level N instead of
#                    Cargo.toml's [profile.dev] (CARGO_PROFILE_DEV_OPT_LEVEL)
# Crates must be downloaded already (it builds --offline): `cargo fetch` first.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)

if [[ "${1:-}" == --summary ]]; then
  html=$(realpath "${2:?--summary needs a cargo-timing.html}")
else
  work=${1:-/tmp/freqtag-compile-times}
  if [[ -e "$work/target" ]]; then
    echo "compile-times: $work/target exists; give an empty WORK_DIR (a warm build measures nothing)" >&2
    exit 2
  fi
  mkdir -p "$work"
  echo "load: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores (a load above ~0.5 skews the times)"
  host=$(rustc -vV | sed -n 's/^host: //p')
  opt=()
  [[ -z "${OPT_LEVEL:-}" ]] || opt=(CARGO_PROFILE_DEV_OPT_LEVEL="$OPT_LEVEL")
  cd "$REPO"
  start=$(date +%s)
  env "${opt[@]}" CARGO_TARGET_DIR="$work/target" CARGO_BUILD_TARGET="$host" \
    RUSTFLAGS="-Cprefer-dynamic" CARGO_PROFILE_DEV_RPATH=true CARGO_TERM_COLOR=never \
    /usr/bin/time -f "%e %U %S" -o "$work/time" \
    cargo build --offline --locked --lib --timings
  read -r wall user sys < "$work/time"
  echo "wall ${wall} s, CPU ${user} s user + ${sys} s system ($(( $(date +%s) - start )) s by the clock)"
  html="$work/target/cargo-timings/cargo-timing.html"
fi

# what Polars' `lazy` feature adds: the packages of the dependency tree with it
# minus those without it (cargo tree, offline: seconds)
cd "$REPO"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cargo tree --offline --locked -e normal --prefix none --no-dedupe | awk '{print $1}' | sort -u > "$tmp/with"
mkdir "$tmp/crate" && cp -r Cargo.toml Cargo.lock src bench "$tmp/crate/"
sed -i 's/"parquet", "lazy", /"parquet", /' "$tmp/crate/Cargo.toml"
grep -q '"lazy"' "$tmp/crate/Cargo.toml" && { echo "compile-times: could not take lazy out of Cargo.toml's polars features" >&2; exit 1; }
(cd "$tmp/crate" && cargo tree --offline -e normal --prefix none --no-dedupe | awk '{print $1}' | sort -u > "$tmp/without")
comm -23 "$tmp/with" "$tmp/without" > "$tmp/lazy-only"

python3 - "$html" "$tmp/lazy-only" <<'EOF'
import json, re, sys
html = open(sys.argv[1]).read()
m = re.search(r"const UNIT_DATA = (\[.*?\]);\n", html, re.S)
if not m:
    sys.exit(f"compile-times: no UNIT_DATA in {sys.argv[1]} (not a cargo --timings page?)")
units = json.loads(m.group(1))
total = sum(u["duration"] for u in units)
def group(name):
    return "Polars" if name.startswith("polars") else "tract" if name.startswith("tract") else "freqtag" if name == "freqtag" else "other"
sums, counts = {}, {}
for u in units:
    g = group(u["name"])
    sums[g] = sums.get(g, 0.0) + u["duration"]
    counts[g] = counts.get(g, 0) + 1
print(f"\n{len(units)} units, {total:.0f} s of compiler time in all (cargo --timings; the build runs them 2 at a time)")
print("| group | units | s | share |\n|---|---:|---:|---:|")
for g in sorted(sums, key=lambda g: -sums[g]):
    print(f"| {g} | {counts[g]} | {sums[g]:.0f} | {100 * sums[g] / total:.1f} % |")
print("\nslowest units:")
for u in sorted(units, key=lambda u: -u["duration"])[:12]:
    print(f"  {u['name']:24s} {u.get('target', '').strip():24s} {u['duration']:6.0f} s")
only = set(open(sys.argv[2]).read().split())
lazy = [u for u in units if u["name"] in only]
s = sum(u["duration"] for u in lazy)
pol = sum(u["duration"] for u in lazy if u["name"].startswith("polars"))
print(f"\nonly for Polars' `lazy` feature: {len(only)} packages, {s:.0f} s ({100 * s / total:.1f} %): "
      f"Polars' lazy crates {pol:.0f} s, the rest (HTTP/TLS stack of polars-stream's file cache: object_store, reqwest, rustls, tokio, ...) {s - pol:.0f} s")
EOF
