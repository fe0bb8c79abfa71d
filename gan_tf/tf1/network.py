"""Generator and Discriminator from a legacy TF1 model function (`--model=tf1`,
gan_tf.tf1.checkpoints.tf1_network).

A legacy `fn(inputs, training)` opens its own variable_scope and creates its variables
with tf.compat.v1.get_variable (directly or through gan_tf.tf1.layers). Called inside
the network's variable store (gan_tf.tf1.store) it creates them on the first call and
reuses them after, eagerly and under tf.function, under exactly the names TF1 gave
them: its old Saver checkpoints load by name, and gan_tf's go back to its old code.
"""
import contextlib
import importlib
import io
import sys
import weakref

import numpy as np
import tensorflow as tf

from gan_tf import data
from gan_tf.errors import ModelFunctionError, PortingError, RunError, TF1PortError
from gan_tf.tf1 import script, seeds
from gan_tf.tf1.store import VariableStore

ROLES = ("generator", "discriminator")


class Network(tf.Module):
    """A legacy model function playing a gan_tf Generator or Discriminator.

    The first call tells which from what `fn` returns: one value per example is a
    discriminator's logit, image-many values a generator's images. `fn` returns
    (output, logits) or one tensor: a generator's images, or a discriminator's logits
    (whose probabilities are then their sigmoid). A generator's images are reshaped to
    `image_shape`; a discriminator is given images reshaped to `input_shape` (e.g. (784,))
    when that is set, else as they are, (batch, 28, 28, 1).
    """

    def __init__(self, fn, name, input_shape=None, image_shape=data.IMAGE_SHAPE, role=None,
                 label=None):
        super().__init__(name=name)
        self.label = label or getattr(fn, "__qualname__", repr(fn))
        if not callable(fn):
            raise ModelFunctionError(f"{self.label} is not callable (a {type(fn).__name__})")
        self._fn, self.role = fn, role
        self.input_shape = None if input_shape is None else tuple(input_shape)
        self.image_shape = tuple(image_shape)
        self.num_classes = self.num_codes = self.label_width = 0  # takes no labels or codes
        self.compute_dtype = "float32"
        self._store = VariableStore()
        self.separate_batches = True  # a legacy D sees real and fake batches in two calls
        self.tf1_variables = {}  # TF1 name -> variable, what tf.train.Checkpoint tracks
        self._last_seed, self._seed_uses = None, 0  # see _dropout_seed

    def __call__(self, x, training=False, update_stats=True, seed=None, labels=None):
        """(images, logits) of a generator or (probs, logits) of a discriminator; the
        function gets `training` as a Python bool. `update_stats=False` keeps the
        moving statistics as they were (gan_tf's D step leaves G's variables alone).
        A stateless `seed` (shape [2]; gan_tf's trainer gives D one per step) seeds the
        function's dropout, so that a resumed run draws the masks an uninterrupted one
        would; with None, it draws as TF1's did (gan_tf.tf1.seeds)."""
        if labels is not None:
            raise ModelFunctionError(f"{self.label} is a legacy model function: it takes "
                                     "no labels (no --conditional)")
        if not isinstance(training, bool):
            raise ModelFunctionError(f"{self.name}: training must be a Python bool (TF1's "
                                     "is_training placeholder becomes this argument)")
        x = tf.convert_to_tensor(x, tf.float32)
        if self.input_shape is not None:
            x = tf.reshape(x, (-1,) + self.input_shape)
        first = not self.tf1_variables
        if first:
            self.input_size = int(x.shape[-1])  # a generator's z_dim
        kept = ([] if first or update_stats or not training else
                [(v, v.read_value()) for v in self.variables if not v.trainable])
        # The first call's tape names every trainable variable the function reads, to
        # find those its store did not create (a Keras layer built at import).
        with self._store.scope(), seeds.scope(self._dropout_seed(seed)), \
                tf.GradientTape(watch_accessed_variables=first) as tape:
            returned = self._fn(x, training)
        for variable, value in kept:
            variable.assign(value)
        outputs = self._outputs(returned, first)
        if first:
            self._adopt_variables(tape.watched_variables())
        return outputs

    def _dropout_seed(self, seed):
        """`seed` folded with how many calls just before this one were given the same seed
        tensor: gan_tf's D step gives its real and its fake batch one, which must not get
        the same masks (a gan_tf model sees the two in one call)."""
        if seed is None:
            return None
        seed = seed if tf.is_tensor(seed) else tf.convert_to_tensor(seed)
        last = self._last_seed() if self._last_seed is not None else None
        self._seed_uses = self._seed_uses + 1 if last is seed else 0
        self._last_seed = weakref.ref(seed)
        return tf.random.experimental.stateless_fold_in(seed, self._seed_uses)

    def _outputs(self, returned, first):
        if isinstance(returned, (tuple, list)) and len(returned) == 2:
            out, logits, pair = returned[0], returned[1], True
        elif tf.is_tensor(returned):
            out, logits, pair = returned, returned, False
        else:
            raise ModelFunctionError(f"{self.label} returned {type(returned).__name__}; a "
                                     "model function returns (output, logits) or one tensor")
        per_example = int(np.prod(logits.shape[1:]))
        role = "discriminator" if per_example == 1 else "generator"
        if first:
            pixels = int(np.prod(self.image_shape))
            if per_example not in (1, pixels) or (self.role and role != self.role):
                raise ModelFunctionError(
                    f"{self.label} returns {per_example} values per example; a generator "
                    f"returns an image's {pixels}, a discriminator one logit")
            self.role = role
        if role == "generator":
            shape = (-1,) + self.image_shape
            return (tf.reshape(tf.cast(out, tf.float32), shape),
                    tf.reshape(tf.cast(logits, tf.float32), shape))
        logits = tf.reshape(tf.cast(logits, tf.float32), (-1, 1))
        probs = tf.reshape(tf.cast(out, tf.float32), (-1, 1)) if pair else tf.sigmoid(logits)
        return probs, logits

    def _adopt_variables(self, read):
        """Tracks what the first call created, all of it under this network's scope;
        `read`, the trainable variables it read, must all be among them (others would be
        neither trained nor saved)."""
        variables = self._store.variables()
        outside = [v.name for v in variables if not v.name.startswith(self.name + "/")]
        if not variables or outside:
            found = f" (it created {', '.join(outside[:4])})" if outside else ""
            raise ModelFunctionError(
                f"{self.label} created no variables under the scope {self.name}/{found}; "
                f"open tf.variable_scope({self.name!r}) in it, as TF1 GAN code does")
        own = {id(v) for v in variables} | {  # a mirrored variable's replicas too
            id(part) for v in variables for part in getattr(v, "values", ())}
        foreign = [v.name for v in read if id(v) not in own]
        if foreign:
            raise ModelFunctionError(
                f"{self.label} uses variables made outside tf.compat.v1.get_variable "
                f"({', '.join(foreign[:4])}{' ...' if len(foreign) > 4 else ''}: a Keras layer "
                "or tf.Variable?), which would be neither trained nor saved; create them in "
                "the function with gan_tf.tf1.layers or get_variable")
        self.tf1_variables = {v.name.split(":")[0]: v for v in variables}

    def build_like(self, role, shapes):
        """Creates the variables as the `role` network whose checkpoint has `shapes` ({name:
        shape}): a generator is tried on each z_dim a 2-D variable of its scope suggests,
        and built with the one that gives the checkpoint's variables."""
        self.role = role
        if role == "discriminator":
            return self(tf.zeros((1,) + self.image_shape))
        expected = {n: s for n, s in shapes.items() if n.startswith(self.name + "/")}
        for z_dim in sorted({shape[0] for shape in expected.values() if len(shape) == 2}):
            trial = Network(self._fn, self.name, self.input_shape, self.image_shape, role)
            try:
                trial(tf.zeros([1, z_dim]))
            except (ValueError, TypeError, tf.errors.OpError, ModelFunctionError):
                continue
            if {n: tuple(v.shape) for n, v in trial.tf1_variables.items()} == expected:
                return self(tf.zeros([1, z_dim]))
        raise PortingError(f"no z_dim gives {self.label} the variables of the checkpoint's "
                           f"{self.name}/: call it once first")

    @property
    def regularized(self):
        """Whether the function gave any of its variables a regularizer."""
        return self._store.regularized

    def regularization_losses(self):
        """{variable name: term} of the regularizers the function gave its variables
        (kernel_regularizer=, get_variable(regularizer=)), from their current values."""
        return self._store.regularization_losses()

    def regularization_loss(self):
        """The sum of regularization_losses(), a scalar (0.0 without any)."""
        terms = list(self.regularization_losses().values())
        return tf.add_n([tf.cast(t, tf.float32) for t in terms]) if terms else tf.constant(0.0)

    def features(self, x, training=False, seed=None):
        raise ModelFunctionError(f"{self.label} is a legacy model function: its last hidden "
                                 "features, which this needs, are not exposed")


