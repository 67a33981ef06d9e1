"""compose.yaml: PostgreSQL, Redis, the schema once, and two Indaba replicas that share
them, each started only when what it needs is ready. Docker is not run here: the file's
structure is checked, and every Indaba setting it sets is one Indaba reads."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from bot.app.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def interpolated(value: str) -> str:
    """Compose's ``${NAME:-default}`` as it is with NAME unset."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)


def replicas(services: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in services.items()
        if service.get("command", [None])[0] == "run"
    }


def test_the_services_and_what_each_waits_for() -> None:
    services = compose()["services"]
    assert {"postgres", "redis", "migrate"} <= set(services)
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")
    for name in ("postgres", "redis"):
        assert services[name]["healthcheck"]["test"], name
    # The schema is upgraded once, by a one-off service, never by the replicas at once.
    assert services["migrate"]["command"] == ["db", "upgrade"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    running = replicas(services)
    assert len(running) == 2
    ports = set()
    for name, service in running.items():
        assert "--migrate" not in service["command"], name
        assert service["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"},
            "postgres": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
        }, name
        assert service["build"] == "." and service["image"] == services["migrate"]["image"]
        (published,) = service["ports"]
        ports.add(published.split(":")[0])
    assert len(ports) == 2  # each replica's HTTP server on a port of its own


def test_the_replicas_share_one_database_and_one_redis() -> None:
    services = compose()["services"]
    postgres = services["postgres"]["environment"]
    urls = set()
    for name, service in {**replicas(services), "migrate": services["migrate"]}.items():
        environment = {
            key: interpolated(str(value)) for key, value in service["environment"].items()
        }
        # Only settings Indaba has, and values it accepts (a wrong one stops start-up).
        fields = {f"INDABA_{field.upper()}" for field in Settings.model_fields}
        assert set(environment) <= fields, (name, set(environment) - fields)
        settings = Settings(
            database_url=environment["INDABA_DATABASE_URL"],
            redis_url=environment.get("INDABA_REDIS_URL", ""),
        )
        urls.add(settings.database_url)
        if name != "migrate":
            assert settings.redis_url == "redis://redis:6379/0", name
    (url,) = urls
    user = postgres["POSTGRES_USER"]
    password = interpolated(postgres["POSTGRES_PASSWORD"])
    assert url == f"postgresql+asyncpg://{user}:{password}@postgres:5432/{postgres['POSTGRES_DB']}"


def test_the_image_runs_indaba_commands() -> None:
    """The services' commands are ``indaba`` subcommands: the image's entry point."""
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert 'ENTRYPOINT ["indaba"]' in dockerfile
