"""A run's checkpoints (`checkpoints/ckpt-STEP.index` and its data shards): finding the
newest complete one, saving, keeping the newest few, and restoring. What a checkpoint
holds: `training_objects` (the step, both networks and optimizers, the EMA generator), of
which a reader (gan_tf.runs.restore.restore_models) restores `reader_objects`.

Everything here is decided from the names of the files in the checkpoints folder
itself. The `checkpoint` index file is written for TensorFlow's readers
(`tf.train.latest_checkpoint`) but never read: it may be missing, stale or crafted, and
tf.train.CheckpointManager, which deletes every path it lists (globs, absolute and ../
paths included), is not used. Old checkpoints are removed by exact name, never by glob.
TensorFlow-free (the checkpoint object is the caller's): run directories are checked
before TensorFlow is imported.
"""
import logging
import os
import re

from gan_tf import config_checks as checks, fileio
from gan_tf.errors import RunError, checkpoint_errors

PREFIX = "ckpt"
BEST_PREFIX = "best"
INDEX_FILE = "checkpoint"
# A checkpoint's files: its index and data shards; the best one's (the networks at the
# best evaluation so far), best-STEP.*, beside them.
CHECKPOINT_FILE = re.compile(r"ckpt-(\d+)\.(index|data-(\d{5})-of-(\d{5}))")
BEST_FILE = re.compile(r"best-(\d+)\.(index|data-(\d{5})-of-(\d{5}))")
BEST_METRIC = "classifier_score"  # higher is better; the first of equal scores is kept
KEEP = 3  # checkpoints a run keeps: the newest

log = logging.getLogger(__name__)


def _checkpoint_files(directory, pattern=CHECKPOINT_FILE):
    """{step: {"files": [names], "complete": bool}} of the checkpoint files in `directory`
    (the regular ones, or with BEST_FILE the best one's)."""
    parts = {}
    try:
        names = os.listdir(directory)
    except OSError as e:
        raise RunError(f"cannot read {directory} ({e.strerror or e})") from None
    for name in names:
        m = pattern.fullmatch(name)
        if m:
            part = parts.setdefault(int(m.group(1)), {"files": [], "index": False,
                                                      "shards": set(), "of": None})
            part["files"].append(name)
            if m.group(2) == "index":
                part["index"] = True
            else:
                part["shards"].add(int(m.group(3)))
                part["of"] = int(m.group(4))
    for part in parts.values():
        part["complete"] = bool(part["index"] and part["of"]
                                and part["shards"] == set(range(part["of"])))
    return parts


def latest_checkpoint(directory, quiet=False):
    """The newest complete checkpoint of a run (`directory/ckpt-N`: its index and every data
    shard present), found from the files themselves, not from the `checkpoint` index file,
    which may be missing or name an incomplete one. None when there are no checkpoint
    files at all; RunError when there are some but none is complete."""
    if not os.path.isdir(directory):
        return None
    parts = _checkpoint_files(directory)
    complete = [step for step, p in parts.items() if p["complete"]]
    if not complete:
        if parts and not quiet:
            raise RunError(f"{directory} holds checkpoint files but no complete checkpoint; "
                           "move them away to start over, or pass --overwrite")
        return None
    latest = os.path.join(directory, f"{PREFIX}-{max(complete)}")
    if not quiet and max(complete) != max(parts):
        log.warning("Checkpoint ckpt-%d in %s is incomplete; using ckpt-%d.", max(parts),
                    directory, max(complete))
    return latest


def complete_checkpoints(directory):
    """The prefixes of the complete regular checkpoints in `directory`, oldest first."""
    if not os.path.isdir(directory):
        return []
    parts = _checkpoint_files(directory)
    return [os.path.join(directory, f"{PREFIX}-{s}") for s in sorted(parts)
            if parts[s]["complete"]]


def best_checkpoint(directory):
    """The run's best checkpoint (`directory/best-STEP`), or None: the complete one of the
    highest step, since a newer best is only written when it scores higher."""
    if not os.path.isdir(directory):
        return None
    complete = [s for s, p in _checkpoint_files(directory, BEST_FILE).items() if p["complete"]]
    return os.path.join(directory, f"{BEST_PREFIX}-{max(complete)}") if complete else None


def best_record(records):
    """The evaluation record with the highest BEST_METRIC among `records` (the first of
    equal ones), or None."""
    scored = [r for r in records if BEST_METRIC in r]
    return max(scored, key=lambda r: r[BEST_METRIC]) if scored else None


