"""Evaluation of a run: the sample-quality metrics (gan_tf.evaluation.metrics) of its generator on
fixed latent codes, in the space of the dataset's classifier (gan_tf.classifier), and
eval.json, the file of every evaluation of the run."""
import json
import logging
import os

import numpy as np
import tensorflow as tf

from gan_tf import fileio, inference, models
from gan_tf.errors import ClassifierError, LogFileError, RunError
from gan_tf.evaluation import classifier as classifier_lib
from gan_tf.evaluation import code_prior, metrics
from gan_tf.randomness import EVAL_STREAM, fixed_codes, fixed_z
from gan_tf.runs import CHECKPOINT_DIR, EVAL_FILE, checkpoints

log = logging.getLogger(__name__)

IMAGE_PIXELS = 28 * 28
MAX_EVAL_BYTES = 64 << 20  # an eval.json read back: about 250 bytes an evaluation
EVAL_KEYS = ("classifier_score", "frechet_distance", "modes", "mode_kl", "precision", "recall")


class ImageEvaluator:
    """The metrics of generated images against a fixed set of held-out real images."""

    def __init__(self, classifier, real_images):
        self.classifier = classifier
        _, self.real_features = classifier_lib.predict(classifier, real_images)

    def __call__(self, images, labels=None):
        """The metrics; with the classes a conditional generator was asked for, also
        `label_accuracy`."""
        images = np.asarray(images, np.float32).reshape((-1,) + self.classifier.image_shape)
        logits, features = classifier_lib.predict(self.classifier, images)
        results = metrics.from_outputs(logits, features, self.real_features)
        if labels is not None:
            results["label_accuracy"] = metrics.label_accuracy_from_logits(logits, labels)
        return results


class GeneratorEvaluator:
    """The metrics of a generator's samples on the run's fixed evaluation codes, against
    held-out real images."""

    def __init__(self, config, data, all_data=None, discriminator=None):
        """`all_data`: the whole dataset when `data` leaves classes out; its classifier
        (trained on every class) gives the feature space. `discriminator`: the D whose code
        prior a --code_prior=learned run's codes are drawn from (or give it per call)."""
        classifier, info = classifier_lib.load_or_train(all_data or data, config.classifier_dir)
        n = min(config.eval_samples, len(data.test_images))
        self.images = ImageEvaluator(classifier, data.test_images[:n])
        self.z = fixed_z(config, config.eval_samples, EVAL_STREAM)
        # Conditional runs: every class equally often (mode coverage then measures
        # whether G draws the class it is asked for, not whether it is asked).
        self.labels = models.grid_labels(config.eval_samples,
                                         models.num_classes(config, data.num_classes))
        # InfoGAN runs: codes from their prior, fixed, as G's z (the metrics stay those of
        # an unconditional model: a code is not a class, and G must learn the classes).
        self.codes = fixed_codes(config, config.eval_samples, EVAL_STREAM)
        self.config, self.train_images, self.discriminator = config, data.train_images, discriminator
        self.classifier_info = info

    def __call__(self, generator, discriminator=None):
        """The metrics of `generator`'s samples; a --code_prior=learned run's codes are
        drawn (with the same uniform numbers as uniform codes) from the prior its
        `discriminator` reads in the training images (gan_tf.evaluation.code_prior)."""
        discriminator = self.discriminator if discriminator is None else discriminator
        prior = None if discriminator is None else code_prior.served_prior(
            self.config, discriminator, self.train_images)
        codes = self.codes if prior is None else fixed_codes(
            self.config, self.config.eval_samples, EVAL_STREAM, prior)
        given = self.labels if codes is None else codes
        images = tf.concat([
            generator(self.z[part], training=False,
                      labels=None if given is None else given[part])[0]
            for part in inference.batches(int(self.z.shape[0]), 500)], 0)
        return self.images(images.numpy(), self.labels)


