"""Exports a trained generator: a SavedModel with a serving signature, and/or a TF1 checkpoint.

The SavedModel's `serving_default` signature maps `z` (batch, z_dim) float32 to
`images` (batch, 28, 28, 1) in [-1, 1] (a conditional run's takes `labels` (batch,)
int32 too, an InfoGAN run's `codes` (batch,) int32: values of its categorical code,
not classes, to be drawn from the prior gan_tf_export.json's `code_prior` gives: uniformly,
or with its weights for a --code_prior=learned run); it loads with tf.saved_model.load alone,
without gan_tf. The TF1 checkpoint holds both networks' variables under their
TF1 names (`generator/dense/kernel`, ...), for legacy `tf.train.Saver` code.

Its command line: `python -m gan_tf.export` (gan_tf/commands/export.py).
"""
import json
import os
import re

import tensorflow as tf

from gan_tf import fileio, runs
from gan_tf.errors import OutputError

EXPORT_INFO = "gan_tf_export.json"
TF1_PREFIX_NAME = "model.ckpt"  # the prefix written into a --tf1_checkpoint_out directory
CHECKPOINT_INDEX = "checkpoint"  # the state file of tf.train.Saver and CheckpointManager
MAX_INDEX_BYTES = 1 << 20  # an index names a few checkpoints: a few hundred bytes
_INDEXED = re.compile(r'^\s*(?:all_)?model_checkpoint_paths?\s*:\s*"(.*)"\s*$', re.M)


def export_saved_model(generator, z_dim, export_dir, z_distribution="uniform", code_prior=None,
                       replace=True):
    """Writes `generator` as a SavedModel with a z -> images serving signature; an InfoGAN
    run's `code_prior` (the weights of its learned prior, None: uniform) is recorded.
    With `replace` false (no --overwrite: the folder was empty when checked) a file that
    something else created there meanwhile is kept: fileio.OutputAppeared."""

    z_spec = tf.TensorSpec([None, z_dim], tf.float32, name="z")
    takes_labels = bool(generator.label_width)  # conditional or InfoGAN
    second = "labels" if generator.num_classes else "codes"  # the second input's name

    class Serving(tf.Module):
        def __init__(self):
            super().__init__(name="serving")
            self.generator = generator

        if takes_labels:
            @tf.function(input_signature=[z_spec, tf.TensorSpec([None], tf.int32, name=second)])
            def generate(self, z, labels):
                # An index outside 0..width-1 would one-hot to zeros: refused, not drawn.
                width = generator.label_width
                checks = [tf.debugging.assert_equal(
                              tf.shape(labels)[0], tf.shape(z)[0],
                              message=f"one of {second} per row of z"),
                          tf.debugging.assert_greater_equal(
                              labels, 0, message=f"{second} must be 0 to {width - 1}"),
                          tf.debugging.assert_less(
                              labels, width, message=f"{second} must be 0 to {width - 1}")]
                with tf.control_dependencies(checks):
                    labels = tf.identity(labels)
                images, _ = self.generator(z, training=False, labels=labels)
                return {"images": images}
        else:
            @tf.function(input_signature=[z_spec])
            def generate(self, z):
                images, _ = self.generator(z, training=False)
                return {"images": images}

    module = Serving()
    # Staged, then moved in by renames: TensorFlow would open a link in an --overwrite'n
    # folder (variables/variables.index, variables/) and write through it.
    with fileio.staged(export_dir, replace) as staging:
        tf.saved_model.save(module, staging, signatures={"serving_default": module.generate})
    info = {"z_dim": z_dim, "z_distribution": z_distribution,
            "num_classes": generator.num_classes, "num_codes": generator.num_codes,
            "code_prior": (None if not generator.num_codes else "uniform" if code_prior is None
                           else [round(float(p), 6) for p in code_prior]),
            "signature": "serving_default: z" + (f", {second}" if takes_labels else "")
            + " -> images"}
    # Replaced whole: a link of that name is never written through either.
    fileio.atomic_write(os.path.join(export_dir, EXPORT_INFO),
                        json.dumps(info, indent=2).encode("utf-8"), replace)
    return export_dir


def indexed_checkpoints(index):
    """The checkpoint prefixes a `checkpoint` state file names (None if unreadable)."""
    try:  # a small regular file (a pipe would hang the read): else unreadable
        return _INDEXED.findall(fileio.read_small(index, MAX_INDEX_BYTES).decode("utf-8")) or None
    except (OSError, ValueError):  # NotSmallFile and UnicodeDecodeError are ValueErrors
        return None


def check_tf1_checkpoint_out(out, run_dir, overwrite):
    """Refuses a --tf1_checkpoint_out whose folder's `checkpoint` index the TF1 Saver would
    rewrite: always a gan_tf run's checkpoints folder (its next resume would then look for
    the export), and unless `overwrite` any folder whose index names other checkpoints."""
    folder = os.path.realpath(os.path.dirname(os.path.abspath(out)))
    if folder == os.path.realpath(os.path.join(run_dir, runs.CHECKPOINT_DIR)) or (
            os.path.basename(folder) == runs.CHECKPOINT_DIR
            and os.path.exists(os.path.join(os.path.dirname(folder), runs.CONFIG_FILE))):
        raise OutputError(f"--tf1_checkpoint_out={out}: {folder} is a gan_tf run's checkpoints "
                          "folder, whose index the export would rewrite; choose another folder")
    index = os.path.join(folder, CHECKPOINT_INDEX)
    if overwrite or not os.path.exists(index):
        return
    named = indexed_checkpoints(index)
    target = os.path.realpath(os.path.abspath(out))
    others = ["(unreadable)"] if named is None else sorted(
        {p for p in named if os.path.realpath(os.path.join(folder, p)) != target})
    if others:
        raise OutputError(f"--tf1_checkpoint_out={out}: {index} names other checkpoints "
                          f"({', '.join(others[:3])}) and would then name only this export; "
                          "choose another folder, or pass --overwrite")


def tf1_prefix(out):
    """The Saver prefix --tf1_checkpoint_out names: `out` itself, or `out`/model.ckpt when
    it ends with a slash or is a directory (the Saver would write out.index beside it)."""
    if out.endswith(("/", os.sep)) or os.path.isdir(out):
        return os.path.join(out, TF1_PREFIX_NAME)
    return out
