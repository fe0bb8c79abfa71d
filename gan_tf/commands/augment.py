"""Synthetic data for the digit classifier (the first of two uses of a trained GAN): does a
trained generator help, or replace, real labelled images?

    python -m gan_tf.augment --run_dir=runs/cond_dcgan --out=augment.json

The command line of gan_tf.applications.synthetic, which says what its files and options mean.
"""
import dataclasses
import json
import os
import time

from absl import flags

from gan_tf.commands import common  # first: it quiets TensorFlow's start-up
from gan_tf.commands.common import UsageError, check_outputs, flag_values  # noqa: E402

from gan_tf import data as data_lib  # noqa: E402
from gan_tf import runs  # noqa: E402
from gan_tf.applications import sampling, synthetic  # noqa: E402
from gan_tf.errors import (ClassifierError, DataError, LogFileError, RunError,  # noqa: E402
                           SampleSizeError)
from gan_tf.evaluation import code_prior  # noqa: E402
from gan_tf.evaluation import classifier as classifier_lib  # noqa: E402
from gan_tf.fileio import atomic_write  # noqa: E402
from gan_tf.runs.restore import restore_models  # noqa: E402


def _sizes(values):
    sizes = []
    for v in values:
        if v == "all":
            sizes.append(None)
        elif (common.whole_number(v) or 0) >= 10:
            sizes.append(int(v))
        else:
            raise UsageError(f"--sizes: {v!r} is not 'all' or a whole number >= 10")
    return tuple(sizes)


def define_flags():
    d = synthetic.AugmentConfig()
    common.define_run_dir("A gan_tf run directory: its generator makes the synthetic images.")
    flags.DEFINE_list("sizes", ["100", "500", "1000", "all"], "N: real labelled images "
                      "(10 or more, or all).")
    flags.DEFINE_list("synthetic", [str(m) for m in d.synthetic], "M: synthetic images added "
                      "to the N real ones (0 or more each).")
    flags.DEFINE_list("seeds", [str(s) for s in d.seeds], "Seeds: subset, synthetic draw, "
                      "classifier weights and order.")
    flags.DEFINE_float("real_share", d.real_share, "0: real and synthetic images pooled; "
                       "s in (0, 1): the N real images repeated to about share s of each "
                       "mixed set.", lower_bound=0.0, upper_bound=0.95)
    flags.DEFINE_integer("steps", d.steps, "Classifier batches per training run.", lower_bound=1)
    flags.DEFINE_integer("batch_size", d.batch_size, "Classifier batch size.", lower_bound=1)
    common.define_data_dir(of_run=True)
    flags.DEFINE_string("classifier_dir", None, "Classifier that labels an unconditional "
                        "generator's images (default: the dataset's cached one).")
    common.define_out("augment.json", "Output .json (records, summary); a markdown table goes "
                   "beside it as .md.")
    common.define_overwrite()


def _ints(name, values, lower):
    try:
        out = tuple(int(v) for v in values)
    except ValueError:
        raise UsageError(f"--{name}: whole numbers, comma-separated (got {','.join(values)})") \
            from None
    if any(v < lower for v in out):
        raise UsageError(f"--{name}: every value must be >= {lower}")
    return out


def main(argv):
    f = flag_values(argv, required=["run_dir"])
    md = os.path.splitext(f.out)[0] + ".md"
    check_outputs(f.out, ".json", [f.out, md], f.overwrite)
    config = synthetic.AugmentConfig(sizes=_sizes(f.sizes), synthetic=_ints("synthetic", f.synthetic, 0),
                           seeds=_ints("seeds", f.seeds, 0), steps=f.steps,
                           batch_size=f.batch_size, real_share=f.real_share)
    if not config.sizes or not config.seeds:
        raise UsageError("--sizes and --seeds need at least one value each")

    run_config, generator, discriminator, source = restore_models(f.run_dir)
    data_dir = runs.data_dir_of(f.run_dir, run_config, f.data_dir)
    all_data = data_lib.load(run_config.dataset, data_dir)
    data = data_lib.without_classes(all_data, run_config.exclude_classes)
    for n in config.sizes:
        if n is not None and n > len(data.train_labels):
            raise UsageError(f"--sizes: {n} is more than the {len(data.train_labels)} training "
                             "images; use all")
        problem = synthetic.subset_problem(data.train_labels, n, data.num_classes)
        if problem:
            raise UsageError(f"--sizes: {problem}")
    sampling.check_memory(synthetic.memory_bytes(config, len(data.train_labels), run_config.z_dim),
                          "--sizes, --synthetic and --real_share")
    label_classifier = None
    if not generator.num_classes:  # the dataset's classifier, of every class (its cache)
        classifier_lib.check_available(f.classifier_dir, all_data.name)
        label_classifier, _ = classifier_lib.load_or_train(all_data, f.classifier_dir)
    t0 = time.perf_counter()
    prior = code_prior.run_prior(run_config, discriminator, f.run_dir, f.data_dir)
    records = synthetic.run(config, generator, run_config.z_dim, run_config.z_distribution, data,
                            label_classifier, prior=prior)
    summary = synthetic.summarize(records)
    doc = {"run_dir": f.run_dir, "checkpoint": source, "dataset": data.name,
           "conditional": bool(generator.num_classes),
           "held_out_images": int(len(data.test_labels)),
           "config": dataclasses.asdict(config), "seconds": round(time.perf_counter() - t0, 1),
           "records": records, "summary": summary}
    text = synthetic.table(summary, config.synthetic)
    atomic_write(f.out, json.dumps(doc, indent=2).encode("utf-8"), f.overwrite)
    atomic_write(md, (text + "\n").encode("utf-8"), f.overwrite)
    print(text)
    print(f"wrote {f.out} and {md}")


# What this command reports as one line and exit 1 (or the error's own exit code).
USER_ERRORS = (RunError, DataError, ClassifierError, LogFileError, SampleSizeError, OSError)


def run():
    """`python -m gan_tf.augment` and gan-tf-augment."""
    common.main(define_flags, main, user_errors=USER_ERRORS)


if __name__ == "__main__":
    run()
