"""gan_tf.tf1: legacy TF1 model code under TF2 (the variable store, the drop-in `tf`
module, tf.layers and tf.contrib.layers), checked against TF1's formulas in numpy."""
import numpy as np
import pytest
import tensorflow as tf

from gan_tf import tf1
from gan_tf.errors import TF1PortError
from gan_tf.tf1 import layers
from gan_tf.tf1.store import VariableStore
from tests.helpers import in_store, store_values

v1 = tf.compat.v1


def _rand(*shape, seed=0):
    return np.random.RandomState(seed).randn(*shape).astype(np.float32)


def _legacy_dense(x, units):
    """A dense layer as tf.layers wrote it: a default_name scope and get_variable."""
    with v1.variable_scope(None, default_name="dense"):
        kernel = v1.get_variable("kernel", [x.shape[-1], units])
        bias = v1.get_variable("bias", [units], initializer=v1.zeros_initializer())
        return tf.matmul(x, kernel) + bias


def _legacy_generator(z, reuse=False):
    with v1.variable_scope("generator", reuse=reuse):
        return _legacy_dense(tf.nn.relu(_legacy_dense(z, 5)), 3)


def test_store_creates_tf1_names_once_and_reuses_them_eagerly_and_in_tf_function():
    store = VariableStore()
    z = tf.constant(np.random.RandomState(0).randn(4, 2), tf.float32)
    with store.scope():
        first = _legacy_generator(z)
    names = [v.name for v in store.variables()]
    assert names == ["generator/dense/kernel:0", "generator/dense/bias:0",
                     "generator/dense_1/kernel:0", "generator/dense_1/bias:0"]
    assert store.trainable_variables() == store.variables()
    for reuse in (False, True):
        with store.scope():
            np.testing.assert_array_equal(_legacy_generator(z, reuse=reuse), first)

    @tf.function
    def traced(z):
        with store.scope():
            return _legacy_generator(z)

    np.testing.assert_allclose(traced(z), first, rtol=1e-6)
    np.testing.assert_allclose(traced(z * 2), _legacy_generator_eager(store, z * 2), rtol=1e-6)
    assert [v.name for v in store.variables()] == names
    store.variables()[0].assign_add(tf.ones([2, 5]))  # the traced function reads the store's
    np.testing.assert_allclose(traced(z), _legacy_generator_eager(store, z), rtol=1e-6)


def _legacy_generator_eager(store, z):
    with store.scope():
        return _legacy_generator(z)


def test_store_variables_of_a_first_call_inside_tf_function():
    store = VariableStore()

    @tf.function
    def traced(z):
        with store.scope():
            return _legacy_dense(_legacy_dense(z, 3), 1)  # top-level default names restart too

    z = tf.ones([2, 4])
    out = traced(z)
    assert [v.name for v in store.variables()] == [
        "dense/kernel:0", "dense/bias:0", "dense_1/kernel:0", "dense_1/bias:0"]
    with store.scope():
        np.testing.assert_allclose(_legacy_dense(_legacy_dense(z, 3), 1), out, rtol=1e-6)
    assert len(store.variables()) == 4
    with store.scope(), v1.variable_scope("outer"):
        v1.get_variable("w", [1], trainable=False)
    assert [v.name for v in store.trainable_variables()][-1] == "dense_1/bias:0"
    assert store.variables()[-1].name == "outer/w:0"


# --- the drop-in module ----------------------------------------------------------------

