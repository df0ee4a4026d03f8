"""Streaming form of a simulated session for live station simulators.

``iter_session_blocks(config, block_samples)`` yields consecutive blocks of
recording columns, equal to slicing :func:`simulate_session`'s columns, while
holding only a few steps of state (steps are generated ahead lazily and
discarded once their truth is out), so a session can run for days. The truth of
the steps completed inside the emitted samples is available as it happens.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from gaitstream.simulate.config import SimulationConfig
from gaitstream.simulate.render import SessionModel
from gaitstream.simulate.session import build_truth

#: Without quiet standing, the obliquity reference is the median over this much
#: walking (whole-session simulation uses the whole session; the two agree for
#: sessions up to this long, or whenever there is standing).
STREAM_BASELINE_WINDOW_S = 120.0


class SessionBlocks(Iterator[dict[str, np.ndarray]]):
    """Iterator over blocks of one session, with the truth emitted so far.

    ``keep_truth=True`` keeps every emitted step so :meth:`truth` can build the
    whole truth document (about 300 bytes per step); for unbounded sessions use
    ``keep_truth=False`` and drain :meth:`pop_new_truth` instead.
    """

    def __init__(self, config: SimulationConfig, block_samples: int, *, keep_truth: bool = True) -> None:
        if not isinstance(block_samples, (int, np.integer)) or block_samples < 1:
            raise ValueError(f"block_samples must be a positive integer, got {block_samples!r}")
        self.config = config
        self.block_samples = int(block_samples)
        self.keep_truth = keep_truth
        self.model = SessionModel(config, baseline_window_s=STREAM_BASELINE_WINDOW_S)
        self.samples_emitted = 0
        self._next_step = 0
        self._ics_emitted = 0
        self._new: dict[str, list] = {"steps": [], "strides": [], "initial_contacts": []}
        self._all: dict[str, list] = {"steps": [], "strides": [], "initial_contacts": []}

    @property
    def emitted_until_s(self) -> float:
        """Time of the last sample slot covered so far (-inf before the first block)."""
        if self.samples_emitted == 0:
            return float("-inf")
        return (self.samples_emitted - 1) / self.config.sampling_rate_hz

    def __next__(self) -> dict[str, np.ndarray]:
        """Next block; its truth is collected before it is returned.

        1. Render samples ``[n0, n0 + block_samples)`` (fewer rows when packets
           are lost; possibly none).
        2. Truth of the steps and ICs completed up to its last sample.
        3. Discard steps no longer needed for signals or truth.
        """
        n0 = self.samples_emitted
        if n0 >= self.config.n_samples:
            raise StopIteration
        n1 = min(n0 + self.block_samples, self.config.n_samples)
        # 1. Samples.
        block = self.model.render(n0, n1)
        self.samples_emitted = n1
        until_s = self.emitted_until_s
        # 2. Truth.
        sched = self.model.schedule
        sched.extend_until(until_s)
        ic = sched.initial_contacts_s()
        step_end = self._next_step + 1 - sched.base_index
        steps, strides = [], []
        if 0 <= step_end < len(ic) and ic[step_end] <= until_s:  # cheap test first
            steps, strides = self.model.completed_steps(self._next_step, until_s)
            ic = sched.initial_contacts_s()
        index = np.arange(sched.base_index, sched.base_index + len(ic))
        new_ic = (index >= self._ics_emitted) & (ic <= until_s)
        contacts = [
            ("left" if sched.is_left(k) else "right", float(t)) for k, t in zip(index[new_ic], ic[new_ic], strict=True)
        ]
        self._ics_emitted += int(new_ic.sum())
        self._next_step += len(steps)
        for name, items in (("steps", steps), ("strides", strides), ("initial_contacts", contacts)):
            self._new[name].extend(items)
            if self.keep_truth:
                self._all[name].extend(items)
        # 3. Keep the last completed step (its stride) and the one before it.
        if self._next_step >= 2:
            local = self._next_step - 1 - sched.base_index
            sched.discard_before(float(sched.initial_contacts_s()[max(local, 0)]))
        return block

    def pop_new_truth(self) -> dict[str, list]:
        """Steps, strides and ``(side, time_s)`` ICs completed since the last call."""
        out, self._new = self._new, {"steps": [], "strides": [], "initial_contacts": []}
        return out

    def truth(self) -> dict:
        """Truth document (as :func:`simulate_session`'s) of the samples emitted so far."""
        if not self.keep_truth:
            raise ValueError("truth() needs keep_truth=True; use pop_new_truth() instead")
        ic = np.array([t for _, t in self._all["initial_contacts"]])
        return build_truth(self.model, list(self._all["steps"]), list(self._all["strides"]), ic)


def iter_session_blocks(config: SimulationConfig, block_samples: int, *, keep_truth: bool = True) -> SessionBlocks:
    """Blocks of ``block_samples`` samples (the last may be shorter) of a session.

    Concatenated, the blocks equal ``simulate_session(config).recording_columns``.
    The returned iterator also gives the truth so far (:meth:`SessionBlocks.truth`,
    :meth:`SessionBlocks.pop_new_truth`).
    """
    return SessionBlocks(config, block_samples, keep_truth=keep_truth)
