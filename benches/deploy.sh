#!/usr/bin/env bash
# Benchmark: `lab deploy --dry-run` over a generated site of 200 service files with nested
# globals (site/globals.yml, 10 group folders with their own globals.yml, each with 2
# subfolders with globals.yml again, 10 files each), every file using variables from all
# three levels. Target: < 100 ms wall. Usage: benches/deploy.sh [runs]   (needs hyperfine)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-30}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cargo build --release --quiet

site="$work/site"
mkdir -p "$site"
cat >"$site/globals.yml" <<'YML'
marathon: {url: "http://localhost:8080"}
variables: {registry: "registry.example.org", cpus: 0.1}
service:
  cpus: "%{cpus}"
  labels: {course: bench}
  constraints: [["hostname", "GROUP_BY"]]
  upgradeStrategy: {minimumHealthCapacity: 0.5, maximumOverCapacity: 0.5}
YML
n=0
for g in $(seq -w 1 10); do
  mkdir -p "$site/group$g"
  printf 'variables: {group: "group%s", mem: 128}\nservice:\n  mem: "%%{mem}"\n  labels: {group: "%%{group}"}\n' "$g" >"$site/group$g/globals.yml"
  for s in 1 2; do
    d="$site/group$g/sub$s"
    mkdir -p "$d"
    printf 'variables: {tier: "tier%s"}\nservice:\n  labels: {tier: "%%{tier}"}\n  env: {TIER: "%%{tier}"}\n' "$s" >"$d/globals.yml"
    for f in $(seq -w 1 10); do
      n=$((n + 1))
      cat >"$d/app$f.yml" <<YML
variables: {name: "app$f"}
service:
  id: "/%{group}/%{tier}/%{name}"
  container:
    type: DOCKER
    docker:
      image: "%{registry}/bench/%{name}:1.0"
      network: BRIDGE
      portMappings:
        - {containerPort: 8080, servicePort: $((10000 + n))}
  instances: 2
  env: {APP: "%{name}", GROUP: "%{group}"}
  healthChecks:
    - {protocol: HTTP, path: /health, portIndex: 0, gracePeriodSeconds: 15, intervalSeconds: 10}
override:
  instances: 1
YML
    done
  done
done
count=$(find "$site" -name 'app*.yml' | wc -l)
apps=$(target/release/lab deploy --dry-run "$site" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
echo "site: $count service files, $(find "$site" -name globals.yml | wc -l) globals.yml; dry run rendered $apps apps"
hyperfine --warmup 3 --runs "$RUNS" --export-json "$work/r.json" -n "lab deploy --dry-run (200 files)" "target/release/lab deploy --dry-run $site" >/dev/null
python3 - "$work/r.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print(f'{r["command"]}: median {r["median"]*1000:.1f} ms, mean {r["mean"]*1000:.1f} ms, min {r["min"]*1000:.1f} ms, max {r["max"]*1000:.1f} ms, runs {len(r["times"])}')
PY
