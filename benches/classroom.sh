#!/usr/bin/env bash
# Benchmark: 10 students press Start at once in a class (`lab serve --classroom` with the
# busybox test lab in tests/fixtures/classroom: a web service with a healthcheck and a
# second service sharing its network, gated on that health) — wall time from the first
# Start until every student's stack is ready; next to `lab up` of the same stack file run
# 10 times in sequence, and docker-compose starting the same 10 projects, in one run.
# Usage: benches/classroom.sh [students] [max-starting]
#        (needs: docker, docker-compose, curl, python3, busybox-static)
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-10}"
STARTING="${2:-2}"
STACK=tests/fixtures/classroom/labs/classlab/stack.yml
PORT=7399
work=$(mktemp -d)
cleanup() {
  [ -n "${server:-}" ] && kill "$server" 2>/dev/null || true
  for p in $(docker ps -aq --filter label=lab.lab=classlab) $(docker ps -aq --filter label=com.docker.compose.project.working_dir="$PWD/tests/fixtures/classroom/labs/classlab"); do docker rm -f "$p" >/dev/null 2>&1 || true; done
  for i in $(seq 1 "$N"); do
    LAB_HOME="$work/home" target/release/lab down --project "benchup$i" --volumes >/dev/null 2>&1 || true
    env LAB_PORT_WEB=1 LAB_PORT_SIDE=1 LAB_STUDENT=x docker-compose -p "benchdc$i" -f "$STACK" down -v >/dev/null 2>&1 || true
  done
  docker network ls -q --filter label=lab.lab=classlab | xargs -r docker network rm >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

cargo build --release --quiet
mkdir -p "$work/img" && cp "$(command -v busybox || echo /bin/busybox)" "$work/img/busybox"
printf 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "sh", "-c", "/bin/busybox --install -s /bin && mkdir -p /tmp /www && chmod 1777 /tmp"]\nCMD ["sh"]\n' >"$work/img/Dockerfile"
docker build -q -t lab-test/busybox:2 "$work/img" >/dev/null 2>&1
now() { python3 -c 'import time; print(time.monotonic())'; }
elapsed() { python3 -c "print(f'{$2 - $1:.2f}')"; }

# 1. The class.
export LAB_HOME="$work/home"
target/release/lab serve --classroom --content tests/fixtures/classroom --addr "127.0.0.1:$PORT" --db "$work/class.db" \
  --ports 25000-25999 --max-stacks "$N" --max-starting "$STARTING" --join-code BENCH-1 --idle 0 >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
for i in $(seq 1 "$N"); do
  curl -s -c "$work/c$i" -o /dev/null -d "code=BENCH1&name=student$i" "http://127.0.0.1:$PORT/join"
done
t0=$(now)
presses=()
for i in $(seq 1 "$N"); do
  curl -s -b "$work/c$i" -o /dev/null -X POST "http://127.0.0.1:$PORT/stack/start" &
  presses+=($!)
done
wait "${presses[@]}" # not the server, which is a child too
while true; do
  ready=0
  for i in $(seq 1 "$N"); do
    me=$(curl -s -b "$work/c$i" "http://127.0.0.1:$PORT/api/me")
    case "$me" in
      *'"state":"ready"'*) ready=$((ready + 1)) ;;
      *'"state":"failed"'*) echo "a stack failed: $me"; exit 1 ;;
    esac
  done
  [ "$ready" -eq "$N" ] && break
  sleep 0.2
done
t1=$(now)
echo "class: $N students press Start at once (max $STARTING starting): all ready after $(elapsed "$t0" "$t1") s"
projects=$(for i in $(seq 1 "$N"); do curl -s -b "$work/c$i" "http://127.0.0.1:$PORT/api/me" | python3 -c 'import json,sys; print(json.load(sys.stdin)["stack"]["project"])'; done)
kill "$server"; server=""
for p in $projects; do target/release/lab down --project "$p" --volumes >/dev/null 2>&1; done

# 2. `lab up`, one after the other.
t0=$(now)
for i in $(seq 1 "$N"); do
  target/release/lab up --stack "$STACK" --project "benchup$i" --port-base $((26000 + 2 * i)) >/dev/null 2>&1
done
t1=$(now)
echo "lab up x$N in sequence: $(elapsed "$t0" "$t1") s"

# 3. docker-compose, the same 10 projects, one after the other (each `up -d` waits for the
#    healthcheck that gates the second service).
t0=$(now)
for i in $(seq 1 "$N"); do
  env LAB_PORT_WEB=$((27000 + 2 * i)) LAB_PORT_SIDE=$((27001 + 2 * i)) LAB_STUDENT="dc$i" docker-compose -p "benchdc$i" -f "$STACK" up -d >/dev/null 2>&1
done
t1=$(now)
echo "docker-compose up -d x$N in sequence: $(elapsed "$t0" "$t1") s"
