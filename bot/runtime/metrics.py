"""Prometheus metrics of one Indaba process (own registry, so tests can run many)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.sent = Counter(
            "indaba_outbox_sent",
            "Messages delivered to a platform",
            ["platform"],
            registry=self.registry,
        )
        # Re-opening templates (what WhatsApp bills per message), by community.
        self.templates = Counter(
            "indaba_templates_sent",
            "Re-opening templates delivered (billed messages on WhatsApp)",
            ["platform", "community"],
            registry=self.registry,
        )
        self.retried = Counter(
            "indaba_outbox_retried",
            "Deliveries that failed and will be retried",
            ["platform"],
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "indaba_outbox_rate_limited",
            "Deliveries the platform asked us to delay",
            ["platform"],
            registry=self.registry,
        )
        self.dead = Counter(
            "indaba_outbox_dead",
            "Messages parked as dead after repeated failures",
            ["platform"],
            registry=self.registry,
        )
        self.unreachable = Counter(
            "indaba_outbox_unreachable",
            "Messages to addresses that cannot be reached",
            ["platform"],
            registry=self.registry,
        )
        self.timetable_runs = Counter(
            "indaba_timetable_runs",
            "Timetable steps run or skipped",
            ["step", "outcome"],
            registry=self.registry,
        )
        self.inbound = Counter(
            "indaba_inbound_events",
            "Inbound events stored (re-deliveries included)",
            ["platform", "kind"],
            registry=self.registry,
        )
        self.inbox_dead = Counter(
            "indaba_inbox_dead",
            "Inbound events parked as dead after repeated failures",
            ["platform"],
            registry=self.registry,
        )
        self.inbox_depth = Gauge(
            "indaba_inbox_depth",
            "Inbound events in the inbox, by status (done ones not counted)",
            ["status"],
            registry=self.registry,
        )
        self.outbox_depth = Gauge(
            "indaba_outbox_depth",
            "Messages waiting in the outbox",
            ["status"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
