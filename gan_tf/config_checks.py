"""The choices and predicates TrainConfig's fields are declared with (gan_tf.config):
importable without TensorFlow or absl, so the command checks its flags first."""
import math
import re

MODELS = ("mlp", "dcgan", "tf1")  # tf1: legacy model functions, --generator_fn/--discriminator_fn
DATASETS = ("mnist", "mnist_5k", "fashion_mnist")
Z_DISTRIBUTIONS = ("uniform", "normal")
OPTIMIZERS = ("adam", "rmsprop")
LOSS_FAMILIES = ("non_saturating", "hinge", "least_squares", "wasserstein")  # gan_tf.losses.LOSSES
DIFFAUGMENT_POLICIES = ("color", "translation", "cutout")  # gan_tf.training.augmentations.POLICIES
LR_DECAYS = ("none", "linear")  # gan_tf.training.schedules.learning_rate_factor
G_UPSAMPLES = ("transpose", "resize")  # dcgan's stride-2 layers in G, see gan_tf.models.dcgan
INITS = ("glorot", "normal_0.02", "he")  # kernel initialisers, see gan_tf.models.layers
STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")  # see gan_tf.training.distribute
MAX_THREADS = 4096  # the most --intra_op_threads (and config.json's threads_per_op) takes
PRECISIONS = ("auto", "off", "on", "bfloat16", "float16", "native")  # see gan_tf.training.precision
COMPUTE_DTYPES = ("float32", "bfloat16", "float16")  # what a run may compute in (config.json)
MAX_LAYERS = 1024  # widths or channels a list flag takes: its length is layers to build
MAX_POOL = 4096  # --coverage_pool: samples G draws (and back-propagates) each step beside its batch
MAX_CATEGORIES = 1000  # --latent_categories: one-hot columns of G's first kernel
MAX_SEED = 2 ** 63 - 1  # seeds become int64 tensors
FUNCTION_SPEC = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*")  # --generator_fn=MODULE:FUNCTION
DISCRIMINATOR_INPUTS = ("image", "flat")


# TensorFlow's checkpoint reader (and so SavedModel loading) matches a checkpoint's path as
# a glob pattern: under a folder whose path holds [ or \ it finds no files, and * or ?
# may match another folder's. Paths that will hold checkpoints are refused.
PATTERN_CHARACTERS = "[\\*?"
PATTERN_MESSAGE = ("holds [, *, ? or a backslash, which TensorFlow's checkpoint reader takes "
                   "as a glob pattern: it would not find what is saved there, or find another "
                   "folder's files")


def pattern_free(path):
    """Whether TensorFlow can read checkpoints back from under `path` as it is given to
    TensorFlow (a relative path is matched as given: the working folder's name does not
    count unless the path is made absolute)."""
    return not any(c in path for c in PATTERN_CHARACTERS)


def finite(v):
    """A real number, not inf or nan (TensorFlow would train on those and diverge)."""
    return not isinstance(v, bool) and (isinstance(v, int) or
                                        (isinstance(v, float) and math.isfinite(v)))


# The check of a weight that 0 turns off (a loss term's, a penalty's): (test, message).
OFF_OR_WEIGHT = (lambda v: finite(v) and v >= 0, "must be a finite number >= 0 (0: off)")


def positive(v):
    return v is None or (finite(v) and v > 0)


def positive_list(v):
    """None, or 1 to MAX_LAYERS positive integers."""
    return v is None or (0 < len(v) <= MAX_LAYERS and all(isinstance(u, int) and u > 0 for u in v))


def probability(v):
    return v is None or 0.0 <= v < 1.0


def policy(v):
    """'' or DIFFAUGMENT_POLICIES' names joined by commas, each at most once."""
    if not isinstance(v, str):
        return False
    names = v.split(",") if v else []
    return all(n in DIFFAUGMENT_POLICIES for n in names) and len(set(names)) == len(names)


def one_of(choices):
    return lambda v: v in choices
