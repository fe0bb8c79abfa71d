"""The legacy side of tests/tf1/test_network.py: the legacy model files of
tests/legacy_models run as TF1 ran them, in graph mode with a Session. What TensorFlow 2
removed comes from the real TF1 implementations where they still run: tf.contrib.layers,
tf.contrib.framework's arg_scope and slim from the `tf-slim` package (given the patch in
`real_slim`); `tf.layers` from this test's own stand-ins, written on tf.compat.v1.get_variable from TF1's documented names, defaults
and formulas. None of it is gan_tf.tf1."""
import importlib
import os
import sys
import types

import numpy as np
import tensorflow as tf

v1 = tf.compat.v1
LEGACY_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "legacy_models")
IMPORT_LINE = "from gan_tf import tf1 as tf\n"
OPTIMIZER_NAMES = ("Adam", "beta1_power", "beta2_power")


def _finish(y, bias, activation):
    y = tf.nn.bias_add(y, bias) if bias is not None else y
    return activation(y) if activation else y


def _weights(kernel_shape, units, use_bias, kernel_initializer):
    kernel = v1.get_variable("kernel", kernel_shape,
                             initializer=kernel_initializer or v1.glorot_uniform_initializer())
    bias = v1.get_variable("bias", [units], initializer=v1.zeros_initializer()) if use_bias else None
    return kernel, bias


def dense(inputs, units, activation=None, use_bias=True, kernel_initializer=None, name=None,
          reuse=None):
    with v1.variable_scope(name, default_name="dense", reuse=reuse):
        kernel, bias = _weights([int(inputs.shape[-1]), units], units, use_bias, kernel_initializer)
        return _finish(tf.matmul(inputs, kernel), bias, activation)


def conv2d(inputs, filters, kernel_size, strides=1, padding="valid", activation=None,
           use_bias=True, kernel_initializer=None, name=None, reuse=None):
    with v1.variable_scope(name, default_name="conv2d", reuse=reuse):
        kernel, bias = _weights([kernel_size, kernel_size, int(inputs.shape[-1]), filters],
                                filters, use_bias, kernel_initializer)
        y = tf.nn.conv2d(inputs, kernel, [1, strides, strides, 1], padding.upper())
        return _finish(y, bias, activation)


def conv2d_transpose(inputs, filters, kernel_size, strides=1, padding="valid", activation=None,
                     use_bias=True, kernel_initializer=None, name=None, reuse=None):
    """Output size: in * stride ('same'), in * stride + max(kernel - stride, 0) ('valid')."""
    with v1.variable_scope(name, default_name="conv2d_transpose", reuse=reuse):
        kernel, bias = _weights([kernel_size, kernel_size, filters, int(inputs.shape[-1])],
                                filters, use_bias, kernel_initializer)
        size = [int(n) * strides + (0 if padding == "same" else max(kernel_size - strides, 0))
                for n in inputs.shape[1:3]]
        shape = tf.stack([tf.shape(inputs)[0], size[0], size[1], filters])
        y = tf.nn.conv2d_transpose(inputs, kernel, shape, [1, strides, strides, 1],
                                   padding.upper())
        return _finish(tf.reshape(y, [-1] + size + [filters]), bias, activation)


def _normalize(x, training, decay, epsilon, beta, gamma, collection):
    """Batch norm over every axis but the last: batch moments and moving-average updates
    (into `collection`, or applied before the output when None) in training, else the
    moving statistics."""
    channels = [int(x.shape[-1])]
    moving_mean = v1.get_variable("moving_mean", channels, initializer=v1.zeros_initializer(),
                                  trainable=False)
    moving_variance = v1.get_variable("moving_variance", channels,
                                      initializer=v1.ones_initializer(), trainable=False)
    if not training:
        return tf.nn.batch_normalization(x, moving_mean, moving_variance, beta, gamma, epsilon)
    mean, variance = tf.nn.moments(x, list(range(len(x.shape) - 1)))
    updates = [v1.assign(moving_mean, moving_mean * decay + mean * (1 - decay)),
               v1.assign(moving_variance, moving_variance * decay + variance * (1 - decay))]
    if collection is None:
        with tf.control_dependencies(updates):
            x = tf.identity(x)
    else:
        for update in updates:
            v1.add_to_collection(collection, update)
    return tf.nn.batch_normalization(x, mean, variance, beta, gamma, epsilon)


def batch_normalization(inputs, momentum=0.99, epsilon=1e-3, training=False, name=None,
                        reuse=None):
    with v1.variable_scope(name, default_name="batch_normalization", reuse=reuse):
        channels = [int(inputs.shape[-1])]
        beta = v1.get_variable("beta", channels, initializer=v1.zeros_initializer())
        gamma = v1.get_variable("gamma", channels, initializer=v1.ones_initializer())
        return _normalize(inputs, training, momentum, epsilon, beta, gamma,
                          v1.GraphKeys.UPDATE_OPS)


