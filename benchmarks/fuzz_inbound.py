"""Correctly signed junk and edge bodies against a running Indaba, on every inbound route.

Starts a whole Indaba as its own process (``indaba run --no-console``, as
``benchmarks/inbound.py`` does) with Slack (HTTP mode), Telegram (webhook mode) and
WhatsApp all configured against the local fakes, seeds a community with members on each
platform, then POSTs ``--per-route`` bodies to each route, every one signed as the
platform signs (Slack's ``v0`` HMAC, Telegram's secret token header, WhatsApp's
``X-Hub-Signature-256``). The bodies come from a seeded generator (``--seed``): valid
payloads as the platforms send them, the same mutated (keys dropped, values swapped for
any JSON of any type, wrong types, huge numbers, lone surrogates), random JSON, bytes
that are not UTF-8, truncated and deeply nested documents, form fields that are not
what they claim, bodies past the size limit, and signature headers that are wrong.

Prints, per route, the answers by status class — any 5xx is a failure — then whether
Indaba is alive (``/healthz``), what became of the events it stored (handled, dead),
the tracebacks in its log, and its memory (RSS) when ready, after a warm-up, at its
peak and once the inbox is empty again.

    python benchmarks/fuzz_inbound.py --database sqlite
    python benchmarks/fuzz_inbound.py --database postgres --per-route 3000
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import random
import signal
import string
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from benchmarks.members import add_members  # noqa: E402
from benchmarks.postgres import create_schema, drop_schema  # noqa: E402
from bot.engine.services import onboarding  # noqa: E402
from storage.db import create_engine, session_factory  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import InboxEvent  # noqa: E402
from storage.statuses import InboxStatus  # noqa: E402
from tests.fakes.slack_api import BOT_TOKEN, TEAM_ID, FakeSlack  # noqa: E402
from tests.fakes.telegram_api import TOKEN, FakeLimits, FakeTelegram  # noqa: E402
from tests.fakes.whatsapp_api import FakeWhatsApp  # noqa: E402
from tests.processes import free_port, wait_ready  # noqa: E402

SIGNING_SECRET = "fuzz-signing-secret"
WEBHOOK_SECRET = "fuzz_webhook-secret"
MEMBERS = 50  # per platform
BODY_LIMIT = 1024 * 1024
ROUTES = ("slack events", "slack commands", "slack interactivity", "telegram", "whatsapp")
FORM = "application/x-www-form-urlencoded"


def slack_user(i: int) -> str:
    return f"U0FUZZ{i:04d}"


def telegram_user(i: int) -> int:
    return 700_000 + i


def wa_id(i: int) -> str:
    return f"2547{i:08d}"


# -- the bodies --------------------------------------------------------------------------


class Junk:
    """Bodies for each route from one seeded random generator."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self._ids = iter(range(1, 10**9))

    # values of any shape

    def text(self, most: int = 40) -> str:
        rng = self.rng
        pick = rng.random()
        if pick < 0.5:
            alphabet = string.ascii_letters + string.digits + " /?!-_.,:"
            return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, most)))
        if pick < 0.8:
            # Any code point, lone surrogates and controls included.
            return "".join(chr(rng.randint(0, 0x10FFFF)) for _ in range(rng.randint(0, most)))
        return rng.choice(
            [
                "",
                " ",
                "/",
                "/join",
                "/join ABC-123",
                "/indaba help",
                "/start",
                "/undo",
                "1",
                "2 3",
                "99999999999999999999",
                "-1",
                "\u0000",
                "\ud800",
                "👍" * 50,
                "x" * 5000,
                "a\u202eb",
            ]
        )

    def number(self) -> int | float:
        return self.rng.choice(
            [0, -1, 1, 2**31, 2**63, -(2**63) - 1, 10**30, 1e308, -0.0, 0.5, 1e-300, 253402300800]
        )

    def value(self, depth: int = 0) -> Any:
        rng = self.rng
        pick = rng.random() if depth < 4 else rng.random() * 0.6
        if pick < 0.1:
            return None
        if pick < 0.2:
            return rng.random() < 0.5
        if pick < 0.35:
            return self.number()
        if pick < 0.6:
            return self.text()
        if pick < 0.8:
            return [self.value(depth + 1) for _ in range(rng.randint(0, 4))]
        return {self.text(10): self.value(depth + 1) for _ in range(rng.randint(0, 4))}

    def mutate(self, payload: Any, times: int = 0) -> Any:
        """``payload`` with one to three things changed somewhere inside it."""
        for _ in range(times or self.rng.randint(1, 3)):
            payload = self._mutate_once(payload)
        return payload

    def _mutate_once(self, node: Any) -> Any:
        rng = self.rng
        if isinstance(node, dict) and node and rng.random() < 0.7:
            key = rng.choice(list(node))
            pick = rng.random()
            copy = dict(node)
            if pick < 0.25:
                del copy[key]
            elif pick < 0.6:
                copy[key] = self.value()
            elif pick < 0.7:
                copy[self.text(10)] = self.value()
            else:
                copy[key] = self._mutate_once(copy[key])
            return copy
        if isinstance(node, list) and node and rng.random() < 0.7:
            copy = list(node)
            index = rng.randrange(len(copy))
            copy[index] = self._mutate_once(copy[index]) if rng.random() < 0.6 else self.value()
            return copy
        return self.value()

    def corrupt(self, body: bytes) -> bytes:
        """Bytes that do not parse as what they claim."""
        rng = self.rng
        pick = rng.random()
        if pick < 0.25 and body:
            return body[: rng.randrange(len(body))]
        if pick < 0.45:
            at = rng.randrange(len(body) + 1)
            return body[:at] + bytes(rng.randint(0x80, 0xFF) for _ in range(3)) + body[at:]
        if pick < 0.6:
            depth = rng.choice([100, 1000, 5000, 50_000])
            opener = rng.choice([b"[", b'{"a":', b'{"event":'])
            return opener * depth
        if pick < 0.7:
            return rng.choice([b"", b"null", b"[]", b"{}", b"NaN", b"Infinity", b'"x"', b"1e999"])
        if pick < 0.8:
            return b"\xef\xbb\xbf" + body  # a byte-order mark
        if pick < 0.9:
            return bytes(rng.randint(0, 255) for _ in range(rng.randint(1, 300)))
        return body.replace(b":", b"=", 1)

    def message_text(self) -> str:
        return self.text() if self.rng.random() < 0.6 else "Our borehole map is nearly done"

    # what each platform sends

    def slack_event(self) -> dict[str, Any]:
        rng = self.rng
        user = slack_user(rng.randrange(MEMBERS))
        event: dict[str, Any] = rng.choice(
            [
                {
                    "type": "message",
                    "channel_type": "im",
                    "channel": "D" + user[1:],
                    "user": user,
                    "text": self.message_text(),
                    "ts": f"{time.time():.6f}",
                },
                {
                    "type": "app_mention",
                    "channel": "C0FUZZ",
                    "user": user,
                    "text": f"<@U0BOT> {self.message_text()}",
                    "ts": f"{time.time():.6f}",
                },
                {"type": "member_joined_channel", "channel": "C0FUZZ", "user": user},
                {
                    "type": "message",
                    "subtype": "message_changed",
                    "channel": "D" + user[1:],
                    "channel_type": "im",
                    "message": {"user": user, "text": self.message_text(), "ts": "1.000001"},
                },
                {"type": "app_home_opened", "user": user, "tab": "home"},
            ]
        )
        return {
            "type": "event_callback",
            "team_id": TEAM_ID,
            "api_app_id": "A0FUZZ",
            "event_id": f"Ev{next(self._ids)}",
            "event_time": int(time.time()),
            "event": event,
        }

    def slack_command(self) -> dict[str, Any]:
        user = slack_user(self.rng.randrange(MEMBERS))
        return {
            "team_id": TEAM_ID,
            "channel_id": self.rng.choice(["D" + user[1:], "C0FUZZ"]),
            "user_id": user,
            "user_name": "someone",
            "command": "/indaba",
            "text": self.text(),
            "response_url": "https://hooks.slack.com/commands/T0/1/x",
            "trigger_id": f"{next(self._ids)}.1.x",
        }

    def slack_action(self) -> dict[str, Any]:
        user = slack_user(self.rng.randrange(MEMBERS))
        return {
            "type": "block_actions",
            "team": {"id": TEAM_ID},
            "user": {"id": user, "name": "someone"},
            "channel": {"id": "D" + user[1:]},
            "container": {"type": "message", "message_ts": "1.000001"},
            "message": {"ts": "1.000001", "text": "Is this your answer?"},
            "trigger_id": f"{next(self._ids)}.1.x",
            "response_url": "https://hooks.slack.com/actions/T0/1/x",
            "actions": [
                {
                    "type": "button",
                    "action_id": self.rng.choice(["choice:0", "choice:1", "x"]),
                    "block_id": "b",
                    "value": self.rng.choice(["yes", "no", "1", ""]),
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }

    def telegram_update(self) -> dict[str, Any]:
        rng = self.rng
        user = telegram_user(rng.randrange(MEMBERS))
        sender = {"id": user, "is_bot": False, "first_name": "Fuzz", "language_code": "en"}
        chat = rng.choice(
            [{"id": user, "type": "private"}, {"id": -100123, "type": "supergroup", "title": "CoP"}]
        )
        update_id = next(self._ids)
        message = {
            "message_id": update_id,
            "from": sender,
            "chat": chat,
            "date": int(time.time()),
            "text": self.message_text(),
        }
        return rng.choice(
            [
                {"update_id": update_id, "message": message},
                {"update_id": update_id, "edited_message": {**message, "edit_date": 1}},
                {
                    "update_id": update_id,
                    "callback_query": {
                        "id": str(update_id),
                        "from": sender,
                        "chat_instance": "1",
                        "data": rng.choice(["c:1:0", "x", "", "🙂" * 20]),
                        "message": message,
                    },
                },
                {
                    "update_id": update_id,
                    "poll_answer": {"poll_id": "1", "user": sender, "option_ids": [0, 1]},
                },
                {
                    "update_id": update_id,
                    "my_chat_member": {
                        "chat": chat,
                        "from": sender,
                        "date": 1,
                        "old_chat_member": {"user": sender, "status": "member"},
                        "new_chat_member": {"user": sender, "status": "kicked", "until_date": 0},
                    },
                },
            ]
        )

    def whatsapp_value(self, fake: FakeWhatsApp) -> dict[str, Any]:
        rng = self.rng
        member = wa_id(rng.randrange(MEMBERS))
        message: dict[str, Any] = rng.choice(
            [
                {"type": "text", "text": {"body": self.message_text()}},
                {
                    "type": "interactive",
                    "interactive": {
                        "type": "button_reply",
                        "button_reply": {"id": rng.choice(["c:1:0", "x", ""]), "title": "Yes"},
                    },
                },
                {"type": "image", "image": {"id": "1", "mime_type": "image/jpeg"}},
                {"type": "button", "button": {"text": "Reply", "payload": "reopen"}},
            ]
        )
        value: dict[str, Any] = {
            "contacts": [{"profile": {"name": "Fuzz"}, "wa_id": member}],
            "messages": [
                {
                    "from": member,
                    "id": f"wamid.FUZZ{next(self._ids)}",
                    "timestamp": str(int(time.time())),
                    **message,
                }
            ],
        }
        if rng.random() < 0.2:
            value = {
                "statuses": [
                    {
                        "id": f"wamid.OUT{rng.randrange(100)}",
                        "status": rng.choice(["sent", "delivered", "read", "failed"]),
                        "timestamp": str(int(time.time())),
                        "recipient_id": member,
                        "errors": [{"code": 131047, "title": "Re-engagement message"}],
                    }
                ]
            }
        return fake.envelope(value)

    def shaped(self, valid: Callable[[], Any]) -> Any:
        """A payload as the platform sends it, mutated most of the time."""
        pick = self.rng.random()
        if pick < 0.2:
            return valid()
        if pick < 0.85:
            return self.mutate(valid())
        return self.value()

    def json_body(self, valid: Callable[[], Any]) -> bytes:
        if self.rng.random() < 0.8:
            body = json.dumps(self.shaped(valid)).encode()
            return body if self.rng.random() < 0.85 else self.corrupt(body)
        return self.corrupt(json.dumps(valid()).encode())

    def form_body(self, valid: Callable[[], dict[str, Any]]) -> bytes:
        rng = self.rng
        fields = self.shaped(valid)
        if not isinstance(fields, dict):
            fields = {"text": fields}
        pairs = [(str(k), v if isinstance(v, str) else json.dumps(v)) for k, v in fields.items()]
        # Lone surrogates go as the bytes they would be (not UTF-8 once decoded).
        body = urlencode(pairs, encoding="utf-8", errors="surrogatepass").encode()
        if rng.random() < 0.1:
            body += b"&text=%FF%FE"  # not UTF-8 once decoded
        return body if rng.random() < 0.9 else self.corrupt(body)

    def interactivity_body(self) -> bytes:
        rng = self.rng
        pick = rng.random()
        if pick < 0.7:
            payload = json.dumps(self.shaped(self.slack_action))
        elif pick < 0.85:
            payload = rng.choice(["[1]", "null", "{", "x", "", '{"type": 1}', "[" * 5000])
        else:
            payload = json.dumps(self.value())
        body = urlencode({"payload": payload}, errors="surrogatepass").encode()
        return body if rng.random() < 0.9 else self.corrupt(body)


# -- signing and sending -----------------------------------------------------------------


def slack_headers(body: bytes, content_type: str, rng: random.Random) -> dict[str, str]:
    ts = str(int(time.time()))
    digest = hmac.new(SIGNING_SECRET.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256)
    headers = {
        "content-type": content_type,
        "x-slack-request-timestamp": ts,
        "x-slack-signature": "v0=" + digest.hexdigest(),
    }
    pick = rng.random()
    if pick < 0.01:
        headers["x-slack-request-timestamp"] = rng.choice(["abc", "", "9" * 40, "-1", "1e9"])
    elif pick < 0.02:
        headers["x-slack-signature"] = rng.choice(["", "v0=", "v0=zz", "v1=" + "0" * 64])
    elif pick < 0.03:
        headers["x-slack-retry-num"] = rng.choice(["1", "x", "-5"])
    return headers


class Sender:
    """POSTs bodies to one route of the running Indaba and counts the answers."""

    def __init__(self, base: str, fake: FakeWhatsApp, junk: Junk) -> None:
        self.base = base
        self.fake = fake
        self.junk = junk
        self.statuses: dict[str, Counter[str]] = {route: Counter() for route in ROUTES}
        self.five_hundreds: list[tuple[str, int, bytes]] = []

    def request(self, route: str) -> tuple[str, bytes, dict[str, str]]:
        junk, rng = self.junk, self.junk.rng
        if route == "slack events":
            body = junk.json_body(junk.slack_event)
            return "/slack/events", body, slack_headers(body, "application/json", rng)
        if route == "slack commands":
            body = junk.form_body(junk.slack_command)
            return "/slack/events", body, slack_headers(body, FORM, rng)
        if route == "slack interactivity":
            body = junk.interactivity_body()
            return "/slack/events", body, slack_headers(body, FORM, rng)
        if route == "telegram":
            body = junk.json_body(junk.telegram_update)
            secret = (
                WEBHOOK_SECRET
                if rng.random() > 0.02
                else rng.choice(["", "wrong", "with space", "x" * 300])
            )
            headers = {"content-type": "application/json"}
            if secret:
                headers["x-telegram-bot-api-secret-token"] = secret
            return "/telegram/webhook", body, headers
        body = junk.json_body(lambda: junk.whatsapp_value(self.fake))
        signature = self.fake.sign(body)
        if rng.random() < 0.02:
            signature = rng.choice(["", "sha256=", "sha1=abc", "sha256=" + "0" * 64])
        headers = {"content-type": "application/json", "x-hub-signature-256": signature}
        return "/whatsapp/webhook", body, headers

    def oversized(self, route: str) -> tuple[str, bytes, dict[str, str]]:
        path, body, headers = self.request(route)
        body = b'{"x": "' + b"a" * (BODY_LIMIT + 1024) + b'"}'
        if route.startswith("slack"):
            headers = slack_headers(body, headers["content-type"], random.Random(0))
        elif route == "whatsapp":
            headers["x-hub-signature-256"] = self.fake.sign(body)
        return path, body, headers

    async def send(
        self, client: httpx.AsyncClient, route: str, request: tuple[str, bytes, dict[str, str]]
    ) -> None:
        path, body, headers = request
        try:
            response = await client.post(self.base + path, content=body, headers=headers)
        except httpx.TransportError as error:
            self.statuses[route][f"no answer ({type(error).__name__})"] += 1
            return
        status = response.status_code
        self.statuses[route][
            f"{status // 100}xx" if status not in (401, 403, 413) else str(status)
        ] += 1
        if status >= 500:
            self.five_hundreds.append((route, status, body[:300]))

    async def run(self, client: httpx.AsyncClient, per_route: int, concurrency: int) -> None:
        queue: asyncio.Queue[tuple[str, tuple[str, bytes, dict[str, str]]]] = asyncio.Queue()
        for route in ROUTES:
            for n in range(per_route):
                # A few bodies past the limit on each route (413, read no further).
                request = self.oversized(route) if n % 1000 == 999 else self.request(route)
                queue.put_nowait((route, request))

        async def worker() -> None:
            while not queue.empty():
                route, request = queue.get_nowait()
                await self.send(client, route, request)

        await asyncio.gather(*(worker() for _ in range(concurrency)))


# -- the running Indaba -----------------------------------------------------------------


def rss(pid: int) -> tuple[float, float]:
    """The process's resident memory now and at its peak, in MiB."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


async def database(kind: str, folder: Path) -> tuple[str, str | None]:
    if kind == "sqlite":
        return f"sqlite+aiosqlite:///{folder / 'indaba.db'}", None
    return await create_schema("fuzz")


async def seed(url: str) -> None:
    """A community with members on each platform, so valid events reach the engine."""
    db = create_engine(url)
    await upgrade(db)
    now = datetime.now(UTC)
    async with session_factory(db)() as session, session.begin():
        community = await onboarding.create_community(session, "Fuzz CoP", "UTC", "en", now)
        await add_members(session, community, MEMBERS, "slack", slack_user, now)
        await add_members(
            session, community, MEMBERS, "telegram", lambda i: str(telegram_user(i)), now
        )
        await add_members(session, community, MEMBERS, "whatsapp", wa_id, now)
    await db.dispose()


async def inbox_counts(url: str) -> Counter[str]:
    db = create_engine(url)
    try:
        async with session_factory(db)() as session:
            rows = await session.execute(
                select(InboxEvent.status, func.count()).group_by(InboxEvent.status)
            )
            return Counter({str(status): int(n) for status, n in rows.all()})
    finally:
        await db.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--per-route", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--seed", type=int, default=10)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(os.environ.get("KEEP_DIR") or tmp)
        folder.mkdir(exist_ok=True)  # noqa: ASYNC240
        url, schema = await database(args.database, folder)
        await seed(url)
        slack = FakeSlack()
        for i in range(MEMBERS):
            slack.add_user(slack_user(i), f"Fuzz {i}")
        await slack.start()
        telegram = await FakeTelegram(limits=FakeLimits(per_second=1000)).start()
        for i in range(MEMBERS):
            telegram.user(telegram_user(i), f"Fuzz {i}")
            telegram.started.add(telegram_user(i))
        whatsapp = FakeWhatsApp()
        await whatsapp.start()
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("INDABA_")},
            "INDABA_DATABASE_URL": url,
            "INDABA_DATA_DIR": str(folder),
            "INDABA_HTTP_PORT": str(port),
            "INDABA_LOG_LEVEL": "INFO",
            "INDABA_SLACK_BOT_TOKEN": BOT_TOKEN,
            "INDABA_SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "INDABA_SLACK_API_URL": slack.url,
            "INDABA_TELEGRAM_BOT_TOKEN": TOKEN,
            "INDABA_TELEGRAM_API_URL": telegram.url,
            "INDABA_TELEGRAM_WEBHOOK_URL": f"{base}/telegram/webhook",
            "INDABA_TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
            **whatsapp.indaba_settings("fuzz-verify"),
        }
        log_path = folder / "indaba.log"
        with log_path.open("ab") as log:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", "--no-console", "--no-demo",
                env=env, cwd=ROOT, stdout=log, stderr=log,
            )  # fmt: skip
        junk = Junk(args.seed)
        sender = Sender(base, whatsapp, junk)
        limits = httpx.Limits(max_connections=args.concurrency)
        try:
            async with httpx.AsyncClient(limits=limits, timeout=60) as client:
                await wait_ready(base, 60, f"; see {log_path}")
                ready, _ = rss(process.pid)
                # A warm-up (every route, every kind of body) so that what is loaded
                # once on first use is not counted as growth.
                await Sender(base, whatsapp, Junk(args.seed + 1)).run(client, 100, args.concurrency)
                await settle(url)
                warm, _ = rss(process.pid)
                started = time.perf_counter()
                await sender.run(client, args.per_route, args.concurrency)
                elapsed = time.perf_counter() - started
                _, peak = rss(process.pid)
                await settle(url)
                await asyncio.sleep(2)
                after, _ = rss(process.pid)
                alive = (await client.get(f"{base}/healthz")).status_code == 200
                alive = alive and process.returncode is None
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(process.wait(), 20)
                except TimeoutError:
                    process.kill()
            counts = await inbox_counts(url)
            await slack.aclose()
            await telegram.aclose()
            await whatsapp.aclose()
            if schema is not None:
                await drop_schema(schema)
        logged = log_path.read_text(errors="replace")

    total = args.per_route * len(ROUTES)
    print(
        f"{args.database}: {total} signed bodies ({args.per_route} per route, seed {args.seed}, "
        f"{args.concurrency} at once) in {elapsed:.0f} s"
    )
    for route in ROUTES:
        answers = ", ".join(f"{k}: {v}" for k, v in sorted(sender.statuses[route].items()))
        print(f"  {route:<20} {answers}")
    fives = sum(n for c in sender.statuses.values() for k, n in c.items() if k == "5xx")
    print(f"  5xx: {fives}")
    for route, status, body in sender.five_hundreds[:10]:
        print(f"    {route} {status}: {body!r}")
    print(f"  alive after: {'yes' if alive else 'NO'}")
    print("  inbox: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    print(f"  tracebacks in the log: {logged.count('Traceback')}")
    print(
        f"  RSS: {ready:.0f} MiB ready, {warm:.0f} MiB after the warm-up, "
        f"peak {peak:.0f} MiB, {after:.0f} MiB after ({after - warm:+.0f} MiB)"
    )


async def settle(url: str, within: float = 600) -> None:
    """Wait until nothing waits in the inbox."""
    db = create_engine(url)
    try:
        async with session_factory(db)() as session:
            for _ in range(int(within / 0.25)):
                waiting = await session.scalar(
                    select(func.count(InboxEvent.id)).where(
                        InboxEvent.status.in_([InboxStatus.PENDING, InboxStatus.HANDLING])
                    )
                )
                await session.rollback()
                if not waiting:
                    return
                await asyncio.sleep(0.25)
    finally:
        await db.dispose()


if __name__ == "__main__":
    asyncio.run(main())
