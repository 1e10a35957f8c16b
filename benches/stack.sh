#!/usr/bin/env bash
# Benchmark: `lab up` / `lab down` of the engine-test stack (tests/fixtures/stack/stack.yml,
# four services: bridge + published ports, service: networking, host networking, a
# healthcheck gating a dependency, a named volume) against `docker-compose up -d` / `down -v`
# of the same file, measured in the same run with hyperfine (medians over RUNS runs).
# Usage: benches/stack.sh [runs]     (needs: docker, docker-compose, hyperfine, busybox-static)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-7}"
FILE=tests/fixtures/stack/stack.yml
work=$(mktemp -d)
trap 'target/release/lab down --project benchlab --volumes >/dev/null 2>&1 || true; docker-compose -p benchdc -f $FILE down -v >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

cargo build --release --quiet
# The test image the stack runs (the same one the engine tests build).
mkdir -p "$work/img" && cp "$(command -v busybox || echo /bin/busybox)" "$work/img/busybox"
printf 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "sh", "-c", "/bin/busybox --install -s /bin && mkdir -p /tmp /www && chmod 1777 /tmp"]\nCMD ["sh"]\n' >"$work/img/Dockerfile"
docker build -q -t lab-test/busybox:2 "$work/img" >/dev/null 2>&1

export LAB_HOME="$work/home" LAB_STUDENT=bench
LAB_UP="target/release/lab up --stack $FILE --project benchlab --port-base 23000"
LAB_DOWN="target/release/lab down --project benchlab --volumes"
# docker-compose gets the same variables lab would supply.
DC="env LAB_PORT_WEB=23100 LAB_PORT_SIDE=23101 LAB_PORT_HOST=23102 LAB_STUDENT=bench docker-compose -p benchdc -f $FILE"

hyperfine --runs "$RUNS" --export-json "$work/up.json" \
  --prepare "$LAB_DOWN >/dev/null 2>&1; $DC down -v >/dev/null 2>&1" \
  -n "lab up" "$LAB_UP" -n "docker-compose up -d" "$DC up -d" >/dev/null
hyperfine --runs "$RUNS" --export-json "$work/down.json" \
  --prepare "$LAB_UP >/dev/null 2>&1; $DC up -d >/dev/null 2>&1" \
  -n "lab down" "$LAB_DOWN" -n "docker-compose down -v" "$DC down -v" >/dev/null

python3 - "$work/up.json" "$work/down.json" <<'PY'
import json, sys
for path in sys.argv[1:]:
    for r in json.load(open(path))["results"]:
        print(f'{r["command"]:<24} median {r["median"]:.3f} s   min {r["min"]:.3f} s   max {r["max"]:.3f} s   runs {len(r["times"])}')
PY