def test_tf1_forwards_compat_v1_names_and_only_those():
    for name in ("variable_scope", "AUTO_REUSE", "GraphKeys", "float32",
                 "truncated_normal_initializer", "reduce_mean", "control_dependencies"):
        assert getattr(tf1, name) is getattr(v1, name), name
    # get_collection and tf.losses are v1's but for the regularization losses, which a
    # network's store holds (tests/tf1/test_network.py).
    assert tf1.losses.sigmoid_cross_entropy is v1.losses.sigmoid_cross_entropy
    assert tf1.nn.relu is v1.nn.relu  # tf1.nn: v1's but for two (tests/tf1/test_nn.py)
    assert tf1.train.AdamOptimizer is v1.train.AdamOptimizer
    assert tf1.layers.dense is not None and tf1.layers is not getattr(v1, "layers", None)
    assert not hasattr(tf1, "no_such_op") and not hasattr(tf1.train, "no_such_optimizer")
    with pytest.raises(AttributeError, match="gan_tf.tf1.*no_such_op"):
        tf1.no_such_op  # noqa: B018 - the attribute access is the test
    assert tf1.get_collection(tf1.GraphKeys.UPDATE_OPS) == []



# --- names and reuse, as TF1 gave them ------------------------------------------------

def _named_model(x, dense=layers.dense):
    """Layers in nested scopes, with and without name= and reuse=, as legacy code mixes
    them; `dense` is tf1.layers.dense or TF1's own (for the graph-mode comparison)."""
    with v1.variable_scope("generator"):
        h = dense(x, 4)                          # generator/dense
        h = dense(h, 4, name="fc")               # generator/fc
        with v1.variable_scope("block"):
            h = dense(dense(h, 4), 4)            # generator/block/dense, .../dense_1
        h = dense(h, 4)                          # generator/dense_1
        with v1.variable_scope("block", reuse=True):
            h = dense(h, 4)                      # reuses generator/block/dense
        h = dense(h, 4, name="dense_1", reuse=True)
        h = dense(h, 4, reuse=True)              # reuses generator/dense
    with v1.variable_scope("discriminator"):
        return dense(h, 1)                       # discriminator/dense


NAMED = ["generator/dense/kernel", "generator/dense/bias", "generator/fc/kernel",
         "generator/fc/bias", "generator/block/dense/kernel", "generator/block/dense/bias",
         "generator/block/dense_1/kernel", "generator/block/dense_1/bias",
         "generator/dense_1/kernel", "generator/dense_1/bias",
         "discriminator/dense/kernel", "discriminator/dense/bias"]


def test_names_are_uniquified_per_scope_and_reused_as_tf1_did():
    store, x = VariableStore(), _rand(3, 4)
    first = in_store(store, _named_model, x)
    assert [v.name[:-2] for v in store.variables()] == NAMED
    np.testing.assert_array_equal(in_store(store, _named_model, x), first)  # second call reuses
    traced = tf.function(lambda x: in_store(store, _named_model, x))
    np.testing.assert_allclose(traced(x), first, rtol=1e-5)
    assert len(store.variables()) == len(NAMED)


@pytest.mark.filterwarnings("ignore:`(tf.layers|layer.apply)")
def test_names_and_values_equal_tf1s_own_layers_in_graph_mode():
    """TF1's tf.layers code (still in TensorFlow's private tree) in a graph and Session:
    the same variable names, and with our values loaded, the same outputs."""
    legacy = pytest.importorskip("tensorflow.python.keras.legacy_tf_layers.convolutional")
    core = pytest.importorskip("tensorflow.python.keras.legacy_tf_layers.core")
    store, x, image = VariableStore(), _rand(3, 4), _rand(2, 5, 5, 3)

    def model(x, image, ops):
        dense, conv, deconv = ops
        with v1.variable_scope("net"):
            h = conv(deconv(image, 2, 4, strides=2, padding="same"), 3, 3, strides=2)
            return _named_model(x, dense), deconv(h, 2, 3, strides=2, padding="valid")

    ours = in_store(store, model, x, image, (layers.dense, layers.conv2d, layers.conv2d_transpose))
    names, values = [v.name for v in store.variables()], [v.numpy() for v in store.variables()]
    with tf.Graph().as_default(), v1.Session() as session:
        graph = model(tf.constant(x), tf.constant(image),
                      (core.dense, legacy.conv2d, legacy.conv2d_transpose))
        assert [v.name for v in v1.global_variables()] == names
        for variable, value in zip(v1.global_variables(), values):
            variable.load(value, session)
        for theirs, mine in zip(session.run(graph), ours):
            np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-5)



