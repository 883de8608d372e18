"""The metrics keys: stack files, defaults, and bad values refused before any resource."""

from __future__ import annotations

import pulumi
import pytest

from airflow_eks import formats
from tests.test_config import load


def test_prod_turns_metrics_on_and_dev_leaves_them_off():
    prod, dev = load("prod").metrics, load("dev").metrics
    assert (prod.mode, prod.enabled, dev.mode, dev.enabled) == ("amp", True, "none", False)
    assert prod.scrape_interval == dev.scrape_interval == "60s" and prod.scrape_interval_seconds == 60
    assert prod.alert_email == dev.alert_email == ""


@pytest.mark.parametrize(("interval", "seconds"), [("30s", 30), ("60s", 60), ("1m30s", 90), ("2m", 120)])
def test_scrape_intervals_the_collector_accepts(interval, seconds):
    s = load("prod", overrides={"metricsScrapeInterval": interval}).metrics
    assert s.scrape_interval == interval and s.scrape_interval_seconds == seconds


def test_an_alert_address_is_kept_with_metrics_on():
    assert load("prod", overrides={"alertEmail": "oncall@example.com"}).metrics.alert_email == "oncall@example.com"


BAD = [
    ({"metrics": "prometheus"}, "metrics", "'prometheus'", "one of none, amp"),
    ({"metrics": "AMP"}, "metrics", "'AMP'", "one of none, amp"),
    ({"metrics": "amp", "metricsScrapeInterval": "15s"}, "metricsScrapeInterval", "'15s'", "from 30s to 120s"),
    ({"metrics": "amp", "metricsScrapeInterval": "5m"}, "metricsScrapeInterval", "'5m'", "from 30s to 120s"),
    ({"metrics": "amp", "metricsScrapeInterval": "1.5m"}, "metricsScrapeInterval", "'1.5m'", "Prometheus duration"),
    ({"metrics": "amp", "metricsScrapeInterval": "60"}, "metricsScrapeInterval", "'60'", "Prometheus duration"),
    ({"metrics": "amp", "metricsScrapeInterval": ""}, "metricsScrapeInterval", "''", "Prometheus duration"),
    ({"metrics": "amp", "alertEmail": "oncall"}, "alertEmail", "'oncall'", "e-mail address"),
    ({"metrics": "amp", "alertEmail": "a@b"}, "alertEmail", "'a@b'", "e-mail address"),
    ({"metrics": "amp", "alertEmail": "a b@example.com"}, "alertEmail", "'a b@example.com'", "e-mail address"),
    ({"metrics": "none", "alertEmail": "oncall@example.com"}, "alertEmail", "'oncall@example.com'",
     "empty while metrics is none"),
]


@pytest.mark.parametrize(("overrides", "key", "shown", "allowed"), BAD, ids=[f"{o}" for o, *_ in BAD])
def test_bad_values_name_the_key_the_value_and_what_is_allowed(overrides, key, shown, allowed):
    with pytest.raises(pulumi.RunError) as err:
        load("dev", overrides=overrides)
    message = str(err.value)
    assert message.startswith(f"Invalid configuration airflow-eks:{key} = {shown}: expected ")
    assert allowed in message


@pytest.mark.parametrize("text", ["", "1.5m", "60", "s", "1d", "m30s", "30S", "\u0666\u0660s"])
def test_parse_interval_refuses_what_prometheus_or_the_collector_would_not_read(text):
    with pytest.raises(ValueError):
        formats.prometheus_duration_seconds(text)
