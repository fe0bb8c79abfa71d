"""Flags of train_main.py. They are read only here and become a frozen TrainConfig.

Every value check comes from gan_tf.config_checks.FIELD_CHECKS, so the command line
and library users get the same one-line messages.
"""
import dataclasses

from absl import flags

from gan_tf.config import TrainConfig
from gan_tf.config_checks import (DATASETS, DISCRIMINATOR_INPUTS, FIELD_CHECKS, G_UPSAMPLES,
                                  INITS, LOSS_FAMILIES, MODELS, OPTIMIZERS, STRATEGIES,
                                  Z_DISTRIBUTIONS)

FLAGS = flags.FLAGS
_D = TrainConfig()  # defaults live in one place: the config
LIST_FLAGS = ("g_hidden", "d_hidden", "g_channels", "d_channels", "exclude_classes")

# What and where.
flags.DEFINE_enum("model", _D.model, MODELS, "Architecture of G and D (tf1: legacy model "
                  "functions, set by --generator_fn and --discriminator_fn).")
flags.DEFINE_enum("dataset", _D.dataset, DATASETS,
                  "mnist falls back to the embedded 5,000 digits when the full set is unreachable.")
flags.DEFINE_string("data_dir", None, "Directory with mnist.npz or the four IDX .gz files.")
flags.DEFINE_string("output_dir", None, "Run directory (default runs/<model>_<dataset>). "
                    "An existing run there is resumed.")
flags.DEFINE_boolean("overwrite", False, "Replace a run with a different configuration "
                     "in --output_dir instead of refusing.")
flags.DEFINE_boolean("allow_data_change", False, "Resume a run on data other than it trained "
                     "on (refused by default: config.json records the data's source, sizes "
                     "and fingerprint).")
# Data and latent space.
flags.DEFINE_integer("batch_size", _D.batch_size, "Images per batch.")
flags.DEFINE_integer("z_dim", _D.z_dim, "Size of the latent vector z.")
flags.DEFINE_enum("z_distribution", _D.z_distribution, Z_DISTRIBUTIONS,
                  "uniform in [-1, 1] or standard normal.")
# Architecture sizes; unset means the architecture's default (see gan_tf/models/mlp.py, dcgan.py).
flags.DEFINE_list("g_hidden", None, "mlp: G hidden layer sizes (default 128).")
flags.DEFINE_list("d_hidden", None, "mlp: D hidden layer sizes (default 128).")
flags.DEFINE_list("g_channels", None, "dcgan: G channels, first at 7x7 (default 256,128,64).")
flags.DEFINE_list("d_channels", None, "dcgan: D conv channels (default 64,128).")
flags.DEFINE_integer("kernel_size", None, "dcgan: convolution kernel size (default 5).")
flags.DEFINE_float("leak", None, "Leaky ReLU slope (default mlp 0.01, dcgan 0.2).")
flags.DEFINE_boolean("g_batchnorm", None, "mlp: batch norm in G's hidden layers (default off).")
flags.DEFINE_float("bn_momentum", None, "Batch norm moving-average momentum (default 0.99).")
flags.DEFINE_float("dropout", None, "Dropout rate in D (default mlp 0, dcgan 0.3).")
flags.DEFINE_boolean("conditional", False, "Class-conditional G (one-hot label with z) and D "
                     "(projection discriminator): sample a chosen digit.")
flags.DEFINE_integer("latent_categories", _D.latent_categories, "InfoGAN without labels: a "
                     "categorical code of this many values joins z, and a head on D learns to "
                     "read it back from G's image (0: off; e.g. 10 for digits). Not a class: "
                     "G decides what each value draws.")
flags.DEFINE_float("info_weight", _D.info_weight, "Weight of the code's cross-entropy in G's "
                   "and D's losses (InfoGAN's lambda; with --latent_categories).")
flags.DEFINE_list("exclude_classes", [], "Classes (0-9) to leave out of training: a GAN of "
                  "the others, for anomaly scoring (python -m gan_tf.anomaly).")
flags.DEFINE_enum("init", _D.init, INITS, "Kernel initialiser: TF1's glorot (uniform), the "
                  "DCGAN paper's normal_0.02, or he (normal, variance 2/fan_in).")
flags.DEFINE_boolean("spectral_norm", _D.spectral_norm, "Spectral normalisation of D's "
                     "kernels (Miyato et al. 2018), one power iteration per training pass.")
