"""Create gaitstream's topics when missing (idempotent; used by the worker and the stations)."""

from __future__ import annotations

import logging

from gaitstream.logging import kv
from gaitstream.settings import KafkaSettings, TopicSettings

log = logging.getLogger(__name__)


def ensure_topics(kafka: KafkaSettings, topics: TopicSettings, *, replication_factor: int = 1,
                  extra: dict[str, dict[str, str]] | None = None) -> list[str]:
    """Create the stations, steps, status, trace, alerts and dead-letter topics; returns those created.

    All share the same partition count and key (station id), so a station's frames, steps and
    status live on the same partition number and one worker owns all of them. ``extra`` adds
    topics (name -> topic configs) with the same partition count, e.g. the pipeline's changelogs.
    """
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError

    admin = KafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers, client_id="gaitstream-topics")
    try:
        existing = set(admin.list_topics())
        wanted = {name: {} for name in topics.all()} | (extra or {})
        missing = [name for name in wanted if name not in existing]
        if missing:
            try:
                admin.create_topics([NewTopic(name, num_partitions=topics.partitions,
                                              replication_factor=replication_factor, topic_configs=wanted[name])
                                     for name in missing])
            except TopicAlreadyExistsError:
                pass  # another worker or station created them in between
            log.info(kv("topics_created", topics=",".join(missing), partitions=topics.partitions))
        return missing
    finally:
        admin.close()


def delete_topics_with_prefix(kafka: KafkaSettings, prefix: str) -> list[str]:
    """Delete every topic whose name starts with ``prefix`` (test and benchmark runs clean up)."""
    from kafka import KafkaAdminClient

    if not prefix:
        raise ValueError("prefix must not be empty: it would delete every topic")
    admin = KafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers, client_id="gaitstream-topics")
    try:
        doomed = [name for name in admin.list_topics() if name.startswith(prefix)]
        if doomed:
            admin.delete_topics(doomed)
        return doomed
    finally:
        admin.close()
