"""The single Faust app of gaitstream: topics, tables and agent discovery.

``faust -A gaitstream.pipelines.app worker`` imports this module, so the App is built here; it only reads
settings from the environment (no connection is opened until the worker starts).
"""

from __future__ import annotations

import logging
from datetime import timedelta

import faust

from gaitstream.logging import kv
from gaitstream.monitor.station import CHECKPOINT_MAX_BYTES
from gaitstream.pipelines.faust_adapter import CheckpointTable, OwnReadsApp, set_fetch_wait
from gaitstream.pipelines.settings import PipelineSettings
from gaitstream.settings import KafkaSettings, TopicSettings

log = logging.getLogger(__name__)

topic_settings = TopicSettings()
pipeline_settings = PipelineSettings()

app = OwnReadsApp(
    pipeline_settings.app_id,
    autodiscover=["gaitstream.pipelines.gait", "gaitstream.pipelines.sink"],
    origin="gaitstream.pipelines",
    # Global tables may mirror a topic of ours (alert settings, session histories): see the class.
    GlobalTable="gaitstream.pipelines.faust_adapter:TopicMirror",
)


@app.on_configured.connect
def configure(app: faust.App, conf, **kwargs) -> None:
    kafka = KafkaSettings()
    conf.broker = kafka.faust_broker
    # SASL_SSL as the pipeline's own user (gaitstream.access.principals.pipeline_grants). Importing
    # the app (tests, tools) needs no credentials; a worker without them stops at init (below).
    if kafka.username or kafka.security_protocol == "PLAINTEXT":
        conf.broker_credentials = kafka.faust_credentials()
    conf.datadir = str(pipeline_settings.datadir)
    conf.topic_partitions = topic_settings.partitions
    conf.producer_acks = -1
    # A checkpoint may exceed Kafka's default 1 MB (calibrating at 1000 Hz: about 4 MB); its
    # changelog topic takes up to CHECKPOINT_MAX_BYTES (create_topics), and so must a request.
    conf.producer_max_request_size = CHECKPOINT_MAX_BYTES + 64 * 1024
    # Batch produce requests: one per message costs more CPU than the gait engine itself
    # (measured with benchmarks/pipeline_load.py); 10 ms is small next to the 1 s latency budget.
    conf.producer_linger = pipeline_settings.producer_linger_s
    conf.broker_commit_interval = pipeline_settings.commit_interval_s
    # A new consumer group starts at the beginning: a first worker loses no frame.
    conf.consumer_auto_offset_reset = "earliest"
    conf.web_enabled = False
    conf.broker_session_timeout = pipeline_settings.session_timeout_s
    conf.broker_heartbeat_interval = pipeline_settings.heartbeat_interval_s
    # Shut down promptly: do not wait for streams to drain (uncommitted work is replayed).
    conf.stream_wait_empty = False
    conf.table_standby_replicas = 0
    conf.processing_guarantee = pipeline_settings.processing_guarantee
    # Table keys and values are JSON (station ids; dicts of checkpoints): the app default.
    conf.table_value_serializer = "json"


def raw_topic(name: str) -> faust.TopicT:
    """Bytes in, bytes out: decoding is the agents' job, so a bad message is a dead letter, not a crash."""
    return app.topic(
        name,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=topic_settings.partitions,
    )


stations_topic = raw_topic(topic_settings.stations)
# The gait agent keeps the stations topic's order itself (faust_adapter, item 12).
app.own_read_topics = frozenset({topic_settings.stations})
steps_topic = raw_topic(topic_settings.steps)
status_topic = raw_topic(topic_settings.status)
trace_topic = raw_topic(topic_settings.trace)
alerts_topic = raw_topic(topic_settings.alerts)
deadletter_topic = raw_topic(topic_settings.deadletter)
feedback_topic = raw_topic(topic_settings.feedback)

# station id -> checkpoint of its session, engine, rolling status window (with the alert rules'
# state) and consumed sequence (gaitstream.monitor.station, gaitstream.monitor.rolling). Its last
# changelog write can be awaited (faust_adapter.CheckpointTable): the gait agent acknowledges a
# checkpoint's events only once it is stored (ledger.CheckpointLedger).
station_state = app.tables.add(
    CheckpointTable(
        name="station-state", app=app, beacon=app.tables.beacon, default=None, partitions=topic_settings.partitions
    )
)

