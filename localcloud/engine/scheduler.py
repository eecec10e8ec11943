"""Virtual time: a discrete-event scheduler that interleaves executions deterministically.

One queue of ``(virtual second, sequence, callback)`` runs on the thread that drives the
simulation. Only one participant runs at a time (the baton): an execution thread runs until it
sleeps in virtual time (a Wait state, a Retry back-off) or ends, and hands the baton back.
Simulator happenings (an endpoint reaching ``InService``, a timeline step, an event delivery) are
plain callbacks on the scheduler's thread.

Background entries (metric minutes, alarm evaluation, Model Monitor executions) never keep a run
alive: ``run()`` without ``until`` returns as soon as only background entries are left, so a
rehearsal ends when nothing but the passing of time remains.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

# How long (real seconds) a participant may hold the baton before the simulation is declared stuck.
STUCK_AFTER_SECONDS = 120.0


class SimulationStuck(RuntimeError):
    """A participant neither slept nor ended in time."""


# why StopExecution woke a sleeping execution (a Wait, a back-off or a task token's wait)
STOPPED = "stopped"
# why a sleep ended on its own: its time passed
TIMED_OUT = "timeout"


class Scheduler:
    def __init__(self, epoch: datetime) -> None:
        self.epoch = epoch
        self.now = 0.0
        self._queue: list[tuple[float, int, bool, Callable[[], None]]] = []  # (t, seq, background, cb)
        self._seq = itertools.count()
        self._foreground = 0  # entries in the queue that are not background work
        self._baton = threading.Event()
        self._participants = threading.local()
        self.errors: list[BaseException] = []
        self._cancelled: set[int] = set()  # sequence numbers of entries that must not run
        self._holder: str | None = None  # the key of the participant holding the baton
        self._sleeping: dict[str, tuple[int, threading.Event]] = {}  # key -> (entry, wake)
        self._aliases: dict[str, str] = {}  # another name of a sleep (a task token) -> its participant
        self._woken_by: dict[str, str] = {}  # key -> why :meth:`wake` ended its sleep
        self._depth = 0  # run() calls under way (a callback that runs the clock again nests)

    @property
    def running(self) -> bool:
        """Whether :meth:`run` is under way (the caller is a callback or a participant)."""
        return self._depth > 0

    # --- time ----------------------------------------------------------------------------
    def datetime(self) -> datetime:
        return self.epoch + timedelta(seconds=self.now)

    def at(self, when: float, callback: Callable[[], None], *, background: bool = False) -> int:
        """Run ``callback`` at virtual second ``when``; ``background`` work never keeps a run alive.
        Returns the entry's number (for :meth:`cancel`)."""
        seq = next(self._seq)
        heapq.heappush(self._queue, (max(when, self.now), seq, background, callback))
        if not background:
            self._foreground += 1
        return seq

    def cancel(self, seq: int) -> None:
        """Drop a queued entry: it neither runs, nor moves the clock, nor keeps a run alive."""
        for _, queued, background, _ in self._queue:
            if queued == seq and seq not in self._cancelled:
                self._cancelled.add(seq)
                if not background:
                    self._foreground -= 1

    def after(self, delay: float, callback: Callable[[], None], *, background: bool = False) -> int:
        return self.at(self.now + max(0.0, delay), callback, background=background)

    def pending(self) -> int:
        return len(self._queue)

    def pending_foreground(self) -> int:
        return self._foreground

    def next_time(self) -> float | None:
        return self._queue[0][0] if self._queue else None

    def run(self, until: float | None = None) -> None:
        """Run callbacks in time order.

        Without ``until``: until only background entries are left (the clock stays at the last
        foreground happening). With ``until``: every entry, background ones included, up to
        ``until``; the clock then reads ``until``.
        """
        self._depth += 1
        try:
            while self._queue:
                when = self._queue[0][0]
                if until is None:
                    if self._foreground == 0:
                        break
                elif when > until:
                    break
                _, seq, background, callback = heapq.heappop(self._queue)
                if seq in self._cancelled:
                    self._cancelled.discard(seq)
                    continue
                if not background:
                    self._foreground -= 1
                self.now = max(self.now, when)
                callback()
                if self.errors:
                    raise self.errors[0]
        finally:
            self._depth -= 1
        if until is not None:
            self.now = max(self.now, until)

    # --- participants (execution threads) --------------------------------------------------
    def _hand_over(self, wake: threading.Event, key: str | None = None) -> None:
        """On the scheduler's thread: let one participant run until it hands the baton back."""
        if key is not None:
            self._sleeping.pop(key, None)
            for alias in [a for a, k in self._aliases.items() if k == key]:
                del self._aliases[alias]
        self._holder = key
        self._baton.clear()
        wake.set()
        if not self._baton.wait(STUCK_AFTER_SECONDS):
            raise SimulationStuck(f"a participant held the baton for {STUCK_AFTER_SECONDS} s at t={self.now}")

    def spawn(self, target: Callable[[], None], name: str = "participant", key: str | None = None) -> None:
        """Start ``target`` on its own thread, first run at the current virtual time; ``key`` names
        the participant for :meth:`wake`."""
        wake = threading.Event()

        def body() -> None:
            wake.wait()
            self._participants.active = True
            try:
                target()
            except BaseException as exc:  # surfaced on the scheduler's thread
                self.errors.append(exc)
            finally:
                self._baton.set()

        threading.Thread(target=body, name=name, daemon=True).start()
        self.after(0, lambda: self._hand_over(wake, key))

    def sleep(self, seconds: float, alias: str | None = None) -> str:
        """From a participant: sleep ``seconds`` of virtual time, letting everything else run.
        ``alias`` is another name :meth:`wake` knows this sleep by (while it lasts). Returns why the
        sleep ended: :data:`TIMED_OUT`, or the ``reason`` :meth:`wake` was given."""
        wake = threading.Event()
        key = self._holder
        seq = self.after(seconds, lambda: self._hand_over(wake, key))
        if key is not None:
            self._sleeping[key] = (seq, wake)
            if alias is not None:
                self._aliases[alias] = key
        self._baton.set()
        wake.wait()
        return self._woken_by.pop(key, TIMED_OUT) if key is not None else TIMED_OUT

    def wake(self, key: str, reason: str = "woken") -> bool:
        """On the scheduler's thread: end the sleep of participant ``key`` now (its queued wake-up is
        dropped) and let it run until it sleeps again or ends; its :meth:`sleep` returns ``reason``.
        False when it is not sleeping. ``key`` may be the alias of a sleep: a sleep that has ended
        answers to its alias no more."""
        key = self._aliases.get(key, key)
        sleeping = self._sleeping.get(key)
        if sleeping is None:
            return False
        seq, wake = sleeping
        self.cancel(seq)
        self._woken_by[key] = reason
        self._hand_over(wake, key)
        return True
