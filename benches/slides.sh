#!/usr/bin/env bash
# Benchmark: one slide page served by `lab serve` (release build) against nginx serving the
# same rendered HTML as a static file, measured back to back in the same run with wrk.
# Usage: benches/slides.sh [duration-seconds]   (needs: wrk, nginx; apt-get install wrk nginx-light)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-15}"
LAB_PORT=7171
NGINX_PORT=7172
SLIDE=/slides/mesos-marathon/5
work=$(mktemp -d)
trap 'kill ${lab_pid:-} ${nginx_pid:-} 2>/dev/null || true; rm -rf "$work"' EXIT

cargo build --release --quiet
LAB_HOME="$work/home" target/release/lab serve --addr 127.0.0.1:$LAB_PORT --db :memory: 2>"$work/lab.log" &
lab_pid=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$LAB_PORT/healthz" >/dev/null && break; sleep 0.1; done

# nginx serves the very bytes lab renders, at the same path.
chmod 755 "$work"
mkdir -p "$work/root$(dirname $SLIDE)"
curl -fs "http://127.0.0.1:$LAB_PORT$SLIDE" -o "$work/root$SLIDE"
cat >"$work/nginx.conf" <<CONF
worker_processes auto;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  default_type text/html;
  server { listen 127.0.0.1:$NGINX_PORT; root $work/root; }
}
CONF
chmod -R a+rX "$work/root"
nginx -c "$work/nginx.conf" -g 'daemon off;' &
nginx_pid=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$NGINX_PORT$SLIDE" >/dev/null && break; sleep 0.1; done

echo "page: $SLIDE ($(stat -c %s "$work/root$SLIDE") bytes), wrk -t2 -c64 -d${DURATION}s --latency"
for target in "lab:$LAB_PORT" "nginx:$NGINX_PORT"; do
  name=${target%%:*}; port=${target##*:}
  wrk -t2 -c64 -d2s "http://127.0.0.1:$port$SLIDE" >/dev/null   # warm-up
  out=$(wrk -t2 -c64 -d"${DURATION}s" --latency "http://127.0.0.1:$port$SLIDE")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  errors=$(grep -E 'Non-2xx|Socket errors' <<<"$out" || true)
  printf '%-6s requests/s %10s   p99 %8s  %s\n' "$name" "$rps" "$p99" "$errors"
done
echo "lab release binary: $(stat -c %s target/release/lab) bytes"
echo "lab RSS after serving: $(awk '/VmRSS/ {print $2, $3}' /proc/$lab_pid/status)"