# --- tf.function and refusals ----------------------------------------------

def _legacy_dcgan(z, train):
    """A tf.layers DCGAN generator as legacy files wrote it, `tf` being gan_tf.tf1."""
    tf = tf1
    with tf.variable_scope("generator", reuse=tf.AUTO_REUSE):
        h = tf.layers.dense(z, 2 * 2 * 8, kernel_initializer=tf.random_normal_initializer(0, 0.1))
        h = tf.nn.relu(tf.layers.batch_normalization(tf.reshape(h, [-1, 2, 2, 8]), training=train))
        h = tf.layers.conv2d_transpose(h, 4, 5, strides=2, padding="same")
        h = tf.nn.leaky_relu(tf.contrib.layers.batch_norm(h, is_training=train, scale=True), 0.2)
        with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
            return tf.tanh(tf.layers.conv2d(h, 1, 3, padding="same"))


def test_in_tf_function_equals_eager_and_updates_the_same():
    store, z = VariableStore(), _rand(4, 3)
    traced = tf.function(lambda z, train: in_store(store, _legacy_dcgan, z, train))
    for train in (False, True, False):
        eager = in_store(store, _legacy_dcgan, z, train)
        moved = store_values(store)
        np.testing.assert_allclose(traced(z, train), eager, rtol=1e-5, atol=1e-6)
        changed = {k for k, v in store_values(store).items() if not np.array_equal(v, moved[k])}
        assert changed == ({k for k in moved if "moving" in k} if train else set())
    assert len(store.variables()) == 14 and len(store.trainable_variables()) == 10
    with tf.GradientTape() as tape:  # every trainable variable gets a gradient in training
        loss = tf.reduce_sum(in_store(store, _legacy_dcgan, z, True) ** 2)
    grads = tape.gradient(loss, store.trainable_variables())
    assert all(g is not None and np.isfinite(g).all() for g in grads)


GRAPH_ONLY = {"tf.placeholder": lambda: tf1.placeholder(tf1.float32, [None, 784]),
              "tf.Session": tf1.Session, "tf.InteractiveSession": tf1.InteractiveSession,
              "tf.global_variables_initializer": tf1.global_variables_initializer,
              "tf.disable_v2_behavior": tf1.disable_v2_behavior,
              "tf.train.Saver": lambda: tf1.train.Saver(max_to_keep=1)}


def test_calls_that_cannot_work_under_gan_tf_are_one_line_errors():
    cases = {"tf.contrib.learn": lambda: tf1.contrib.learn,
             "tf.contrib.layers.embed_sequence": lambda: tf1.contrib.layers.embed_sequence,
             "tf.contrib.framework.get_variables": lambda: tf1.contrib.framework.get_variables,
             "tf.contrib.slim.learning": lambda: tf1.contrib.slim.learning,
             "tf.layers.conv1d": lambda: tf1.layers.conv1d,
             "tf.layers.dense: activity_regularizer": lambda: layers.dense(
                 _rand(2, 2), 1, activity_regularizer=tf.nn.l2_loss),
             "tf.contrib.layers.batch_norm: zero_debias_moving_mean": lambda: (
                 tf1.contrib.layers.batch_norm(_rand(2, 2), zero_debias_moving_mean=True))}
    for call, make in cases.items():
        with pytest.raises(TF1PortError) as caught:
            with tf1.VariableStore().scope():
                make()
        message = str(caught.value)
        assert message.startswith(call) and "\n" not in message, message
    with pytest.raises(TypeError, match="kernel_regulariser"):
        layers.dense(_rand(2, 2), 1, kernel_regulariser=None)


