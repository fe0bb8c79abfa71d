"""What ends a run early: SIGINT and SIGTERM (save and stop, instead of dying mid-step),
and divergence (a step whose losses or weights are no longer finite)."""
import contextlib
import logging
import signal
import threading

import numpy as np

from gan_tf.errors import Diverged, Interrupted
from gan_tf.training.steps import METRIC_KEYS

log = logging.getLogger(__name__)


class EvaluationStopped(Exception):
    """A stop request arrived during an evaluation, which is then left unfinished."""


class StopRequest:
    """While active, SIGINT and SIGTERM ask the loop to save and stop instead of killing
    it; a second signal falls through to the previous handler (Ctrl-C twice aborts)."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.signal, self._previous, self._evaluating = None, {}, False

    def _handle(self, signum, frame):
        self.signal = signum
        log.warning("%s received: saving a checkpoint after the current steps "
                    "(send it again to abort without saving).", signal.Signals(signum).name)
        self._restore()
        if self._evaluating:  # an evaluation can take minutes: it is dropped, not awaited
            raise EvaluationStopped(signum)

    @contextlib.contextmanager
    def evaluating(self):
        """While active, a signal also stops the evaluation under way (EvaluationStopped),
        so that the run saves and stops at once."""
        self._evaluating = True
        try:
            yield
        finally:
            self._evaluating = False

    def _restore(self):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for signum in self.SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc):
        self._restore()
        return False

    def interrupted(self, step, run_dir):
        """The Interrupted error of a run stopped at `step` (SIGTERM when another worker of a
        cluster, not this one, was signalled)."""
        signum = self.signal or signal.SIGTERM
        return Interrupted(signum, f"stopped by {signal.Signals(signum).name} at step {step}; "
                           f"checkpoint and logs saved in {run_dir}: rerun the same command "
                           "to resume")


def check_finite(history, weights_finite, start_step, last_checkpoint, keys=METRIC_KEYS):
    """Raises Diverged naming the first step whose losses (the columns `keys` of
    `history`), or whose weights, are NaN/Inf."""
    bad_rows = ~np.isfinite(history).all(axis=1)
    if not bad_rows.any() and weights_finite:
        return
    if bad_rows.any():
        first = int(np.argmax(bad_rows))
        bad = [name for name, value in zip(keys, history[first])
               if not np.isfinite(value)]
        what = f"at step {start_step + first + 1}: {', '.join(bad)} not finite"
    else:
        what = f"by step {start_step + len(history)}: a weight is NaN or Inf"
    kept = (f"the last good checkpoint {last_checkpoint} is kept and a rerun resumes from it"
            if last_checkpoint else "no checkpoint had been written yet")
    raise Diverged(f"training diverged {what}; no record of it was written; {kept} "
                   "(lower the learning rates or change --seed)")
