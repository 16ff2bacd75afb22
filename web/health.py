"""`/healthz`, `/metrics`, and the request id every log line of a request carries.

`install(app)` adds them to an app: a Prometheus registry of its own (no
global state: two apps in one process, as in the tests, count apart), a
latency histogram per endpoint, and a request id per request -- the client's
`X-Request-ID` when it is a sane token, else a fresh one -- sent back in the
response and written on every log line (`minyi.logs`, `store.ops.logctx`).

The figures that must agree across processes (intake, outbox backlog and
age, deliveries by outcome) are read from the database at scrape time by
`store.ops.health`; only request latency is this process's own.

/metrics is for the office's monitoring, not the public: with `METRICS_TOKEN`
set it wants `Authorization: Bearer <token>`; without it, only a request
made on this machine directly (loopback address, no proxy's forwarding
header) is answered. Anything else gets 403.
"""

from __future__ import annotations

import hmac
import logging
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Flask, Response, abort, current_app, g, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from store.db import reading
from store.ops import health, logctx
from web import edge

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)

REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
LOOPBACK = {"127.0.0.1", "::1"}


class Figures(Collector):
    """The database's figures, read afresh at every scrape."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        wiring: edge.Wiring = self.app.extensions["minyi"]
        up = GaugeMetricFamily("minyi_database_up", "1 when the database answers, else 0")
        sending = GaugeMetricFamily("minyi_channel_sending",
                                    "1 when a channel's messages may go out now", labels=["channel"])
        for channel in wiring.channels:
            sending.add_metric([channel.kind.value], 1.0 if channel.sending else 0.0)
        yield sending
        try:
            # A deferred read: never queued behind a writer for SQLite's write lock.
            with reading(wiring.session_factory) as s:
                intake = health.intake_by_channel(s)
                waiting = health.backlog(s)
                by_channel = health.backlog_by_channel(s)
                outcomes = health.deliveries(s)
        except sa.exc.SQLAlchemyError:
            log.exception("metrics: the database did not answer")
            up.add_metric([], 0.0)
            yield up
            return
        up.add_metric([], 1.0)
        yield up
        reports = CounterMetricFamily("minyi_intake_reports", "Reports received, by channel",
                                      labels=["channel"])
        for name, n in sorted(intake.items()):
            reports.add_metric([name], n)
        yield reports
        backlog = GaugeMetricFamily("minyi_outbox_backlog", "Outbox messages not yet sent",
                                    labels=["channel"])
        for name, n in sorted(by_channel.items()):
            backlog.add_metric([name], n)
        yield backlog
        yield GaugeMetricFamily("minyi_outbox_oldest_pending_age_seconds",
                                "Age of the oldest outbox message not yet sent (0: none)",
                                value=waiting.oldest_age_seconds)
        delivered = GaugeMetricFamily(
            "minyi_outbox_messages", "Outbox messages by outcome (sent, dead, retrying, pending, sending)",
            labels=["outcome"])
        for name, n in sorted(outcomes.items()):
            delivered.add_metric([name], n)
        yield delivered


def install(app: Flask) -> None:
    """Give `app` its registry, request ids, latency histogram, /healthz and /metrics."""
    registry = CollectorRegistry()  # Figures is not collected at registration: no query at start-up
    latency = Histogram("minyi_request_duration_seconds", "Time to answer a request, by endpoint",
                        ["endpoint", "method"], registry=registry)
    registry.register(Figures(app))
    app.extensions["minyi.metrics"] = registry

    @app.before_request
    def begin() -> None:
        given = request.headers.get("X-Request-ID", "")
        g.request_id = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        g.request_started = time.perf_counter()
        g.log_token = logctx.current.set(f"req={g.request_id}")

    @app.after_request
    def end(resp: Response) -> Response:
        started = g.pop("request_started", None)
        if started is not None:
            elapsed = time.perf_counter() - started
            latency.labels(request.endpoint or "unmatched", request.method).observe(elapsed)
            log.info("%s %s %s %.1fms", request.method, request.path, resp.status_code, elapsed * 1000)
        if "request_id" in g:
            resp.headers["X-Request-ID"] = g.request_id
        return resp

    @app.teardown_request
    def untag(_exc: BaseException | None) -> None:
        token = g.pop("log_token", None)
        if token is not None:
            logctx.current.reset(token)

    app.register_blueprint(bp)


@bp.get("/healthz")
def healthz() -> Any:
    """Database, channels and outbox backlog as JSON: 200 while the database answers, else 503."""
    wiring = edge.wiring()
    channels = {c.kind.value: {"name": c.name, "state": "sending" if c.sending else "paused"}
                for c in wiring.channels}
    body: dict[str, Any] = {"channels": channels}
    try:
        with reading(wiring.session_factory) as s:
            ok = health.database_ok(s)
            waiting = health.backlog(s)
    except sa.exc.SQLAlchemyError as exc:
        log.error("healthz: the database did not answer: %s", type(exc).__name__)
        body.update(status="down", database={"ok": False, "error": type(exc).__name__})
        return jsonify(body), 503
    body.update(status="ok" if ok else "down", database={"ok": ok},
                outbox={"backlog": waiting.count,
                        "oldest_pending_age_seconds": round(waiting.oldest_age_seconds, 1)})
    return jsonify(body), 200 if ok else 503


@bp.get("/metrics")
def metrics() -> Response:
    if not _may_scrape():
        abort(403, description="Metrics are for monitoring: send the METRICS_TOKEN as a bearer "
                               "token, or ask from the server itself.")
    registry: CollectorRegistry = current_app.extensions["minyi.metrics"]
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


def _may_scrape() -> bool:
    token = edge.settings().metrics_token
    if token:
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())
    forwarded = any(h in request.headers for h in ("X-Forwarded-For", "Forwarded", "X-Real-IP"))
    return request.remote_addr in LOOPBACK and not forwarded
