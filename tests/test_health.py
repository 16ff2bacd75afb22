"""/healthz, /metrics (Prometheus) and log lines tagged with the request or update id."""

from __future__ import annotations

import dataclasses
import io
import json
import logging
from datetime import timedelta

import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from minyi import logs
from minyi.settings import ConfigError, Settings
from store.db import make_engine, make_sessionmaker
from store.models import Conversation, OutboxMessage, OutboxStatus, Reporter, utcnow
from tests.domain_support import make_report


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def owe(session, reporter: Reporter, minutes_ago: int, status=OutboxStatus.PENDING, attempts=0):
    session.add(OutboxMessage(reporter_id=reporter.id, channel=reporter.channel, chat_id=reporter.chat_id,
                              text="x", status=status, attempts=attempts,
                              created_at=utcnow() - timedelta(minutes=minutes_ago)))
    session.commit()


@pytest.fixture
def captured():
    """Log lines as `minyi.logs` writes them, for the test to read."""
    stream = io.StringIO()
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    logs.configure("kv", stream=stream)
    yield stream
    for h in list(root.handlers):
        root.removeHandler(h)
    for h in before:
        root.addHandler(h)
    root.setLevel(level)


def test_it_reports_database_channels_and_backlog(client, session, point):
    report = make_report(session, point)
    session.execute(sa.delete(OutboxMessage))
    session.commit()
    owe(session, report.reporter, minutes_ago=30)
    owe(session, report.reporter, minutes_ago=5, status=OutboxStatus.SENT)

    resp = client.get("/healthz")

    assert resp.status_code == 200
    body = resp.get_json()
    assert body["status"] == "ok" and body["database"] == {"ok": True}
    assert body["channels"]["web"]["state"] == "sending"
    assert body["outbox"]["backlog"] == 1
    assert 30 * 60 - 5 <= body["outbox"]["oldest_pending_age_seconds"] <= 30 * 60 + 60


def test_it_answers_503_when_the_database_is_down(settings, tmp_path):
    from web import create_app

    gone = make_sessionmaker(make_engine(f"sqlite:///{tmp_path}/no/such/dir/db.sqlite3"))
    app = create_app(settings, session_factory=gone)

    resp = app.test_client().get("/healthz")

    assert resp.status_code == 503
    body = resp.get_json()
    assert body["status"] == "down" and body["database"]["ok"] is False
    assert "web" in body["channels"]


def test_it_counts_intake_backlog_deliveries_and_latency(client, session, point):
    make_report(session, point)
    report = make_report(session, point, external_id="2")
    session.execute(sa.delete(OutboxMessage))
    session.commit()
    owe(session, report.reporter, minutes_ago=10)
    owe(session, report.reporter, minutes_ago=10, attempts=2)
    owe(session, report.reporter, minutes_ago=10, status=OutboxStatus.SENT)
    owe(session, report.reporter, minutes_ago=10, status=OutboxStatus.DEAD)
    client.get("/login")

    resp = client.get("/metrics")

    assert resp.status_code == 200 and resp.mimetype == "text/plain"
    got = samples(resp.get_data(as_text=True))
    channel = report.reporter.channel.value
    assert got[("minyi_intake_reports_total", (("channel", channel),))] == 2
    assert got[("minyi_outbox_backlog", (("channel", channel),))] == 2
    assert got[("minyi_outbox_oldest_pending_age_seconds", ())] >= 600
    for outcome, n in {"pending": 1, "retrying": 1, "sent": 1, "dead": 1}.items():
        assert got[("minyi_outbox_messages", (("outcome", outcome),))] == n
    assert got[("minyi_database_up", ())] == 1
    assert got[("minyi_request_duration_seconds_count",
                (("endpoint", "auth.login"), ("method", "GET")))] == 1


def test_it_keeps_each_apps_metrics_apart(settings, Session_):
    from web import create_app

    first, second = (create_app(settings, session_factory=Session_) for _ in range(2))
    first.test_client().get("/login")

    seen = samples(second.test_client().get("/metrics").get_data(as_text=True))

    assert ("minyi_request_duration_seconds_count", (("endpoint", "auth.login"), ("method", "GET"))) not in seen


def test_it_refuses_metrics_through_a_proxy_without_a_token(client):
    resp = client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})

    assert resp.status_code == 403
    assert b"minyi_" not in resp.data
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 403


def test_it_wants_the_bearer_token_when_one_is_set(settings, Session_):
    from web import create_app

    app = create_app(dataclasses.replace(settings, metrics_token="s3cret-metrics"), session_factory=Session_)
    c = app.test_client()

    assert c.get("/metrics").status_code == 403
    assert c.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    ok = c.get("/metrics", headers={"Authorization": "Bearer s3cret-metrics",
                                    "X-Forwarded-For": "203.0.113.9"})
    assert ok.status_code == 200 and b"minyi_database_up 1.0" in ok.data


def test_it_tags_a_requests_log_line_with_its_request_id(client, captured):
    resp = client.get("/login", headers={"X-Request-ID": "abc-123"})
    fresh = client.get("/login", headers={"X-Request-ID": "bad id; rm -rf /"})

    assert resp.headers["X-Request-ID"] == "abc-123"
    made = fresh.headers["X-Request-ID"]
    assert made != "bad id; rm -rf /" and len(made) == 32
    lines = captured.getvalue().splitlines()
    assert any("event=\"req=abc-123\"" in line and "GET /login 200" in line for line in lines)
    assert any(f"event=\"req={made}\"" in line for line in lines)


def test_it_tags_the_engines_log_lines_with_the_update_id(chat, Session_, captured):
    chat.command("start")
    with Session_() as s, s.begin():
        s.execute(sa.update(Conversation).values(mode="no-such-mode"))

    replies = chat.send(text="你好", update_id="u-77")

    assert replies  # recovered to the menu, and told
    line = next(line for line in captured.getvalue().splitlines() if "recovered" in line)
    assert 'event="upd=telegram:u-77"' in line and "level=warning" in line


def test_it_writes_one_json_object_per_line(captured):
    stream = io.StringIO()
    logs.configure("json", stream=stream)
    logging.getLogger("minyi.test").error("two\nlines 中文")

    (line,) = stream.getvalue().splitlines()
    record = json.loads(line)
    assert record["msg"] == "two\nlines 中文" and record["level"] == "error" and record["event"] == "-"


def test_it_refuses_an_unknown_log_format():
    with pytest.raises(ConfigError, match="LOG_FORMAT"):
        Settings.from_env({"LOG_FORMAT": "xml"}, dotenv=False)
    assert Settings.from_env({"LOG_FORMAT": "JSON", "METRICS_TOKEN": "t"}, dotenv=False).log_format == "json"


def test_it_tags_a_deliverys_log_line_with_its_outbox_row(settings, Session_, session, captured):
    import asyncio

    from bot.channels import registry
    from minyi.notifier import Notifier
    from store.delivery import outbox
    from store.models import Channel

    reporter = Reporter(channel=Channel.WEB, external_id="w-log", chat_id="w-log")
    session.add(reporter)
    session.flush()
    msg = outbox.enqueue(session, reporter, "已采用，号码 13800000000")
    session.commit()

    asyncio.run(Notifier(settings, Session_, registry(settings, Session_, telegram_bot=None)).tick())

    line = next(line for line in captured.getvalue().splitlines() if "outbox row" in line)
    assert f'event="out={msg.id}"' in line and f"outbox row {msg.id} on web: sent" in line
    assert "13800000000" not in captured.getvalue()  # what was said stays out of the logs
