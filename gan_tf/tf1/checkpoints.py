"""TF1 checkpoints in and out: load a legacy `tf.train.Saver` checkpoint into gan_tf's
models, and write gan_tf's variables under their TF1 names for legacy code.

TF1 `Saver` checkpoints are keyed by variable name (`generator/dense/kernel`),
which is exactly how gan_tf names its variables, so loading is a matter of
matching names and shapes. Optimizer state that a full `Saver()` also stores
(`.../Adam`, `.../Adam_1`, `beta1_power`, `global_step`, ...) is skipped.
"""
import logging
import os
import re
import warnings

import numpy as np
import tensorflow as tf

from gan_tf import config_checks, data
from gan_tf.data.files import one_line_error
from gan_tf.errors import PortingError, checkpoint_errors
from gan_tf import models
from gan_tf.models import base, mlp
from gan_tf import fileio
from gan_tf.tf1 import network

OPTIMIZER_STATE = re.compile(
    r"(/(Adam|RMSProp|Momentum|Adagrad|ExponentialMovingAverage)(_\d+)?$)"
    r"|(^(beta1_power|beta2_power|global_step)(_\d+)?$)")
STATE_FILE = "checkpoint"  # the Saver's index of a folder's checkpoints
MAX_STATE_BYTES = 1 << 20  # it names a few checkpoints: a few hundred bytes
MAX_NAME_MAP_BYTES = 1 << 20  # a --tf1_name_map renames tens of variables
log = logging.getLogger(__name__)


def resolve_checkpoint(path):
    """A checkpoint prefix from a prefix or a directory (as tf.train.latest_checkpoint takes).
    PortingError if there is none, or if TensorFlow could not read it from there."""
    _check_readable(path)  # a folder too: tf.train.latest_checkpoint globs it
    prefix = _resolve(path)
    _check_readable(prefix)
    return prefix


def _check_readable(path, advice="move or rename the folder"):
    """PortingError if TensorFlow takes `path` as a pattern (config_checks.pattern_free)."""
    if not config_checks.pattern_free(path):
        raise PortingError(f"{path}: the path {config_checks.PATTERN_MESSAGE}; {advice}")


def _resolve(path):
    if os.path.isdir(path):
        state = os.path.join(path, STATE_FILE)
        try:  # a small text file: a pipe would hang TF's read of it, a huge one cost its size
            if os.path.lexists(state):
                fileio.read_small(state, MAX_STATE_BYTES).decode("utf-8")
            prefix = tf.train.latest_checkpoint(path)
        except fileio.NotSmallFile as e:
            raise PortingError(f"{state}: not a TF checkpoint state file ({e.why})") from None
        except UnicodeDecodeError:
            raise PortingError(f"{state}: not a TF checkpoint state file (not UTF-8 "
                               "text)") from None
        except (OSError, ValueError) as e:  # TF's parse of it: ValueError
            raise PortingError(f"{state}: not a TF checkpoint state file "
                               f"({one_line_error(e)})") from None
        if prefix is None:
            raise PortingError(f"{path}: no TF checkpoint in this directory "
                               "(no 'checkpoint' state file naming one)")
        return prefix
    if os.path.exists(path + ".index"):
        return path
    raise PortingError(f"{path}: no TF checkpoint here (expected {path}.index or a directory)")


def read_name_map(name_map):
    """A {checkpoint name or prefix: gan_tf name or prefix} dict from a dict or a file.

    The file is JSON (an object), or text with one `old new` pair per line (# comments).
    """
    if name_map is None or isinstance(name_map, dict):
        return dict(name_map or {})
    try:  # a small text file: a pipe would hang the read, a huge one cost its size
        text = fileio.read_small(name_map, MAX_NAME_MAP_BYTES).decode("utf-8")
    except OSError as e:
        raise PortingError(f"{name_map}: cannot read name map ({e.strerror or e})") from None
    except fileio.NotSmallFile as e:
        raise PortingError(f"{name_map}: not a name map ({e.why})") from None
    except UnicodeDecodeError:
        raise PortingError(f"{name_map}: not a name map (not UTF-8 text)") from None
    if text.lstrip().startswith("{"):
        try:
            mapping = fileio.loads_json(text)
        except ValueError as e:
            raise PortingError(f"{name_map}: invalid JSON name map ({e})") from None
        if not all(isinstance(old, str) and isinstance(new, str) for old, new in mapping.items()):
            raise PortingError(f"{name_map}: a name map maps strings to strings")
        return mapping
    mapping = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 2:
            raise PortingError(f"{name_map}:{number}: expected 'old_name new_name', got {line!r}")
        mapping[parts[0]] = parts[1]
    return mapping


