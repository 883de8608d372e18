"""Sample DAG that needs image/requirements.txt: the example requirement, the Slack provider.

Builds the message a team would post to Slack and returns it; nothing is sent (no network).
It parses only where the provider and its slack_sdk are installed.
"""

from __future__ import annotations

import pendulum
from airflow.providers.slack.hooks.slack_webhook import SlackWebhookHook
from airflow.sdk import DAG, task
from slack_sdk.models.blocks import SectionBlock

MARKER = "image-requirements-marker-5c1e"

with DAG("image_requirements", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False):

    @task
    def slack_message() -> dict:
        block = SectionBlock(text=f"{MARKER}: built with {SlackWebhookHook.__name__}")
        print(block.to_dict()["text"]["text"])
        return block.to_dict()

    slack_message()