def evaluation_bytes(num_samples, z_dim):
    """Rough peak bytes of one evaluation of `num_samples`: their z and images (three
    copies: the generator's chunks, their concatenation, the classifier's input), the
    classifier's outputs and their float64 copies, and the blocks of distances."""
    per_sample = (4 * z_dim + 3 * 4 * IMAGE_PIXELS
                  + (4 + 2 * 8) * (classifier_lib.FEATURE_DIM + 10))
    return num_samples * per_sample + 4 * 8 * metrics.BLOCK_DISTANCES


class RunEvaluation:
    """The evaluations of a run (by the chief, unless --eval_samples=0). The evaluator is
    built at the first one, so that the first step comes fast (it may train the
    classifier). An evaluation that fails is logged and kept in `failure`: training goes
    on without evaluations, and the run reports it once it is saved."""

    def __init__(self, config, data, all_data, run_dir, enabled):
        """Checks now that a classifier can be had and that the evaluation fits in
        memory, not after training."""
        if enabled:
            inference.check_memory(evaluation_bytes(config.eval_samples, config.z_dim),
                                f"--eval_samples={config.eval_samples}", RunError)
            try:
                classifier_lib.check_available(config.classifier_dir, all_data.name)
            except ClassifierError as e:
                raise RunError(f"{e}; or pass --eval_samples=0") from None
        self.config, self.data, self.all_data, self.run_dir = config, data, all_data, run_dir
        self.enabled, self.failure, self._evaluator = enabled, None, None

    def __call__(self, step, generator, discriminator=None):
        """The metrics of `generator` at `step` (with `discriminator`, the codes of a
        --code_prior=learned run), logged; None when the evaluation failed."""
        try:
            self._evaluator = self._evaluator or GeneratorEvaluator(
                self.config, self.data, self.all_data)
            evaluation = self._evaluator(generator, discriminator)
        except (ClassifierError, OSError, LogFileError) as e:
            log.error("Evaluation at step %d failed (%s); training goes on without it.", step, e)
            self.enabled, self.failure = False, e
            return None
        log.info("eval step %d: classifier score %.3f, Frechet distance %.2f, %d/10 modes "
                 "(KL %.3f), precision %.3f, recall %.3f", step,
                 *[evaluation[name] for name in EVAL_KEYS])
        if "label_accuracy" in evaluation:
            log.info("eval step %d: %.1f%% of samples are the class asked for", step,
                     100 * evaluation["label_accuracy"])
        return evaluation

    def write(self, records):
        """eval.json of `records` (after an evaluation, or cut back at a resume)."""
        info = self._evaluator.classifier_info if self._evaluator else None
        write_eval_file(self.run_dir, self.config, records, info)


def write_eval_file(run_dir, config, records, classifier_info=None):
    """eval.json: every evaluation of the run so far, and the last one. Without
    `classifier_info` the file's earlier one is kept (a resume cutting it back)."""
    path = os.path.join(run_dir, EVAL_FILE)
    if classifier_info is None and os.path.exists(path):
        try:  # a small regular file: a pipe would block the read, a huge one cost its size
            classifier_info = fileio.loads_json(
                fileio.read_small(path, MAX_EVAL_BYTES).decode("utf-8")).get("classifier")
        except (OSError, ValueError, AttributeError):  # NotSmallFile is a ValueError
            classifier_info = None
    kept = ("step", "time") + EVAL_KEYS + ("label_accuracy",)
    evaluations = [{name: record[name] for name in kept if name in record}
                   for record in records if "classifier_score" in record]
    best = checkpoints.best_record(evaluations)
    kept = checkpoints.best_checkpoint(os.path.join(run_dir, CHECKPOINT_DIR))
    if best is not None:  # the checkpoint keep_if_best wrote for it, when it did
        named = f"{CHECKPOINT_DIR}/{checkpoints.BEST_PREFIX}-{best['step']}"
        best = {**best, "checkpoint": named if kept and kept.endswith(named) else None}
    doc = {"dataset": config.dataset, "eval_samples": config.eval_samples,
           "classifier": classifier_info, "evaluations": evaluations,
           "final": evaluations[-1] if evaluations else None,
           "best": best, "best_by": checkpoints.BEST_METRIC}
    fileio.atomic_write(path, json.dumps(doc, indent=2).encode("utf-8"))