def map_name(name, name_map):
    """Renames by the longest matching entry: a whole name or a prefix ending at a '/'."""
    for old in sorted(name_map, key=len, reverse=True):
        stem = old.rstrip("/")
        if name == stem:
            return name_map[old].rstrip("/")
        if name.startswith(stem + "/"):
            return name_map[old].rstrip("/") + name[len(stem):]
    return name


def _module_variables(module):
    return {v.name.split(":")[0]: v for v in module.variables}


def read_tf1_checkpoint(path, name_map=None):
    """{gan_tf name: numpy value} of a TF1 checkpoint's model variables (optimizer state skipped)."""
    prefix = resolve_checkpoint(path)
    mapping = read_name_map(name_map)
    try:
        reader = tf.train.load_checkpoint(prefix)
        shapes = reader.get_variable_to_shape_map()
    except checkpoint_errors() as e:
        raise PortingError(f"{prefix}: cannot read checkpoint ({str(e).splitlines()[0]})") from None
    if any(".ATTRIBUTES" in name for name in shapes):
        folder = os.path.dirname(os.path.abspath(prefix))
        run_dir = (os.path.dirname(folder) if os.path.exists(
            os.path.join(os.path.dirname(folder), "config.json")) else "RUN")
        raise PortingError(f"{prefix}: this is a TF2 object-based checkpoint (a gan_tf run's), "
                           "not a TF1 Saver checkpoint; export it as one first: python -m "
                           f"gan_tf.export --run_dir={run_dir} --tf1_checkpoint_out=DIR/ and "
                           "start from DIR")
    names = [n for n in sorted(shapes) if not (n.startswith("_") or OPTIMIZER_STATE.search(n))]
    _check_claims(prefix, names, shapes, reader.get_variable_to_dtype_map())
    values = {}
    for name in names:
        try:
            values[map_name(name, mapping)] = reader.get_tensor(name)
        except checkpoint_errors() as e:
            raise PortingError(f"{prefix}: cannot read {name} ({str(e).splitlines()[0]})") from None
    return values


def _check_claims(prefix, names, shapes, dtypes):
    """PortingError before reading if a variable is not numbers (TF1 `string` or resource
    variables cannot be weights), or the variables claim more bytes than the checkpoint's
    data files hold: an index's shapes decide what reading allocates."""
    for name in names:
        if not (dtypes[name].is_floating or dtypes[name].is_integer or dtypes[name].is_bool):
            raise PortingError(f"{prefix}: {name} holds {dtypes[name].name} values, not numbers")
    folder, stem = os.path.split(os.path.abspath(prefix))  # not a glob: [ * ? in the path
    held = sum(os.path.getsize(os.path.join(folder, n)) for n in os.listdir(folder)
               if n.startswith(stem + ".data-"))
    claimed = 0
    for name in names:
        size = int(np.prod(shapes[name], dtype=np.float64)) * dtypes[name].size
        claimed += size
        if claimed > held:  # (the sum: a single variable's size is part of it)
            raise PortingError(f"{prefix}: {name} claims {size:,} bytes (all read so far "
                               f"{claimed:,}); the checkpoint's data files hold {held:,}")


