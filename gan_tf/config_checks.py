"""The values each TrainConfig field may take (the choices, and one check and one-line
message per field), shared by `TrainConfig.validate()` and the flag validators in
`flags/`, so both say the same thing."""
import math
import re

MODELS = ("mlp", "dcgan", "tf1")  # tf1: legacy model functions, --generator_fn/--discriminator_fn
DATASETS = ("mnist", "mnist_5k", "fashion_mnist")
Z_DISTRIBUTIONS = ("uniform", "normal")
OPTIMIZERS = ("adam", "rmsprop")
LOSS_FAMILIES = ("non_saturating", "hinge", "least_squares", "wasserstein")  # gan_tf.losses.LOSSES
DIFFAUGMENT_POLICIES = ("color", "translation", "cutout")  # gan_tf.training.augmentations.POLICIES
G_UPSAMPLES = ("transpose", "resize")  # dcgan's stride-2 layers in G, see gan_tf.models.dcgan
INITS = ("glorot", "normal_0.02", "he")  # kernel initialisers, see gan_tf.models.layers
STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")  # see gan_tf.training.distribute
MAX_CATEGORIES = 1000  # --latent_categories: one-hot columns of G's first kernel
MAX_SEED = 2 ** 63 - 1  # seeds become int64 tensors
FUNCTION_SPEC = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*")  # --generator_fn=MODULE:FUNCTION
DISCRIMINATOR_INPUTS = ("image", "flat")


def _finite(v):
    """A real number, not inf or nan (TensorFlow would train on those and diverge)."""
    return not isinstance(v, bool) and (isinstance(v, int) or
                                        (isinstance(v, float) and math.isfinite(v)))


def _positive(v):
    return v is None or (_finite(v) and v > 0)


def _positive_list(v):
    return v is None or (len(v) > 0 and all(isinstance(u, int) and u > 0 for u in v))


def _probability(v):
    return v is None or 0.0 <= v < 1.0


def _policy(v):
    """'' or DIFFAUGMENT_POLICIES' names joined by commas, each at most once."""
    if not isinstance(v, str):
        return False
    names = v.split(",") if v else []
    return all(n in DIFFAUGMENT_POLICIES for n in names) and len(set(names)) == len(names)


def _one_of(choices):
    return lambda v: v in choices