flags.DEFINE_enum("g_upsample", _D.g_upsample, G_UPSAMPLES, "dcgan: G's stride-2 layers as "
                  "transposed convolutions or nearest-neighbour x2 resize + convolution.")
flags.DEFINE_boolean("minibatch_stddev", _D.minibatch_stddev, "dcgan: a minibatch "
                     "standard-deviation feature map in D before the flatten (ProGAN's, "
                     "groups of up to 4 images).")
# Optimisation.
flags.DEFINE_enum("optimizer", _D.optimizer, OPTIMIZERS, "Optimizer of both networks.")
flags.DEFINE_float("g_learning_rate", _D.g_learning_rate, "Generator learning rate.")
flags.DEFINE_float("d_learning_rate", _D.d_learning_rate, "Discriminator learning rate.")
flags.DEFINE_float("g_beta1", _D.g_beta1, "Generator Adam beta1.")
flags.DEFINE_float("d_beta1", _D.d_beta1, "Discriminator Adam beta1.")
flags.DEFINE_integer("d_steps_per_g_step", _D.d_steps_per_g_step,
                     "Discriminator updates per generator update.")
# The loss (gan_tf/losses.py), and penalties on D's input gradients with any loss.
flags.DEFINE_enum("loss", _D.loss, LOSS_FAMILIES, "GAN loss family: non_saturating (sigmoid "
                  "cross-entropy), hinge, least_squares or wasserstein.")
flags.DEFINE_float("label_smoothing", _D.label_smoothing, "Real images' label (non_saturating).")
flags.DEFINE_float("r1_gamma", _D.r1_gamma, "R1 penalty gamma/2 * E||grad D(x)||^2 on real "
                   "images, added to D's loss (Mescheder et al. 2018; 0: off).")
flags.DEFINE_float("gradient_penalty", _D.gradient_penalty, "WGAN-GP penalty lambda * "
                   "E(||grad D(x_hat)|| - 1)^2 on real/fake interpolates, added to D's loss "
                   "(0: off).")
# The training tricks (off by default; docs/quality.md has what each did here).
flags.DEFINE_float("instance_noise", _D.instance_noise, "Std of Gaussian noise added to D's "
                   "real and fake inputs, decaying linearly to 0 over --instance_noise_steps.")
flags.DEFINE_integer("instance_noise_steps", _D.instance_noise_steps,
                     "Steps over which --instance_noise decays to 0.")
flags.DEFINE_float("label_flip", _D.label_flip, "Probability of swapping an example's "
                   "real/fake label in D's loss (--loss=non_saturating only).")
flags.DEFINE_integer("d_translate", _D.d_translate, "Shift each image D sees (real or fake) by "
                     "up to this many pixels (DiffAugment's translation; 0: off).")
flags.DEFINE_string("diffaugment", _D.diffaugment, "DiffAugment policies on every image D "
                    "sees, real or fake, in D's and G's updates: color, translation (1/8 of "
                    "the size), cutout, joined by commas and applied in that order ('': off).")
flags.DEFINE_float("g_ema", _D.g_ema, "Decay of an exponential moving average of G's weights "
                   "(e.g. 0.999; 0: off). Samples, evaluations, sample and export use it.")
flags.DEFINE_integer("epochs", None, "Passes over the training split "
                     "(default: 55,000 steps when --max_steps is not given either).")
flags.DEFINE_integer("max_steps", None, "Total generator steps; overrides --epochs.")
flags.DEFINE_boolean("jit_compile", None, "XLA-compile the train step (default: on for mlp, "
                     "off for dcgan, as measured in docs/performance.md).")
flags.DEFINE_boolean("joint_updates", None, "Update G and D from one forward pass, as the "
                     "TensorFlow DCGAN tutorial does (default: on for dcgan, off for mlp, whose "
                     "TF1 original alternates).")
flags.DEFINE_integer("seed", _D.seed, "Seed of weights, data order, z and dropout.")
flags.DEFINE_boolean("deterministic", False, "Enable TensorFlow op determinism, so that two "
                     "runs with the same seed write bitwise-identical logs (may be slower).")
# Intervals.
flags.DEFINE_integer("log_every", None, "Steps per log record (default: one epoch).")
flags.DEFINE_integer("sample_every", None,
                     "Steps per sample grid (default: one epoch or 1,000 steps, the longer).")
flags.DEFINE_integer("checkpoint_every", None,
                     "Steps per checkpoint (default: one epoch or 1,000 steps, the longer).")
