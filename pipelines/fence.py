"""PauseFence: a worker that was stopped (SIGSTOP, a long GC pause, a suspended VM) writes no
checkpoint until it knows whether it still owns its partitions (pure; monotonic seconds).

A worker stopped for longer than the group's session timeout has lost its partitions while it
could not hear about it: the group rebalanced and another worker owns its stations and writes
their checkpoints. Woken up, it would go on with the batch in hand and write a checkpoint older
than the new owner's, which a later restore would take for the newest. Its consumer learns of
the lost membership at its next heartbeat (within a heartbeat interval of waking), and the
revocation then interrupts the batch (``ledger.CheckpointLedger``); the fence holds the writes
until then.

A pause is seen as a gap in the event loop: ``observe`` is called by a frequent timer and by the
agent itself (before a batch and before a checkpoint write, whichever runs first after the
wake-up), and a gap between two calls longer than ``pause_s`` starts a hold of ``hold_s``. A
completed rebalance (``release``) ends the hold early: the worker's partitions are then its own
again. Not covered: a record already handed to the producer before the stop goes out after it
(only broker-side fencing, i.e. transactions, would refuse it); the pipeline's defence there is
that the new owner restores nothing from it until its next rebalance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class PauseFence:
    pause_s: float
    hold_s: float
    last_s: float | None = None
    hold_until_s: float = -math.inf
    pauses: int = 0

    def observe(self, now_s: float) -> bool:
        """Note that the loop runs at ``now_s``; True when the gap since the last call was a pause."""
        paused = self.last_s is not None and now_s - self.last_s > self.pause_s
        if paused:
            self.pauses += 1
            self.hold_until_s = max(self.hold_until_s, now_s + self.hold_s)
        self.last_s = now_s if self.last_s is None else max(self.last_s, now_s)
        return paused

    def held(self, now_s: float) -> bool:
        """Whether checkpoint writes must wait at ``now_s``."""
        return now_s < self.hold_until_s

    def release(self) -> None:
        """A rebalance completed: the partitions held now are this worker's."""
        self.hold_until_s = -math.inf
