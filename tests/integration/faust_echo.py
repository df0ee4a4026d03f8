"""A minimal Faust app for the integration test: one agent consumes a topic and produces to another.

Run as a real worker: ``faust -A tests.integration.faust_echo worker``. Topics and the broker
come from the environment when Faust configures the app, not at import.
"""

from __future__ import annotations

import os

import faust

from gaitstream.settings import KafkaSettings

app = faust.App("gaitstream-it-echo", autodiscover=False)


@app.on_configured.connect
def configure(app: faust.App, conf, **kwargs) -> None:
    conf.broker = KafkaSettings().faust_broker
    conf.broker_credentials = KafkaSettings().faust_credentials()
    conf.web_enabled = False
    conf.datadir = os.environ["GAITSTREAM_IT_FAUST_DATADIR"]
    conf.topic_partitions = 2
    conf.producer_acks = -1


def _topic(env: str) -> faust.TopicT:
    # Raw bytes: decoding is the agent's job (a codec error would crash the agent, not the message).
    return app.topic(
        os.environ.get(env, "unset"), key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    )


in_topic = _topic("GAITSTREAM_IT_IN_TOPIC")
out_topic = _topic("GAITSTREAM_IT_OUT_TOPIC")


@app.agent(in_topic)
async def echo_frames(frames):
    async for key, frame in frames.items():
        await out_topic.send(key=key, value=b"echo:" + frame)
