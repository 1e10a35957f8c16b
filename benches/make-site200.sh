#!/bin/sh
# Generates a 200-file lighter-format site for rendering benchmarks:
#   $1/globals.yml                      site-wide variables and defaults
#   $1/<group>/globals.yml              4 groups (api, workers, data, edge) with their own defaults
#   $1/<group>/<group>-NNN.yml          50 app files per group (200 in total)
# Every app uses variables from all three levels, an override section that patches a
# port mapping by index, a health check, two port mappings and an env map.
# Usage: benches/make-site200.sh OUTDIR   (OUTDIR is created; existing files are overwritten)
set -eu

if [ $# -ne 1 ]; then
  echo "usage: $0 OUTDIR" >&2
  exit 2
fi
out=$1
mkdir -p "$out"

cat >"$out/globals.yml" <<'YML'
marathon:
  url: http://marathon.example.com:8080
variables:
  registry: registry.example.com
  site.domain: example.com
  log.level: info
service:
  cpus: 0.1
  labels:
    com.example.site: bench
  env:
    SITE_DOMAIN: "%{site.domain}"
    LOG_LEVEL: "%{log.level}"
  constraints:
    - [hostname, UNIQUE]
  upgradeStrategy:
    minimumHealthCapacity: 0.5
    maximumOverCapacity: 0.2
YML

port=10000
for group in api workers data edge; do
  dir="$out/$group"
  mkdir -p "$dir"
  cat >"$dir/globals.yml" <<YML
variables:
  group: $group
  heap: 256m
  health.path: /health
service:
  instances: 2
  mem: 512
  labels:
    com.example.group: "%{group}"
  env:
    JAVA_OPTS: "-Xmx%{heap}"
    GROUP: "%{group}"
  constraints:
    - [rack_id, GROUP_BY]
YML

  i=1
  while [ "$i" -le 50 ]; do
    n=$(printf '%03d' "$i")
    name="$group-$n"
    port=$((port + 2))
    minor=$((i % 10))
    cat >"$dir/$name.yml" <<YML
variables:
  name: $name
  version: 1.$minor.$i
  http.port: 8080
  admin.port: 9090
service:
  id: "/bench/%{group}/%{name}"
  cpus: 0.25
  container:
    type: DOCKER
    docker:
      image: "%{registry}/%{group}/%{name}:%{version}"
      network: BRIDGE
      forcePullImage: false
      portMappings:
        - {containerPort: "%{http.port}", hostPort: 0, servicePort: $port, protocol: tcp}
        - {containerPort: "%{admin.port}", hostPort: 0, servicePort: $((port + 1)), protocol: tcp}
  env:
    SERVICE_NAME: "%{name}"
    SERVICE_VERSION: "%{lighter.version}"
    PUBLIC_URL: "https://%{name}.%{site.domain}"
    HTTP_PORT: "%{http.port}"
    WORKERS: $((i % 8 + 1))
    FEATURE_FLAGS: {search: true, beta: false}
  healthChecks:
    - protocol: HTTP
      path: "%{health.path}"
      portIndex: 0
      gracePeriodSeconds: 60
      intervalSeconds: 10
      timeoutSeconds: 5
      maxConsecutiveFailures: 3
  labels:
    com.example.app: "%{name}"
    HAPROXY_0_VHOST: "%{name}.%{site.domain}"
override:
  instances: $((i % 3 + 1))
  container:
    docker:
      portMappings:
        1: {servicePort: $((port + 1001))}
YML
    i=$((i + 1))
  done
done