def import_function(spec, flag):
    """The function MODULE:FUNCTION names (ModelFunctionError naming `--flag` if none).
    The module is imported with an argv of its own name only (TF1 scripts parse their
    command line at import) and its output held back; its exiting is its failure."""
    module_name, _, attribute = spec.partition(":")
    said = io.StringIO()
    argv, sys.argv = sys.argv, [module_name]
    try:
        with contextlib.redirect_stdout(said), contextlib.redirect_stderr(said), \
                script.model_code():
            module = importlib.import_module(module_name)
    except SystemExit as e:  # sys.exit(), or argparse refusing its (empty) command line
        printed = [line for line in said.getvalue().splitlines() if line.strip()]
        raise ModelFunctionError(
            f"--{flag}={spec}: importing {module_name} exited (status {e.code!r})"
            + (f" saying {printed[-1].strip()[:200]!r}" if printed else "")
            + "; a module of model functions must not run its script or parse arguments "
            "when imported (guard that code with if __name__ == '__main__':)") from None
    except Exception as e:  # anything the module's own code raises, SyntaxError too
        reason = (str(e).splitlines() or [""])[0]
        where = ("" if isinstance(e, TF1PortError) else  # its code, not its location
                 "; run from the folder that holds it or put that folder on PYTHONPATH")
        raise ModelFunctionError(f"--{flag}={spec}: cannot import {module_name} "
                                 f"({type(e).__name__}: {reason}){where}") from None
    finally:
        sys.argv = argv
    if not hasattr(module, attribute):
        raise ModelFunctionError(f"--{flag}={spec}: {module_name} has no {attribute}")
    return getattr(module, attribute)


