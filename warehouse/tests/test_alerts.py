"""Alerts on business metrics: channel_metric_anomalies on generated data with planted
incidents, and `warehouse alert` against a local HTTP receiver standing in for Slack.

One build of what the mart needs (`+channel_metric_anomalies`) at scale 1, the default data
set's scale: the default data set flags nothing (whole history), so whatever the planted one
flags was planted. Google's conversions average under 10 a day at this scale, below the 20
a counted metric needs by default (anomaly_min_count), so its lost transactions are flagged
only with the var lowered (scale 3 would do it with the default, at three times the cost,
and with Naver's September campaign, a real change, flagged as well).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from click.testing import CliRunner

from warehouse.alerts import MAX_LISTED, Anomaly, slack_message
from warehouse.cli import main
from warehouse.generator import generate
from warehouse.loader import load

from .conftest import DbtProject
from .test_load_order_properties import reset

pytestmark = pytest.mark.e2e

SCALE = 1
MODELS = ("int_channel_metrics_daily", "channel_metric_anomalies")


class Receiver:
    """A local HTTP server that records each POST's JSON body and answers `status`."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.bodies: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers["Content-Length"])
                receiver.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(receiver.status)
                self.end_headers()
                self.wfile.write(b"ok" if receiver.status == 200 else b"invalid_token")

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/services/T000/B000/secret"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def planted(dbt_project: DbtProject, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The planted data set loaded, then the next day's sessions without its ad spend (a load
    halfway through 2019-12-01), and what the mart needs built; the manifest and the next
    day's files."""
    data, next_day = tmp_path_factory.mktemp("planted"), tmp_path_factory.mktemp("next-day")
    manifest = generate(data, scale=SCALE, plant_anomalies=True)
    generate(next_day, scale=SCALE, plant_anomalies=True, since=_date("2019-12-01"),
             until=_date("2019-12-01"))
    uri = dbt_project.warehouse.uri()
    # built from nothing, whatever the worker's earlier test files left in the warehouse (once,
    # after several of them, this full refresh of a few models took eight minutes)
    reset(dbt_project)
    load(uri, data)
    load(uri, next_day, append=True, tables=["user_session_channel", "session_timestamp"])
    dbt_project.dbt("run", "--full-refresh", "--select", "+channel_metric_anomalies")
    return {"manifest": manifest, "next_day": next_day}


def _flagged(project: DbtProject) -> set[tuple[str, str, str]]:
    return {(str(channel), str(metric), day.isoformat()) for channel, metric, day in project.query(
        "select channel, metric, metric_date from analytics.channel_metric_anomalies")}


def _alert(project: DbtProject, *args: str, url: str | None = None) -> Any:
    env = {"ALERT_WEBHOOK_URL": url or ""}
    return CliRunner().invoke(main, ["alert", "--uri", project.warehouse.uri(), *args], env=env)


NEWEST = "select max(metric_date)::text from staging.int_channel_metrics_daily"


def test_only_complete_days_with_enough_volume_are_scored(
    dbt_project: DbtProject, planted: dict[str, Any]
) -> None:
    """2019-12-01's sessions are in, its ad spend is not: the day is left out. Google's
    conversions average under 20 a day: its lost transactions are not scored."""
    assert dbt_project.query(NEWEST)[0][0] == "2019-11-30"
    assert _flagged(dbt_project) == {("Naver", "spend", "2019-11-30")}
    [(direction, change, score, through)] = dbt_project.query(
        "select direction, relative_change, robust_score, evaluated_through "
        "from analytics.channel_metric_anomalies")
    assert direction == "up" and change + 1 > 5 and score >= 4  # ten times the day's draw
    assert through.isoformat() == "2019-11-30"


def test_planted_incidents_are_flagged_and_nothing_else_with_the_warn_test_naming_them(
    dbt_project: DbtProject, planted: dict[str, Any]
) -> None:
    """With the minimum count lowered to 8, Google's lost transactions are scored too: the
    mart holds exactly the planted incidents (the rest of the data set is the default one,
    which flags nothing), and the warn-level test names the three rows."""
    result = dbt_project.dbt("build", "--select", "channel_metric_anomalies",
                             "--vars", "{anomaly_min_count: 8}")
    expected = {(p["channel"], p["metric"], p["date"]) for p in planted["manifest"].planted}
    assert expected == {("Naver", "spend", "2019-11-30"), ("Google", "conversions", "2019-11-27"),
                        ("Google", "conversion_rate", "2019-11-27")}
    assert _flagged(dbt_project) == expected
    for direction, change, score in dbt_project.query(
            "select direction, relative_change, robust_score "
            "from analytics.channel_metric_anomalies where channel = 'Google'"):
        assert direction == "down" and change == -1 and score <= -4  # none: a hundredth
    assert "Warning in test assert_channel_metrics_were_usual_last_week" in result.stdout
    assert "Got 3 results" in result.stdout and "ERROR=0" in result.stdout