def dropout(inputs, rate=0.5, training=False, name=None):
    return tf.nn.dropout(inputs, rate=rate) if training else inputs


def real_slim():
    """The `tf_slim` package (TF1's tf.contrib.layers, framework.arg_scope and slim, as
    released for TF 2), made to run on TF 2.21 by two patches, both for the test process
    only: (1) its layers build Keras' legacy TF1 layers through `tensorflow.python.layers`,
    which loads them lazily from `tf_keras.legacy_tf_layers`, a path tf-keras 2.21 keeps
    under `tf_keras.src`: the modules are aliased there; (2) it tests `isinstance(x,
    ops.Tensor)`, a name TensorFlow's `framework.ops` no longer has (the class lives in
    `framework.tensor`): it is put back. Graph mode only, as in TF1."""
    from tensorflow.python.framework import ops, tensor
    if not hasattr(ops, "Tensor"):
        ops.Tensor = tensor.Tensor
    if "tf_keras.legacy_tf_layers" not in sys.modules:
        legacy = importlib.import_module("tf_keras.src.legacy_tf_layers")
        sys.modules["tf_keras.legacy_tf_layers"] = legacy
        for name in ("base", "core", "convolutional", "normalization", "pooling"):
            sys.modules[f"tf_keras.legacy_tf_layers.{name}"] = importlib.import_module(
                f"tf_keras.src.legacy_tf_layers.{name}")
    return importlib.import_module("tf_slim")


class _Contrib:
    """tf.contrib of a legacy graph: tf_slim's layers, arg_scope and slim (the real TF1
    code)."""

    @property
    def layers(self):
        slim = real_slim()
        return types.SimpleNamespace(**{name: getattr(slim, name) for name in dir(slim)
                                        if not name.startswith("_")})

    @property
    def framework(self):
        slim = real_slim()
        return types.SimpleNamespace(arg_scope=slim.arg_scope, add_arg_scope=slim.add_arg_scope)

    @property
    def slim(self):
        return real_slim()


class LegacyTF:
    """`tf` of a TF1 model file: tf.compat.v1, with the removed layers put back."""

    layers = types.SimpleNamespace(dense=dense, conv2d=conv2d, conv2d_transpose=conv2d_transpose,
                                   batch_normalization=batch_normalization, dropout=dropout)
    contrib = _Contrib()

    def __getattr__(self, name):
        return getattr(v1, name)


def load_legacy(name, **namespace):
    """tests/legacy_models/<name>.py with its one gan_tf line undone (`tf` is LegacyTF);
    `namespace` gives the legacy copies of the modules a wrapper file imports."""
    path = os.path.join(LEGACY_DIR, name + ".py")
    with open(path, encoding="utf-8") as f:
        source = f.read()
    lines = [line for line in source.splitlines(True) if line.startswith(("from ", "import "))]
    assert len(lines) == 1, lines  # the one import line, replaced below
    module = types.ModuleType("legacy_" + name)
    module.__dict__.update(tf=LegacyTF(), **namespace)
    exec(compile(source.replace(lines[0], ""), path, "exec"), module.__dict__)
    return module


def legacy_wrappers():
    """wrappers.py over the legacy (graph-mode) copies of the model files."""
    models = {name: load_legacy(name) for name in ("mlp_gan", "dcgan_layers", "dcgan_ops",
                                                    "tfgan_style", "slim_template")}
    return load_legacy("wrappers", **models)


def _first(returned):
    return returned[0] if isinstance(returned, (tuple, list)) else returned


