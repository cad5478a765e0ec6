#!/usr/bin/env bash
# Where a worker's memory lives after folding a synthetic log: the top of a tracemalloc
# snapshot by file, taken when the worker stops idle. Usage: heap-snapshot.sh EVENTS YEARS
# (500 dyads; embedded broker; prints the snapshot). Used for docs/PERFORMANCE.md.
set -euo pipefail
cd "$(dirname "$0")/.."
events="${1:?events}" years="${2:?years}" work="$(mktemp -d)"
port="$(.venv/bin/python -c 'from infra.brokers.tansu import free_port; print(free_port())')"
.venv/bin/dipwatch broker --port "$port" >"$work/broker.log" 2>&1 &
broker=$!
trap 'kill $broker 2>/dev/null; rm -rf "$work"' EXIT
export DIPWATCH_BOOTSTRAP_SERVERS="127.0.0.1:$port" DIPWATCH_LOG_LEVEL=warning
export DIPWATCH_TOPIC_PREFIX="heap$events" DIPWATCH_APP_ID="heap$events" DIPWATCH_DATA_DIR="$work/data"
.venv/bin/python - "$events" "$years" "$work/events.jsonl" <<'PY'
import sys
from bench.generate import Shape, generate
from schemas.codec import encode_event
with open(sys.argv[3], "wb") as out:
    for event in generate(Shape(int(sys.argv[1]), 500, float(sys.argv[2]), 1.1, 7)):
        out.write(encode_event(event) + b"\n")
PY
.venv/bin/dipwatch replay "$work/events.jsonl" >/dev/null
TRACE_OUT="$work/heap.txt" .venv/bin/python - <<'PY' >"$work/worker.log" 2>&1
import atexit, os, tracemalloc
tracemalloc.start(1)
def dump() -> None:
    stats = tracemalloc.take_snapshot().statistics("filename")
    with open(os.environ["TRACE_OUT"], "w") as out:
        out.write(f"total {sum(s.size for s in stats) / 2**20:.1f} MiB\n")
        for s in stats[:20]:
            out.write(f"{s.size / 2**20:8.2f} MiB {s.traceback[0].filename}\n")
atexit.register(dump)
from dipwatch.cli import main
main(["worker", "--idle-timeout", "8"])
PY
cat "$work/heap.txt"