def write(checkpoint, directory, name):
    """Writes `checkpoint` (tf.train.Checkpoint.write) as `directory/name` and returns that
    prefix. Written in a staging folder, then moved in by renames: TensorFlow opens
    NAME.index through a link of that name, and a link planted in the folder (before a
    resume or during the run) would have the index written where it points. The data
    shards are renamed before the index, so a crash between leaves an incomplete one."""
    with fileio.staged(directory) as staging:
        checkpoint.write(os.path.join(staging, name))
    return os.path.join(directory, name)


def keep_best(checkpoint, directory, step):
    """Writes `checkpoint` (a tf.train.Checkpoint of reader_objects: the networks only) as
    `directory/best-STEP` (write(): no save counter, no index), then removes the other
    best-* files by their exact names; returns the prefix. A crash in between leaves two
    complete ones, of which best_checkpoint takes the newer."""
    checkpoint.save_counter.assign_add(1)  # held by every checkpoint a reader restores
    prefix = write(checkpoint, directory, f"{BEST_PREFIX}-{step}")
    for old, part in _checkpoint_files(directory, BEST_FILE).items():
        if old != step:
            for name in part["files"]:
                try:
                    os.unlink(os.path.join(directory, name))
                except FileNotFoundError:
                    pass
    return prefix


class CheckpointSaver:
    """Saves `checkpoint` as `directory/ckpt-STEP`, then removes the checkpoints before it
    but the newest `keep` complete ones, and rewrites the `checkpoint` index from what is
    left. Increments `save_counter` as tf.train.CheckpointManager did, so that the files
    hold the same objects as before."""

    def __init__(self, checkpoint, directory, keep=KEEP):
        if not (type(keep) is int and keep >= 1):
            raise ValueError(f"keep must be a positive integer, not {keep!r}")
        self.checkpoint, self.directory, self.keep = checkpoint, directory, keep
        self.latest = None  # the last checkpoint saved here

    def save(self, step):
        """Writes checkpoint `step` and returns its prefix."""
        self.checkpoint.save_counter.assign_add(1)
        prefix = write(self.checkpoint, self.directory, f"{PREFIX}-{step}")
        self.latest = prefix
        self._sweep(step)
        return prefix

    def _sweep(self, step):
        parts = _checkpoint_files(self.directory)
        kept = sorted(s for s, p in parts.items() if s <= step and p["complete"])[-self.keep:]
        for old, part in parts.items():
            if old < step and old not in kept:
                for name in part["files"]:
                    try:
                        os.unlink(os.path.join(self.directory, name))
                    except FileNotFoundError:
                        pass
        self._write_index(kept)

    def _write_index(self, steps):
        """The `checkpoint` text file TensorFlow's readers look for: `steps`, newest last."""
        names = [f"{PREFIX}-{s}" for s in steps]
        text = f'model_checkpoint_path: "{names[-1]}"\n' + "".join(
            f'all_model_checkpoint_paths: "{n}"\n' for n in names)
        fileio.atomic_write(os.path.join(self.directory, INDEX_FILE), text.encode("ascii"))


def training_objects(step, generator, discriminator, g_optimizer, d_optimizer,
                     ema_generator=None, levers=None):
    """What a run's checkpoint holds, by the names its files use (a tf.train.Checkpoint of
    these): the step, both networks, both optimizers, and with --g_ema the moving average
    of G, and the small-data levers' state (`levers`: name -> variable, e.g. ADA's
    augment_p; the random numbers are functions of the seed and the step: no state to save)."""
    objects = dict(step=step, generator=generator, discriminator=discriminator,
                   g_optimizer=g_optimizer, d_optimizer=d_optimizer)
    if ema_generator is not None:
        objects["generator_ema"] = ema_generator
    objects.update(levers or {})
    return objects


def reader_objects(generator, discriminator, ema):
    """The part of training_objects a reader restores: D, and into `generator` the
    weights it samples with, the moving average's when the run used --g_ema (`ema`)."""
    return {"discriminator": discriminator, ("generator_ema" if ema else "generator"): generator}


def restore(checkpoint, path, hint=""):
    """Restores `checkpoint` (a tf.train.Checkpoint) from the prefix `path`, every object it
    holds matched by the files (objects the files hold beyond it are fine: a reader takes
    the networks of a training checkpoint); RunError, one line with `hint`, if the files
    are damaged or hold other objects, or if TensorFlow cannot find them by `path`."""
    if not checks.pattern_free(path):
        raise RunError(f"cannot restore {path}: the path {checks.PATTERN_MESSAGE}; move or "
                       "rename the folder")
    try:
        status = checkpoint.restore(path)
        status.expect_partial()  # no warnings at exit when this fails; the assert still checks
        status.assert_existing_objects_matched()
    except checkpoint_errors() as e:
        raise RunError(f"cannot restore {path}{hint}: {str(e).splitlines()[0]}") from None