class LegacyGraph:
    """A style's legacy training script: placeholders, G and D as its code calls them
    (reuse after the first call), the losses, two AdamOptimizer.minimize ops under the
    update ops, a full Saver."""

    def __init__(self, style, flat, z_dim, seed=1):
        wrappers = legacy_wrappers()
        self.batch_size = wrappers.BATCH_SIZE  # the ops style's generator takes no other
        g_fn, d_fn = (getattr(wrappers, f"{style}_{role}") for role in ("generator",
                                                                         "discriminator"))
        self.graph = tf.Graph()
        with self.graph.as_default():
            v1.set_random_seed(seed)
            self.z = v1.placeholder(tf.float32, [None, z_dim], name="input_z")
            self.real = v1.placeholder(tf.float32, [None, 784] if flat else [None, 28, 28, 1],
                                       name="input_real")
            self.fake = tf.reshape(_first(g_fn(self.z, True)), tf.shape(self.real))
            _, d_real = d_fn(self.real, True)
            with v1.variable_scope(v1.get_variable_scope(), reuse=True):
                self.sample = _first(g_fn(self.z, False))
                _, d_fake = d_fn(self.fake, True)
                _, self.d_logits = d_fn(self.real, False)
            xent = tf.nn.sigmoid_cross_entropy_with_logits
            d_loss = (tf.reduce_mean(xent(logits=d_real, labels=tf.ones_like(d_real) * 0.9))
                      + tf.reduce_mean(xent(logits=d_fake, labels=tf.zeros_like(d_fake))))
            g_loss = tf.reduce_mean(xent(logits=d_fake, labels=tf.ones_like(d_fake)))
            # TF-GAN's recipe: each network's regularization losses join its loss.
            self.reg_losses = {role: v1.losses.get_regularization_loss(role)
                               for role in ("generator", "discriminator")}
            d_loss += self.reg_losses["discriminator"]
            g_loss += self.reg_losses["generator"]
            t_vars = v1.trainable_variables()
            with tf.control_dependencies(v1.get_collection(v1.GraphKeys.UPDATE_OPS)):
                self.d_opt = v1.train.AdamOptimizer(0.002, beta1=0.5).minimize(
                    d_loss, var_list=[v for v in t_vars if v.name.startswith("discriminator")])
                self.g_opt = v1.train.AdamOptimizer(0.002, beta1=0.5).minimize(
                    g_loss, var_list=[v for v in t_vars if v.name.startswith("generator")])
            self.model_variables = [v for v in v1.global_variables()
                                    if not any(n in v.name for n in OPTIMIZER_NAMES)]
            self.session = v1.Session(graph=self.graph)
            self.session.run(v1.global_variables_initializer())

    def train(self, steps, rng):
        for _ in range(steps):
            batch = (self.batch_size,)
            feed = {self.z: rng.uniform(-1, 1, batch + (self.z.shape[1],)).astype(np.float32),
                    self.real: rng.uniform(-1, 1, batch + tuple(self.real.shape[1:]))}
            self.session.run(self.d_opt, feed)
            self.session.run(self.g_opt, feed)

    def save(self, prefix):
        with self.graph.as_default():
            return v1.train.Saver().save(self.session, prefix)

    def restore_model(self, prefix):
        """Restores the model variables alone, as legacy sampling code did."""
        with self.graph.as_default():
            v1.train.Saver(var_list=self.model_variables).restore(self.session, prefix)

    def outputs(self, z, x):
        """G(z) in inference then training mode and D(x)'s inference logits (in that order:
        a training pass may update moving statistics)."""
        feed = {self.z: z, self.real: x.reshape((-1,) + tuple(self.real.shape[1:]))}
        sample, d_logits = self.session.run([self.sample, self.d_logits], feed)
        fake = self.session.run(self.fake, {self.z: z, self.real: feed[self.real]})
        return {"inference": sample, "training": fake, "d_logits": d_logits}

    def regularization(self):
        """{role: the sum of its regularization losses} at the graph's current weights."""
        return self.session.run(self.reg_losses)

    def variable_names(self):
        return sorted(v.name.split(":")[0] for v in self.model_variables)


# --- one layer, the real TF1 implementation against gan_tf.tf1 ---------------------

def reference_run(namespace, build, x, training):
    """The real TF1 layers' run of build(namespace, x, training) in a TF1 graph:
    ({variable: initial value}, output, regularization sum, {variable: value after the
    update ops ran})."""
    graph = tf.Graph()
    with graph.as_default():
        v1.set_random_seed(0)
        out = build(namespace, tf.constant(x), training)
        regularization = v1.losses.get_regularization_loss()
        updates = v1.get_collection(v1.GraphKeys.UPDATE_OPS)
        with v1.Session(graph=graph) as session:
            session.run(v1.global_variables_initializer())
            values = {v.name.split(":")[0]: session.run(v) for v in v1.global_variables()}
            output, reg = session.run([out, regularization])
            session.run(updates)
            after = {v.name.split(":")[0]: session.run(v) for v in v1.global_variables()}
    return values, output, reg, after


def store_run(namespace, build, x, training, values):
    """gan_tf.tf1's run (`namespace` its layers), eagerly in a VariableStore: built once
    (creating the variables, whose names and shapes must be the reference's), given the
    reference's values, called again: (output, regularization sum, {variable: value after
    the call})."""
    from gan_tf import tf1
    store = tf1.VariableStore()
    with store.scope():
        build(namespace, tf.constant(x), training)
    names = {v.name.split(":")[0]: v for v in store.variables()}
    assert sorted(names) == sorted(values)
    for name, variable in names.items():
        assert tuple(variable.shape) == values[name].shape, name
        variable.assign(values[name])
    with store.scope():
        out = build(namespace, tf.constant(x), training)
    reg = sum(float(t) for t in store.regularization_losses().values())
    return out.numpy(), reg, {n: v.numpy() for n, v in names.items()}
