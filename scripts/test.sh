#!/usr/bin/env bash
# Sets up .venv when needed, then runs the checks: ruff, mypy, and the whole test suite
# on SQLite and (when reachable, or always when INDABA_REQUIRE_POSTGRES=1) on PostgreSQL.
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

echo "== mypy (strict)"
.venv/bin/mypy

echo "== tests on SQLite"
.venv/bin/python -m pytest -q -p no:cacheprovider

PG_URL=${INDABA_TEST_POSTGRES_URL:-postgresql+asyncpg://postgres@127.0.0.1:5432/test}
if .venv/bin/python - "$PG_URL" <<'PY'
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
then
  echo "== tests on PostgreSQL"
  INDABA_TEST_DATABASE_URL="$PG_URL" .venv/bin/python -m pytest -q -p no:cacheprovider
elif [ "${INDABA_REQUIRE_POSTGRES:-0}" = "1" ]; then
  echo "PostgreSQL is required but not reachable" >&2
  exit 1
else
  echo "== PostgreSQL not reachable: its run is skipped (set INDABA_REQUIRE_POSTGRES=1 to fail instead)"
fi
echo "== all checks passed"