def load_tf1_checkpoint(path, generator=None, discriminator=None, name_map=None):
    """Loads a TF1 checkpoint into gan_tf models; returns {name: shape} of what it loaded.
    A model not called yet is first built from the checkpoint's shapes.

    Only the modules passed are loaded (a generator-only checkpoint, as the legacy
    notebook saved, loads into `generator` alone). Every variable of each module
    must be in the checkpoint with the same shape, and the checkpoint may hold no
    other model variable under a loaded module's scope; otherwise one PortingError
    lists every missing, extra and mis-shaped variable. Nothing is assigned then.
    """
    modules = [m for m in (generator, discriminator) if m is not None]
    if not modules:
        raise PortingError("load_tf1_checkpoint needs a generator, a discriminator or both")
    stored = read_tf1_checkpoint(path, name_map)
    targets = {}
    for module, role in ((generator, "generator"), (discriminator, "discriminator")):
        if module is not None:
            if not module.variables:
                build_from_checkpoint(module, role, stored)
            targets.update(_module_variables(module))
    scopes = tuple(m.name + "/" for m in modules)
    missing = sorted(n for n in targets if n not in stored)
    extra = sorted(n for n in stored if n.startswith(scopes) and n not in targets)
    misshaped = sorted(f"{n} {list(stored[n].shape)} != {targets[n].shape.as_list()}"
                       for n in targets if n in stored
                       and tuple(stored[n].shape) != tuple(targets[n].shape))
    if missing or extra or misshaped:
        problems = [f"{label}: {', '.join(items)}" for label, items in
                    (("missing", missing), ("extra", extra), ("mis-shaped", misshaped)) if items]
        others = sorted(n for n in stored if not n.startswith(scopes))
        hint = f" (checkpoint also holds: {', '.join(others[:6])})" if others else ""
        raise PortingError(f"{resolve_checkpoint(path)} does not fit "
                           f"{' and '.join(m.name for m in modules)}: "
                           f"{'; '.join(problems)}{hint}; a name map can rename variables")
    for name, variable in targets.items():
        variable.assign(stored[name].astype(variable.dtype.as_numpy_dtype))
    return {name: tuple(stored[name].shape) for name in targets}


def tf1_network(fn, name, input_shape=None):
    """A legacy TF1 model function `fn(inputs, training)` as a gan_tf Generator or
    Discriminator (gan_tf.tf1.network.Network): `name` is the scope the function opens,
    `input_shape` e.g. (784,) for a discriminator that takes images flat. Deprecated:
    gan_tf.tf1.network.Network(fn, name, input_shape) is the one name (this alias goes in 0.4)."""
    warnings.warn("gan_tf.porting.tf1_network is deprecated: use gan_tf.tf1.network.Network",
                  DeprecationWarning, stacklevel=2)
    return network.Network(fn, name, input_shape=input_shape)


def _first_kernel_rows(stored, scope, layer):
    """Rows of `scope/layer/kernel` in a checkpoint (None if it has none)."""
    kernel = stored.get(f"{scope}/{layer}/kernel")
    return None if kernel is None else kernel.shape[0]


def build_from_checkpoint(module, role, stored):
    """Creates the variables of a network not called yet with one call on inputs sized by
    the checkpoint `stored` ({name: value}): a generator's z_dim from the kernel that reads
    z, a discriminator's input from its first layer; PortingError where they cannot tell."""
    if isinstance(module, network.Network):
        return module.build_like(role, {n: tuple(v.shape) for n, v in stored.items()})
    rows = _first_kernel_rows(stored, module.name, "dense")
    if isinstance(module, base.Generator) and rows is not None:
        module(tf.zeros([1, rows - module.label_width]),
               labels=[0] if module.label_width else None)
    elif isinstance(module, base.Discriminator) and (
            rows is not None or f"{module.name}/conv2d/kernel" in stored):
        x = (tf.zeros([1, rows]) if f"{module.name}/conv2d/kernel" not in stored else
             tf.zeros((1,) + data.IMAGE_SHAPE[:2] + stored[f"{module.name}/conv2d/kernel"].shape[2:3]))
        module(x, labels=[0] if module.num_classes else None)
        models.build_heads(module, x)
    else:
        raise PortingError(f"the {module.name} has no variables yet and the checkpoint does "
                           f"not tell its input size (no {module.name}/dense/kernel): call it "
                           "once first")


