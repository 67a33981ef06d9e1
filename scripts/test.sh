#!/usr/bin/env bash
# Sets up .venv when needed, then runs the checks: ruff, then at the same time mypy and
# the whole test suite on SQLite and (when reachable, or always when
# INDABA_REQUIRE_POSTGRES=1) on PostgreSQL. Many tests wait on timers, subprocesses or
# the database, so the three share the cores well. Each part's output is kept apart and
# printed whole once it is done; the script fails when any part does.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev]'

echo "== ruff"
.venv/bin/ruff check bot storage adapters migrations tests benchmarks
.venv/bin/ruff format --check bot storage adapters migrations tests benchmarks

PG_URL=${INDABA_TEST_POSTGRES_URL:-postgresql+asyncpg://postgres@127.0.0.1:5432/test}
postgres=1
.venv/bin/python - "$PG_URL" <<'PY' || postgres=0
import asyncio, sys
import asyncpg
url = sys.argv[1].replace("postgresql+asyncpg://", "postgresql://")
async def main() -> None:
    connection = await asyncpg.connect(url, timeout=5)
    await connection.close()
try:
    asyncio.run(main())
except Exception as error:
    print(f"PostgreSQL not reachable at {url}: {error}", file=sys.stderr)
    sys.exit(1)
PY
if [ "$postgres" = 0 ] && [ "${INDABA_REQUIRE_POSTGRES:-0}" = "1" ]; then
  echo "PostgreSQL is required but not reachable" >&2
  exit 1
fi

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

# start NAME COMMAND...: run COMMAND in the background, its output in $work/NAME.log.
start() {
  local name=$1
  shift
  "$@" >"$work/$name.log" 2>&1 &
  pids+=($!)
  echo $! >"$work/$name.pid"
}

start mypy .venv/bin/mypy
start sqlite .venv/bin/python -m pytest -q -p no:cacheprovider --basetemp "$work/sqlite-tmp"
if [ "$postgres" = 1 ]; then
  start postgres env INDABA_TEST_DATABASE_URL="$PG_URL" \
    .venv/bin/python -m pytest -q -p no:cacheprovider --basetemp "$work/postgres-tmp"
fi

failed=()
# report NAME TITLE: wait for NAME, then print its output under TITLE.
report() {
  local code=0
  wait "$(cat "$work/$1.pid")" || code=$?
  echo "== $2"
  cat "$work/$1.log"
  if [ "$code" != 0 ]; then
    echo "== $2 failed (exit code $code)"
    failed+=("$2")
  fi
}

report mypy "mypy (strict)"
report sqlite "tests on SQLite"
if [ "$postgres" = 1 ]; then
  report postgres "tests on PostgreSQL"
else
  echo "== PostgreSQL not reachable: its run is skipped (set INDABA_REQUIRE_POSTGRES=1 to fail instead)"
fi

if [ "${#failed[@]}" != 0 ]; then
  printf '== failed: %s\n' "${failed[@]}"
  exit 1
fi
echo "== all checks passed"
