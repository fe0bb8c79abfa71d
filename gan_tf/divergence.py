"""Divergence: a step whose losses, or whose weights, are no longer finite ends the run."""
import numpy as np

from gan_tf.errors import Diverged
from gan_tf.trainer import METRIC_KEYS


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
