"""Alerts on business metrics: the newest rows of `analytics.channel_metric_anomalies` (per
channel and day: spend, sessions, conversions, conversion rate or CAC far from the same
weekday's usual value; docs/alerts.md) as one Slack message, POSTed to an incoming webhook.

Which rows: those of the newest `days` days the mart scored (its `evaluated_through`), so the
daily DAG's run after each load sends that day's flags, and a re-run sends the same message
again (nothing is remembered between runs, so a retried task never loses an alert).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlsplit

import psycopg2

WEBHOOK_ENV = "ALERT_WEBHOOK_URL"
MART = "analytics.channel_metric_anomalies"
MAX_LISTED = 40  # Slack takes at most 50 blocks a message; the rest are counted, not listed


class AlertError(Exception):
    """Sending the alert failed (one line, for the command line)."""


@dataclass(frozen=True)
class Anomaly:
    """One flagged row of the mart."""

    metric_date: date
    channel: str
    metric: str
    value: float
    baseline: float
    relative_change: float
    robust_score: float
    direction: str
    rule: str


def newest_anomalies(uri: str, days: int = 1, relation: str = MART) -> list[Anomaly]:
    """The flagged rows of the newest `days` days the mart scored, newest day first, then by
    how far they are from usual (largest score first)."""
    sql = f"""
        select metric_date, channel, metric, metric_value, baseline, relative_change,
               robust_score, direction, flag_rule
        from {relation}
        where metric_date > evaluated_through - %s
        order by metric_date desc, abs(robust_score) desc, channel, metric
    """
    conn = psycopg2.connect(uri)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(sql, (days,))
            return [Anomaly(row[0], row[1], row[2], float(row[3]), float(row[4]), float(row[5]),
                            float(row[6]), row[7], row[8]) for row in cur.fetchall()]
    finally:
        conn.close()


METRIC_LABELS = {"spend": "spend", "sessions": "sessions", "conversions": "conversions",
                 "conversion_rate": "conversion rate", "cac": "CAC"}


def _number(metric: str, value: float) -> str:
    if metric == "conversion_rate":
        return f"{100 * value:.2f}%"
    if metric in ("sessions", "conversions"):
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def _line(anomaly: Anomaly) -> str:
    label = METRIC_LABELS.get(anomaly.metric, anomaly.metric)
    ratio = anomaly.value / anomaly.baseline if anomaly.baseline else float("nan")
    arrow = ":arrow_up:" if anomaly.direction == "up" else ":arrow_down:"
    return (f"{arrow} *{anomaly.channel}* {label} on {anomaly.metric_date.isoformat()}: "
            f"*{_number(anomaly.metric, anomaly.value)}*, usually "
            f"{_number(anomaly.metric, anomaly.baseline)} (x{ratio:.2f}, "
            f"score {anomaly.robust_score:+.1f})")


def slack_message(anomalies: Sequence[Anomaly]) -> dict[str, Any]:
    """A Slack message (Block Kit, with `text` as the notification's fallback) listing them."""
    days = sorted({a.metric_date for a in anomalies})
    span = days[0].isoformat() if len(days) == 1 else f"{days[0]} to {days[-1]}"
    summary = (f"{len(anomalies)} channel metric{'s' if len(anomalies) != 1 else ''} "
               f"far from usual on {span}")
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Channel metric anomalies"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": summary}},
    ]
    blocks += [{"type": "section", "text": {"type": "mrkdwn", "text": _line(a)}}
               for a in anomalies[:MAX_LISTED]]
    notes = [anomalies[0].rule, f"from {MART}"]
    if len(anomalies) > MAX_LISTED:
        notes.insert(0, f"and {len(anomalies) - MAX_LISTED} more")
    blocks.append({"type": "context",
                   "elements": [{"type": "mrkdwn", "text": "; ".join(notes)}]})
    return {"text": summary, "blocks": blocks}


def post(url: str, payload: dict[str, Any], timeout: float = 10.0) -> None:
    """POST `payload` as JSON to the webhook; AlertError (naming only the host: a webhook's
    path is its secret) unless it answers 2xx."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise AlertError(f"{WEBHOOK_ENV} is not an http(s) URL")
    where = f"{parts.scheme}://{parts.netloc}"
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            response.read()
    except urllib.error.HTTPError as exc:
        body = exc.read(200).decode(errors="replace").strip()
        raise AlertError(f"the webhook at {where} answered HTTP {exc.code}"
                         + (f": {body}" if body else "")) from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise AlertError(f"could not reach the webhook at {where}: {reason}") from None