# Alert-rule settings and patients' session histories (gaitstream.monitor): compacted topics that
# every worker mirrors whole (GlobalTable). Settings are written by `gaitstream alerts settings
# set` (another producer: hence synchronize_all_active_partitions, so that every partition stays
# followed after recovery), histories by this app at each session stop. Values are the enveloped
# Avro bytes of the topics; gaitstream.monitor.lookup decodes them.
alert_settings_topic = raw_topic(topic_settings.alert_settings)
session_history_topic = raw_topic(topic_settings.session_history)


def _mirror(name: str, topic: faust.TopicT) -> faust.GlobalTable:
    # recovery_buffer_size=1: Faust's documented guard against a global table's recovery loop.
    return app.GlobalTable(
        name,
        default=None,
        key_type=bytes,
        value_type=bytes,
        changelog_topic=topic,
        partitions=topic_settings.partitions,
        synchronize_all_active_partitions=True,
        recovery_buffer_size=1,
    )


alert_settings_table = _mirror("alert-settings", alert_settings_topic)
session_history_table = _mirror("session-history", session_history_topic)

# station id -> steps counted per 10-second tumbling window (live activity; kept 5 minutes).
STEP_WINDOW = timedelta(seconds=10)
steps_per_window = app.Table("steps-per-window", default=int, partitions=topic_settings.partitions).tumbling(
    STEP_WINDOW, expires=timedelta(minutes=5)
)


@app.on_worker_init.connect
def quiet_client_debug_logs(app: faust.App, **kwargs) -> None:
    """Faust sets the root logger to DEBUG (for its terminal spinner) whatever ``--loglevel`` says,
    so aiokafka built a debug record for every message sent and received: 3 % of the worker's CPU
    at 100 stations (py-spy). The Kafka client's own level keeps only its warnings. Faust's topics
    likewise logged every changelog record sent (1.3 %): Faust keeps its info messages."""
    import logging

    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    logging.getLogger("faust.topics").setLevel(logging.INFO)


@app.task
async def tune_garbage_collector() -> None:
    """Fewer, cheaper cyclic collections (PipelineSettings.gc_thresholds), once the app's
    services have started."""
    from gaitstream.pipelines.gctune import tune_garbage_collector as tune

    frozen = tune(pipeline_settings.gc_thresholds)
    log.info(kv("gc_tuned", thresholds=",".join(map(str, pipeline_settings.gc_thresholds)), frozen=frozen))


@app.task
async def shorten_fetch_wait() -> None:
    """Faust builds its Kafka consumer with a fixed 1.5 s broker-side fetch wait. aiokafka keeps
    one fetch in flight per broker, for the partitions with nothing buffered; when that fetch
    holds only idle partitions (the global tables' topics), the busy stations partitions wait
    behind it: every station's steps came 1.5-2 s late at once, a few times a minute (load
    benchmark, 50 stations: p99 step-end -> InfluxDB 2.2 s). A short wait bounds that stall
    (faust_adapter.set_fetch_wait)."""
    wait_ms = set_fetch_wait(app, pipeline_settings.fetch_max_wait_s)
    if wait_ms is None:
        log.warning(kv("fetch_wait_not_set", reason="consumer internals changed"))
    else:
        log.info(kv("fetch_wait_set", fetch_max_wait_ms=wait_ms))


@app.on_worker_init.connect
def check_secrets(app: faust.App, **kwargs) -> None:
    """Refuse to start without the Kafka user (the broker takes no anonymous client) or the
    stations' signing secret (every frame would be dead-lettered), saying which is missing."""
    from gaitstream.settings import SigningSettings

    kafka = KafkaSettings()
    if kafka.security_protocol != "PLAINTEXT":
        kafka.credentials()
    SigningSettings().secret()


@app.on_worker_init.connect
def create_topics(app: faust.App, **kwargs) -> None:
    """Create our topics and the tables' changelogs before the consumer subscribes.

    Faust would create the changelogs itself, but its consumer then keeps a metadata snapshot
    in which a just-created changelog has 0 partitions, and the windowed table refuses every
    write (PartitionsMismatch). Created here, they exist with the right count from the start.
    """
    from gaitstream.topics import ensure_topics

    changelogs = {}
    for table in app.tables.values():
        policy = "compact,delete" if table.window is not None else "compact"
        changelogs[table.changelog_topic_name] = {"cleanup.policy": policy}
    changelogs[station_state.changelog_topic_name]["max.message.bytes"] = str(CHECKPOINT_MAX_BYTES + 64 * 1024)
    ensure_topics(KafkaSettings(), topic_settings, extra=changelogs, update_configs=True)


def main() -> None:
    app.main()