flags.DEFINE_integer("num_samples", _D.num_samples, "Images in the fixed-z sample grid.")
flags.DEFINE_float("progress_seconds", _D.progress_seconds, "Seconds between progress lines "
                   "(redrawn in place on a terminal); --log_every decides the log records.")
flags.DEFINE_boolean("tf_log", False, "Show TensorFlow's C++ start-up messages (hidden by "
                     "default).")
flags.DEFINE_integer("max_seconds", None, "Stop after this many seconds of training set-up "
                     "and steps (saving, sampling and evaluating as at the end); rerun to go on.")
# Evaluation (gan_tf.evaluation.metrics): written to metrics.jsonl, TensorBoard and eval.json.
flags.DEFINE_integer("eval_every", None, "Steps per evaluation (default: at the end only).")
flags.DEFINE_integer("eval_samples", _D.eval_samples, "Samples per evaluation (0: none).")
flags.DEFINE_string("classifier_dir", None, "Classifier of gan_tf.classifier whose space the "
                    "metrics use (default: the cached one for the dataset, trained on first use).")
# Scaling out (docs/scaling.md).
flags.DEFINE_enum("strategy", _D.strategy, STRATEGIES, "tf.distribute strategy: default (one "
                  "device), mirrored (this machine's GPUs, or --cpu_devices), multi_worker "
                  "(processes described by TF_CONFIG) or tpu. --batch_size stays the global batch.")
flags.DEFINE_string("tpu", None, "--strategy=tpu: TPU name or grpc:// address (default: the "
                    "one TPUClusterResolver finds, e.g. on a TPU VM).")
flags.DEFINE_integer("cpu_devices", None, "Split the CPU into this many logical devices, so "
                     "that --strategy=mirrored runs replicas without GPUs (a correctness check, "
                     "not a speed-up).")
flags.DEFINE_boolean("mixed_precision", False, "Compute in float16 on GPUs (with loss "
                     "scaling) or bfloat16 on TPUs and CPUs; variables, losses and outputs stay "
                     "float32.")
# Porting.
flags.DEFINE_string("init_from_tf1_checkpoint", None,
                    "Start from a TF1 Saver checkpoint (prefix or directory), e.g. the legacy "
                    "notebook's checkpoints/; generator-only checkpoints are fine.")
flags.DEFINE_string("tf1_name_map", None,
                    "File mapping the TF1 checkpoint's variable names (or prefixes) to gan_tf's: "
                    "JSON object or 'old new' lines.")

# A legacy TF1 model's own networks (docs/porting.md, "Your own TF1 model").
flags.DEFINE_string("generator_fn", None, "A legacy TF1 generator function fn(z, training), "
                    "MODULE:FUNCTION, MODULE importable from the working directory or "
                    "PYTHONPATH; with --discriminator_fn, implies --model=tf1.")
flags.DEFINE_string("discriminator_fn", None, "The legacy discriminator function fn(x, "
                    "training), MODULE:FUNCTION.")
flags.DEFINE_boolean("tf1_regularization", _D.tf1_regularization, "Add the weight "
                     "regularizers of legacy functions (kernel_regularizer=, "
                     "get_variable(regularizer=)) to their network's loss, as TF-GAN's gan_loss "
                     "did; logged as g_reg_loss and d_reg_loss.")
flags.DEFINE_enum("discriminator_input", None, DISCRIMINATOR_INPUTS, "How --discriminator_fn "
                  "takes images: image, (batch, 28, 28, 1) (default), or flat, (batch, 784) as "
                  "the TF1 notebook's.")


def _int_list(values):
    return None if values is None else tuple(int(v) for v in values)


def _validator(name):
    check, message = FIELD_CHECKS[name]

    def validate(value):
        try:
            return check(_int_list(value) if name in LIST_FLAGS else value)
        except (TypeError, ValueError):
            return False
    return validate, message


for _name in FIELD_CHECKS:
    if _name in FLAGS and not isinstance(FLAGS[_name], flags.EnumFlag):
        flags.register_validator(_name, *_validator(_name))


def to_config(flag_values=FLAGS):
    """The parsed flags as a frozen TrainConfig."""
    values = {}
    for field in dataclasses.fields(TrainConfig):
        value = flag_values[field.name].value
        values[field.name] = _int_list(value) if field.name in LIST_FLAGS else value
    if (values["generator_fn"] or values["discriminator_fn"]) and not flag_values["model"].present:
        values["model"] = "tf1"
    return TrainConfig(**values)
