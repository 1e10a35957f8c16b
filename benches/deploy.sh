#!/usr/bin/env bash
# Benchmark: `lab deploy --dry-run` over the 200-file site of benches/make-site200.sh
# (globals at two levels, every file using variables from all levels, an override that
# patches a port mapping by index, health checks, env maps). The peer is upstream lighter
# rendering the same files (`lighter verify -t`), run by hand from a scratch checkout
# outside this repository, right after this script, on the site it keeps: see
# docs/benchmarks.md for the exact commands.
# Usage: benches/deploy.sh [runs] [site-dir]   (needs hyperfine; site-dir is kept)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-30}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
site="${2:-$work/site}"
cargo build --release --quiet
sh benches/make-site200.sh "$site"
count=$(find "$site" -name '*.yml' -not -name globals.yml | wc -l)
apps=$(target/release/lab deploy --dry-run "$site" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
echo "site: $count service files, $(find "$site" -name globals.yml | wc -l) globals.yml; dry run rendered $apps apps"
hyperfine --warmup 3 --runs "$RUNS" --export-json "$work/r.json" -n "lab deploy --dry-run (200 files)" "target/release/lab deploy --dry-run $site" >/dev/null
python3 - "$work/r.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print(f'{r["command"]}: median {r["median"]*1000:.1f} ms, mean {r["mean"]*1000:.1f} ms, min {r["min"]*1000:.1f} ms, max {r["max"]*1000:.1f} ms, runs {len(r["times"])}')
PY