# field -> (check, message); None means "the model's default" and is accepted.
FIELD_CHECKS = {
    "model": (_one_of(MODELS), f"must be one of {', '.join(MODELS)}"),
    "output_dir": (lambda v: v is None or (isinstance(v, str) and v.strip() != ""),
                   "must not be empty (leave it out for runs/<model>_<dataset>)"),
    "dataset": (_one_of(DATASETS), f"must be one of {', '.join(DATASETS)}"),
    "z_distribution": (_one_of(Z_DISTRIBUTIONS), "must be uniform or normal"),
    "optimizer": (_one_of(OPTIMIZERS), "must be adam or rmsprop"),
    "batch_size": (_positive, "must be a positive integer"),
    "z_dim": (_positive, "must be a positive integer"),
    "epochs": (_positive, "must be a positive integer"),
    "max_steps": (_positive, "must be a positive integer"),
    "d_steps_per_g_step": (_positive, "must be a positive integer"),
    "log_every": (_positive, "must be a positive number of steps"),
    "sample_every": (_positive, "must be a positive number of steps"),
    "checkpoint_every": (_positive, "must be a positive number of steps"),
    "num_samples": (_positive, "must be a positive integer"),
    "progress_seconds": (lambda v: 0 <= v < float("inf"), "must be a number of seconds >= 0"),
    "kernel_size": (_positive, "must be a positive integer"),
    "g_hidden": (_positive_list, "must be a non-empty list of positive integers"),
    "d_hidden": (_positive_list, "must be a non-empty list of positive integers"),
    "g_channels": (lambda v: _positive_list(v) and (v is None or len(v) >= 2),
                   "must list at least two positive channel counts"),
    "d_channels": (_positive_list, "must be a non-empty list of positive integers"),
    "g_learning_rate": (_positive, "must be a positive finite number"),
    "d_learning_rate": (_positive, "must be a positive finite number"),
    "g_beta1": (_probability, "must be in [0, 1)"),
    "d_beta1": (_probability, "must be in [0, 1)"),
    "bn_momentum": (_probability, "must be in [0, 1)"),
    "dropout": (_probability, "must be in [0, 1)"),
    "leak": (lambda v: v is None or (_finite(v) and v >= 0), "must be a finite number >= 0"),
    "label_smoothing": (lambda v: 0.0 < v <= 1.0, "must be in (0, 1]"),
    "loss": (_one_of(LOSS_FAMILIES), f"must be one of {', '.join(LOSS_FAMILIES)}"),
    "r1_gamma": (lambda v: _finite(v) and v >= 0, "must be a finite number >= 0 (0: off)"),
    "gradient_penalty": (lambda v: _finite(v) and v >= 0, "must be a finite number >= 0 (0: off)"),
    "seed": (lambda v: isinstance(v, int) and 0 <= v <= MAX_SEED,
             f"must be an integer from 0 to {MAX_SEED} (2**63 - 1)"),
    "latent_categories": (lambda v: type(v) is int and (v == 0 or 2 <= v <= MAX_CATEGORIES),
                          f"must be 0 (off) or 2 to {MAX_CATEGORIES} categories"),
    "info_weight": (lambda v: _finite(v) and v >= 0, "must be a finite number >= 0"),
    "init": (_one_of(INITS), f"must be one of {', '.join(INITS)}"),
    "spectral_norm": (lambda v: isinstance(v, bool), "must be true or false"),
    "g_upsample": (_one_of(G_UPSAMPLES), f"must be one of {', '.join(G_UPSAMPLES)}"),
    "minibatch_stddev": (lambda v: isinstance(v, bool), "must be true or false"),
    "instance_noise": (lambda v: _finite(v) and v >= 0,
                       "must be a finite number >= 0 (a standard deviation)"),
    "instance_noise_steps": (_positive, "must be a positive number of steps"),
    "label_flip": (lambda v: 0.0 <= v < 0.5, "must be a probability in [0, 0.5)"),
    "g_ema": (lambda v: 0.0 <= v < 1.0, "must be in [0, 1) (0: off)"),
    "d_translate": (lambda v: isinstance(v, int) and 0 <= v <= 8, "must be 0 to 8 pixels"),
    "diffaugment": (_policy, f"must be policies from {', '.join(DIFFAUGMENT_POLICIES)} joined "
                             "by commas, each at most once (e.g. translation,cutout)"),
    "eval_every": (_positive, "must be a positive number of steps"),
    "eval_samples": (lambda v: isinstance(v, int) and (v == 0 or v > 3),
                     "must be 0 (no evaluation) or more than 3 samples"),
    "max_seconds": (_positive, "must be a positive finite number of seconds"),
    "strategy": (_one_of(STRATEGIES), f"must be one of {', '.join(STRATEGIES)}"),
    "cpu_devices": (_positive, "must be a positive number of logical CPU devices"),
    "generator_fn": (lambda v: v is None or FUNCTION_SPEC.fullmatch(v),
                     "must be MODULE:FUNCTION, e.g. my_gan:generator"),
    "discriminator_fn": (lambda v: v is None or FUNCTION_SPEC.fullmatch(v),
                         "must be MODULE:FUNCTION, e.g. my_gan:discriminator"),
    "discriminator_input": (lambda v: v is None or v in DISCRIMINATOR_INPUTS,
                            "must be image (batch, 28, 28, 1) or flat (batch, 784)"),
    "exclude_classes": (lambda v: len(set(v)) == len(v) and len(v) < 10
                        and all(isinstance(c, int) and 0 <= c <= 9 for c in v),
                        "must list distinct classes 0 to 9, not all ten"),
}
