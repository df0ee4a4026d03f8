"""Committing a kafka-python consumer's offsets while its group may be rebalancing."""

from __future__ import annotations


def commit_polled(consumer) -> str | None:
    """Commit what ``consumer`` (kafka-python, in a group) has polled: None once committed, else why
    not. A commit refused because the group is rebalancing (RebalanceInProgressError) or has moved
    the partitions (CommitFailedError) loses nothing: the records are read again by their next
    owner, this consumer too after its next poll, and the caller treats them as the repeats they are.
    """
    from kafka.errors import CommitFailedError, RebalanceInProgressError

    try:
        consumer.commit()
    except (CommitFailedError, RebalanceInProgressError) as exc:
        return f"{type(exc).__name__}: {exc}"[:200]
    return None