@pytest.mark.parametrize("call", sorted(GRAPH_ONLY))
def test_graph_only_calls_in_a_model_function_are_one_line_errors(call):
    """Inside a network gan_tf runs (a store's scope, or a tf.function being traced) a
    placeholder, session or Saver cannot work: one line saying what to do instead."""
    with pytest.raises(TF1PortError) as caught:
        with tf1.VariableStore().scope():
            GRAPH_ONLY[call]()
    message = str(caught.value)
    assert message.startswith(f"{call}: cannot work in a model function") and "\n" not in message
    with pytest.raises(TF1PortError, match="cannot work in a model function"):
        tf.function(lambda: GRAPH_ONLY[call]() and None)()
    with pytest.raises(TF1PortError, match="take the tensor .* as an argument"):
        with tf1.VariableStore().scope():
            tf1.placeholder(tf1.float32)


@pytest.mark.parametrize("call", sorted(GRAPH_ONLY))
def test_a_graph_call_after_eager_work_is_one_line_not_a_mixed_graph(call):
    """At a script's own level the same calls would switch the process to TF1 graph mode
    (tests/tf1/test_script.py); this process already ran TensorFlow eagerly, whose tensors
    cannot join a graph: refused in one line, and the process stays eager."""
    with pytest.raises(TF1PortError) as caught:
        GRAPH_ONLY[call]()
    message = str(caught.value)
    assert message.startswith(f"{call}: this script already ran TensorFlow eagerly")
    assert "\n" not in message and tf.executing_eagerly()


def test_creating_variables_with_no_store_active_is_an_error_not_fresh_weights():
    """Without a store, TF2's get_variable would make new random weights on every call."""
    x = _rand(2, 3)
    for call, make in {"tf.layers.dense": lambda: tf1.layers.dense(x, 2),
                       "tf.get_variable": lambda: tf1.get_variable("w", [2]),
                       "tf.contrib.layers.batch_norm": lambda: tf1.contrib.layers.batch_norm(x),
                       "tf.layers.batch_normalization": lambda: (
                           tf1.layers.batch_normalization(x))}.items():
        with pytest.raises(TF1PortError, match=f"^{call}: no gan_tf.tf1.VariableStore"):
            make()
    store = VariableStore()
    traced = tf.function(lambda x: tf1.layers.dense(x, 2))
    with store.scope(), pytest.raises(TF1PortError, match="inside the tf.function"):
        traced(x)  # a tf.function's graph does not see a scope entered outside it
    assert in_store(store, tf1.get_variable, "w", [2]).shape == [2]
    assert [v.name for v in store.variables()] == ["w:0"]
    with tf.Graph().as_default():  # TF1 graph code keeps its own store
        assert tf1.get_variable("w", [2]).name == "w:0"


def test_a_template_called_with_a_different_structure_is_one_line():
    """A template builds its variables on its first call in a network and must find the
    same ones after, as TF1's did: another input width, or new variables, is refused."""
    def fn(x, extra=False):
        h = tf1.layers.dense(x, 3)
        return tf1.layers.dense(h, 2) if extra else h
    template = tf1.make_template("generator", fn)
    store = tf1.VariableStore()
    with store.scope():
        template(_rand(2, 4))
        template(_rand(5, 4))  # another batch: the same variables
        for bad, match in ((lambda: template(_rand(2, 6)), "different structure"),
                           (lambda: template(_rand(2, 4), extra=True), "created new variables")):
            with pytest.raises(TF1PortError, match=match) as caught:
                bad()
            assert str(caught.value).startswith("tf.make_template('generator')")
            assert "\n" not in str(caught.value)
    with tf1.VariableStore().scope():  # another network's first call builds its own
        template(_rand(2, 4), extra=True)


def test_a_regularizer_that_returns_no_scalar_is_one_line():
    store = tf1.VariableStore()
    with store.scope():
        tf1.layers.dense(_rand(2, 3), 2, kernel_regularizer=lambda w: tf.abs(w))  # per weight
    with pytest.raises(TF1PortError) as caught:
        store.regularization_losses()
    assert str(caught.value) == ("the regularizer of dense/kernel:0 returned shape (3, 2), "
                                 "not a scalar")