def check_functions(config, image_shape=data.IMAGE_SHAPE):
    """Builds a --model=tf1 config's networks and runs each in one traced training step on
    the run's batch size, so that a function that does not import, misbehaves, or fails
    only in training (a fixed batch, new variables on each call, variables no gradient
    reaches) is refused (ModelFunctionError, one line) before a run starts."""
    for role in ROLES:
        network = build(config, role, image_shape)
        _check_training_step(network, config, image_shape)


def _check_training_step(network, config, image_shape):
    batch = config.batch_size  # the global batch: a replica's is never larger
    shape = [batch, config.z_dim] if network.role == "generator" else [batch, *image_shape]

    @tf.function(autograph=False)
    def step(x):
        with tf.GradientTape() as tape:
            _, logits = network(x, training=True)
            loss = tf.reduce_mean(tf.square(logits))
        return tape.gradient(loss, network.trainable_variables)

    try:
        gradients = step(tf.random.uniform(shape, -1.0, 1.0))
    except ModelFunctionError:
        raise
    except Exception as e:  # the function's own failure
        reason = (str(e).strip().splitlines() or [""])[0][:300]
        raise ModelFunctionError(f"{network.label} fails in a training step on a batch of "
                                 f"{shape}: {type(e).__name__}: {reason}") from None
    stuck = [v.name for v, g in zip(network.trainable_variables, gradients) if g is None]
    if stuck:
        raise ModelFunctionError(f"{network.label}: no gradient reaches {', '.join(stuck[:4])}"
                                 f"{' ...' if len(stuck) > 4 else ''} from its output, so "
                                 "training would never change them (a tf.stop_gradient, or "
                                 "a variable the output does not use?)")


def build(config, role, image_shape=data.IMAGE_SHAPE):
    """The `role` network of a --model=tf1 config, variables created (by one call)."""
    flag = f"{role}_fn"
    spec = getattr(config, flag)
    flat = role == "discriminator" and config.discriminator_input == "flat"
    network = Network(import_function(spec, flag), role,
                      input_shape=(int(np.prod(image_shape)),) if flat else None,
                      image_shape=image_shape, role=role, label=f"--{flag}={spec}")
    x = tf.zeros([1, config.z_dim] if role == "generator" else (1,) + tuple(image_shape))
    try:
        network(x)
    except ModelFunctionError:
        raise
    except Exception as e:  # the function's own failure (a gan_tf.tf1 refusal among them)
        reason = (str(e).strip().splitlines() or [""])[0]
        raise ModelFunctionError(f"--{flag}={spec} fails on a {x.shape.as_list()} input: "
                                 f"{type(e).__name__}: {reason}") from None
    return network


def check_run_functions(config, run_dir, model_functions):
    """A run of legacy model functions (--model=tf1) is restored only with the same
    (generator_fn, discriminator_fn) named by the caller's command line: config.json
    names them, but gan_tf never imports code that a file names. `model_functions`
    None: the caller takes none (RunError for such a run)."""
    if config.model != "tf1":
        return
    recorded = (config.generator_fn, config.discriminator_fn)
    flags = f"--generator_fn={recorded[0]} --discriminator_fn={recorded[1]}"
    if model_functions is None:
        raise RunError(f"{run_dir} is a run of legacy model functions ({flags}); only "
                       "train_main.py, gan_tf.sample and gan_tf.export restore those")
    if tuple(model_functions) != recorded:
        given = " ".join(f"--{name}={value}" for name, value in
                         zip(("generator_fn", "discriminator_fn"), model_functions) if value)
        raise RunError(f"{run_dir} was trained with {flags}; pass them to restore it "
                       f"(got {given or 'neither'}): gan_tf imports only the code the command "
                       "line names, never what a file names")