def init_from_tf1(config, generator, discriminator):
    """Loads a run's --init_from_tf1_checkpoint: the generator, and the discriminator if the
    checkpoint has one."""
    path, name_map = config.init_from_tf1_checkpoint, config.tf1_name_map
    stored = read_tf1_checkpoint(path, name_map)
    has_d = any(n.startswith(discriminator.name + "/") for n in stored)
    loaded = load_tf1_checkpoint(path, generator, discriminator if has_d else None, name_map)
    log.info("Initialised %d variables from TF1 checkpoint %s%s.", len(loaded),
             resolve_checkpoint(path), "" if has_d else " (generator only)")


def mlp_sizes_from_checkpoint(path, scope="generator", name_map=None):
    """(input size, hidden sizes, batchnorm) of a TF1 MLP scope, read from its kernels."""
    stored = read_tf1_checkpoint(path, name_map)
    kernels = []
    i = 0
    while True:
        name = f"{scope}/dense{'' if i == 0 else f'_{i}'}/kernel"
        if name not in stored:
            break
        kernels.append(stored[name].shape)
        i += 1
    if len(kernels) < 2 or any(len(shape) != 2 for shape in kernels):
        found = ", ".join(sorted(n for n in stored if n.startswith(scope + "/"))) or "nothing"
        raise PortingError(f"{resolve_checkpoint(path)}: not a TF1 MLP {scope} "
                           f"(expected {scope}/dense/kernel, {scope}/dense_1/kernel, ...; "
                           f"found {found})")
    # Sizes that build a network: every layer has units, each reads what the last gave,
    # and a generator draws an image.
    outputs = int(np.prod(data.IMAGE_SHAPE)) if scope == "generator" else kernels[-1][1]
    shapes = " -> ".join(f"{a}x{b}" for a, b in kernels)
    if min(min(k) for k in kernels) < 1 or any(
            a[1] != b[0] for a, b in zip(kernels, kernels[1:])) or kernels[-1][1] != outputs:
        raise PortingError(f"{resolve_checkpoint(path)}: the kernels of {scope} ({shapes}) are "
                           f"not the layers of an MLP {scope}"
                           + (f" drawing {outputs} pixels" if scope == "generator" else ""))
    batchnorm = f"{scope}/batch_normalization/gamma" in stored
    return kernels[0][0], tuple(shape[1] for shape in kernels[:-1]), batchnorm


def write_tf1_checkpoint(path, modules):
    """Writes the modules' variables under their TF1 names with a TF1 `Saver`.

    `path` is a file prefix such as checkpoints/generator.ckpt; the directory's
    `checkpoint` state file is updated, so legacy code finds it with
    tf.train.latest_checkpoint(directory). Returns the prefix written. PortingError,
    before anything is written, for a path TensorFlow would read back as a pattern.
    """
    _check_readable(os.path.abspath(path), "choose a path without them")  # as the Saver records it
    values = {}
    for module in modules:
        values.update({n: v.numpy() for n, v in _module_variables(module).items()})
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    graph = tf.Graph()
    with graph.as_default():
        variables = {name: tf.compat.v1.Variable(np.asarray(value), name=f"v{i}")
                     for i, (name, value) in enumerate(sorted(values.items()))}
        saver = tf.compat.v1.train.Saver(var_list=variables)
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            return saver.save(sess, os.path.abspath(path))


def generator_from_tf1_checkpoint(path, name_map=None, leak=0.01, fn=None):
    """A gan_tf generator sized from, and loaded with, a legacy TF1 checkpoint: the
    legacy generator function `fn` (a tf1_network), or else gan_tf's MLP with the
    checkpoint's sizes and `leak` (not stored in checkpoints: the legacy notebook
    used 0.01). Returns (generator, z_dim)."""
    if fn is not None:
        generator = network.Network(fn, "generator")
        load_tf1_checkpoint(path, generator=generator, name_map=name_map)
        return generator, generator.input_size
    z_dim, hidden, batchnorm = mlp_sizes_from_checkpoint(path, "generator", name_map)
    generator = mlp.Generator(hidden=hidden, leak=leak, batchnorm=batchnorm)
    generator(tf.zeros([1, z_dim]))
    load_tf1_checkpoint(path, generator=generator, name_map=name_map)
    return generator, z_dim
