"""Faust glue of the alert rules: the GlobalTable class that mirrors a topic of our own.

The settings and session-history tables use their topics as changelogs
(``gaitstream.pipelines.app``). faust-streaming 0.15.3's partition assignor looks a global table's
changelog up by the *default* name (``<app id>-<table>-changelog``) instead of the topic the
table was given: the lookup fails with a KeyError inside the group's first assignment, which
then never completes (measured: the worker hangs after "performing partition assignments").
This class names the given topic.
"""

from __future__ import annotations

import faust


class TopicMirror(faust.GlobalTable):
    """A GlobalTable whose changelog may be an existing topic written by other producers."""

    def _changelog_topic_name(self) -> str:
        if self._changelog_topic is not None:
            return self._changelog_topic.get_topic_name()
        return super()._changelog_topic_name()
