"""The training progress a person reads: one line at most every few seconds.

On a terminal the line is redrawn in place (`\\r`, as Keras' Progbar does); when the
stream is not a terminal (CI, a file) the same line is printed as a plain line at
the same interval. The log records in the run directory (--log_every) are separate:
this decides only what the terminal shows. No TensorFlow here, so it is testable
with a fake clock and stream.
"""
import sys
import time

import numpy as np

LINE = ("step {step}/{max_steps} epoch {epoch:.2f} | d_loss {d_loss:.4f} (real {d_loss_real:.4f} "
        "fake {d_loss_fake:.4f}) g_loss {g_loss:.4f}{info} | D(x) {d_real:.3f} "
        "D(G(z)) {d_fake:.3f} | {rate:.3g} steps/s ETA {eta}")
# The heads' losses, each shown when the run has it (gan_tf.training.steps): InfoGAN's code
# (--latent_categories), its continuous codes (--latent_continuous) and SS-GAN's rotations
# (--rotation_weight).
HEAD_LOSSES = (("info_loss", " info_loss {:.4f}"),
               ("info_continuous_loss", " info_continuous_loss {:.4f}"),
               ("rotation_loss", " rotation_loss {:.4f}"))
INFO = HEAD_LOSSES[0][1]  # gan_tf 0.3.3's name for the code's part of the line


def format_duration(seconds):
    """h:mm:ss."""
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class Progress:
    """Shows the progress of steps `start_step` -> `max_steps`: the metrics (columns
    `keys` of the rows given to `update`) averaged since the last line, the wall-clock
    steps/s since then, and the time left at that rate.

    Use it as a context manager: an open in-place line is ended on the way out."""

    def __init__(self, max_steps, keys, start_step=0, interval=5.0, steps_per_epoch=1.0,
                 stream=None, clock=time.monotonic):
        self.max_steps, self.keys, self.interval = max_steps, tuple(keys), interval
        self.steps_per_epoch = steps_per_epoch
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.clock = clock
        self._last_time, self._last_step = clock(), start_step
        self._rows, self._width, self._open = [], 0, False

    def update(self, step, rows, final=False):
        """Adds the metric rows of the steps up to `step`; prints the line if `interval`
        seconds have passed since the last one, or if this is the `final` step.
        Returns whether it printed."""
        self._rows.append(np.asarray(rows, np.float64).reshape(-1, len(self.keys)))
        now = self.clock()
        if not final and now - self._last_time < self.interval:
            return False
        rate = (step - self._last_step) / max(now - self._last_time, 1e-9)
        means = dict(zip(self.keys, np.concatenate(self._rows).mean(axis=0).tolist()))
        info = "".join(fmt.format(means[key]) for key, fmt in HEAD_LOSSES if key in means)
        text = LINE.format(step=step, max_steps=self.max_steps,
                           epoch=step / self.steps_per_epoch, rate=rate, info=info,
                           eta=format_duration((self.max_steps - step) / max(rate, 1e-9)),
                           **means)
        if self.tty:  # redraw in place, blanking what is left of a longer line
            self.stream.write("\r" + text.ljust(self._width))
            self._width, self._open = len(text), True
            if final:
                self.end_line()
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
        self._last_time, self._last_step, self._rows = now, step, []
        return True

    def end_line(self):
        """Ends a line being redrawn in place, so that the next output starts on its own
        line (call it before logging an evaluation, a checkpoint, an error)."""
        if self._open:
            self.stream.write("\n")
            self.stream.flush()
            self._open, self._width = False, 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.end_line()