def test_alert_posts_the_newest_days_flags_as_a_slack_message(
    dbt_project: DbtProject, planted: dict[str, Any]
) -> None:
    with Receiver() as receiver:
        result = _alert(dbt_project, url=receiver.url)
        assert result.exit_code == 0, result.output
        assert result.output == "alert sent: 1 channel metric far from usual on 2019-11-30\n"
        result = _alert(dbt_project, "--days", "4", url=receiver.url)
        assert result.exit_code == 0, result.output
    newest, four_days = receiver.bodies
    lines = [b["text"]["text"] for b in newest["blocks"] if b["type"] == "section"]
    assert newest["text"] == "1 channel metric far from usual on 2019-11-30"
    assert len(lines) == 2 and lines[1].startswith(":arrow_up: *Naver* spend on 2019-11-30: *")
    assert four_days["text"] == "3 channel metrics far from usual on 2019-11-27 to 2019-11-30"
    assert "*Google* conversion rate on 2019-11-27: *0.00%*, usually" in json.dumps(four_days)


def test_alert_without_a_webhook_prints_the_message_and_sends_nothing(
    dbt_project: DbtProject, planted: dict[str, Any]
) -> None:
    result = _alert(dbt_project)
    assert result.exit_code == 0
    assert json.loads(result.stdout)["text"] == "1 channel metric far from usual on 2019-11-30"
    assert result.stderr == ("ALERT_WEBHOOK_URL is unset: the message above (1 flagged) "
                             "was not sent\n")


def test_a_failed_post_is_one_line_and_a_non_zero_exit(
    dbt_project: DbtProject, planted: dict[str, Any]
) -> None:
    with Receiver(status=500) as receiver:
        result = _alert(dbt_project, url=receiver.url)
    assert result.exit_code == 1 and len(receiver.bodies) == 1
    host = receiver.url.split("/services")[0]
    assert result.output == (f"Error: alert not sent: the webhook at {host} answered "
                             "HTTP 500: invalid_token\n")  # the secret path is not printed
    result = _alert(dbt_project, url=receiver.url)  # the server is gone now
    assert result.exit_code == 1 and result.output.count("\n") == 1
    assert result.output.startswith(f"Error: alert not sent: could not reach the webhook at {host}")
    result = _alert(dbt_project, url="hooks.slack.com/services/x")
    assert result.output == "Error: alert not sent: ALERT_WEBHOOK_URL is not an http(s) URL\n"


def test_a_quiet_newest_day_sends_nothing(dbt_project: DbtProject, planted: dict[str, Any]) -> None:
    """2019-12-01's ad spend arrives: the day is complete, scored, and quiet, so the alert
    (the newest day's flags) sends nothing, though older days' flags are still in the mart."""
    load(dbt_project.warehouse.uri(), planted["next_day"], append=True, tables=["ad_spend"])
    dbt_project.dbt("run", "--select", "base_raw_data__ad_spend", "stg_raw_data__ad_spend",
                    *MODELS)
    assert dbt_project.query(NEWEST)[0][0] == "2019-12-01"
    assert _flagged(dbt_project) == {("Naver", "spend", "2019-11-30")}
    with Receiver() as receiver:
        result = _alert(dbt_project, url=receiver.url)
    assert result.exit_code == 0 and receiver.bodies == []
    assert result.output == "nothing flagged (the newest 1 day(s) of channel_metric_anomalies)\n"


def test_a_long_list_is_cut_to_what_slack_takes() -> None:
    anomalies = [Anomaly(_date("2019-11-30"), f"C{i}", "sessions", 10.0, 100.0, -0.9, -5.0,
                         "down", "rule") for i in range(MAX_LISTED + 5)]
    message = slack_message(anomalies)
    assert len(message["blocks"]) <= 50
    assert message["blocks"][-1]["elements"][0]["text"].startswith("and 5 more; rule")


def _date(text: str) -> Any:
    from datetime import date

    return date.fromisoformat(text)
