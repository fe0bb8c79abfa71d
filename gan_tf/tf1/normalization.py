"""Batch normalization as TF1 computed it, for tf1.layers.batch_normalization and
tf1.contrib.layers.batch_norm: the variables (gamma, beta, moving_mean, moving_variance)
and the forward pass, which in training normalizes with the batch's mean and variance
and updates the moving statistics right there,

    moving <- moving - (moving - batch_statistic) * (1 - momentum)

instead of through the UPDATE_OPS collection, so legacy code's
`tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS))` has nothing to
do under gan_tf. In a legacy script's TF1 graph (run by a Session) the updates are ops
in UPDATE_OPS, as TF1 put them. Like TF1, where its fused kernel ran (4-D inputs, and 2-D ones in contrib), the
moving variance takes the batch variance with Bessel's correction, n / (n - 1), while
the batch itself is normalized with the plain (biased) variance.
"""
import tensorflow as tf

from gan_tf.tf1.common import dtype_of, layer_scope, smart_cond
from gan_tf.tf1.refusals import check_options

v1 = tf.compat.v1
ZEROS, ONES = v1.zeros_initializer(), v1.ones_initializer()
MOVING = dict(trainable=False, synchronization=tf.VariableSynchronization.ON_READ,
              aggregation=tf.VariableAggregation.MEAN)  # one copy per replica, as TF1's
BN_OPTIONS = dict(beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                  gamma_constraint=None, renorm=False, renorm_clipping=None,
                  renorm_momentum=0.99, virtual_batch_size=None, adjustment=None)


def create(channels, dtype, initializers, trainable, order=("gamma", "beta")):
    """get_variable of the parameters in `initializers` ({name: initializer}; gamma and
    beta are left out when scale/center are off), learned ones in `order` first, then
    moving_mean and moving_variance (non-trainable); {name: variable}."""
    made = {}
    for key in (*order, "moving_mean", "moving_variance"):
        if key in initializers:
            options = MOVING if key.startswith("moving_") else dict(trainable=trainable)
            made[key] = v1.get_variable(key, [channels], dtype,
                                        initializer=initializers[key], **options)
    return made


def _update(variable, value, momentum):
    """TF1's moving-average update, in place (the op, for a TF1 graph to run)."""
    return variable.assign_sub((variable - tf.cast(value, variable.dtype)) * (1.0 - momentum))


def in_tf1_graph():
    """Whether the ops being built go into a TF1 graph that a Session runs (a legacy
    script), not eager TF2 code or a tf.function (whose assigns run by themselves)."""
    return not (tf.executing_eagerly() or tf.inside_function())


def normalize(inputs, axis, variables, momentum, epsilon, training, bessel,
              updates_collections=v1.GraphKeys.UPDATE_OPS):
    """The forward pass over `inputs` whose channels lie on `axis`: batch statistics
    (and the moving statistics' update) when `training`, the moving statistics otherwise.
    `bessel`: update the moving variance with the n / (n - 1) corrected batch variance.
    In a TF1 graph the updates are ops: added to `updates_collections` (UPDATE_OPS, for
    the script's `control_dependencies`), or with None run with the output, as TF1 did."""
    rank = inputs.shape.rank
    channels = inputs.shape[axis]
    broadcast = [channels if i == axis else 1 for i in range(rank)]

    def param(key):
        return tf.reshape(variables[key], broadcast) if key in variables else None

    beta, gamma = param("beta"), param("gamma")

    def batch_statistics():
        mean, variance = tf.nn.moments(inputs, [i for i in range(rank) if i != axis],
                                       keepdims=True)
        moving_variance = tf.reshape(variance, [channels])
        if bessel:
            count = tf.cast(tf.size(inputs), variance.dtype) / channels
            moving_variance *= count / (count - 1.0)
        return mean, variance, tf.reshape(mean, [channels]), moving_variance

    def with_batch_statistics():
        mean, variance, moving_mean, moving_variance = batch_statistics()
        _update(variables["moving_mean"], moving_mean, momentum)
        _update(variables["moving_variance"], moving_variance, momentum)
        return tf.nn.batch_normalization(inputs, mean, variance, beta, gamma, epsilon)

    def with_moving_statistics():
        return tf.nn.batch_normalization(inputs, param("moving_mean"),
                                         param("moving_variance"), beta, gamma, epsilon)

    if not in_tf1_graph():
        return smart_cond(training, with_batch_statistics, with_moving_statistics)
    return _in_graph(inputs, training, variables, momentum, epsilon, beta, gamma,
                     batch_statistics, with_moving_statistics, updates_collections)


def _in_graph(inputs, training, variables, momentum, epsilon, beta, gamma, batch_statistics,
              with_moving_statistics, updates_collections):
    """normalize() in a TF1 graph: the update ops built outside any tf.cond (a training
    placeholder makes their momentum 1, a no-op, when false), then collected or tied to
    the output, as TF1's batch norm layers did."""
    static = training
    if isinstance(training, (tf.Tensor, tf.Variable)):
        static = tf.get_static_value(tf.convert_to_tensor(training))
    if static is not None and not bool(static):
        return with_moving_statistics()
    mean, variance, moving_mean, moving_variance = batch_statistics()
    if static is None:  # known only when the Session runs
        on = tf.cast(training, tf.bool)
        momentum = tf.where(on, tf.constant(momentum, inputs.dtype), tf.ones([], inputs.dtype))
        outputs = tf.cond(on, lambda: tf.nn.batch_normalization(inputs, mean, variance, beta,
                                                                gamma, epsilon),
                          with_moving_statistics)
    else:
        outputs = tf.nn.batch_normalization(inputs, mean, variance, beta, gamma, epsilon)
    updates = [_update(variables["moving_mean"], moving_mean, momentum),
               _update(variables["moving_variance"], moving_variance, momentum)]
    if updates_collections is None:
        with tf.control_dependencies(updates):
            return tf.identity(outputs)
    for update in updates:
        v1.add_to_collections(updates_collections, update)
    return outputs


def channel_axis(inputs, axis, call):
    """`axis` (an int or a one-int list, as TF1 took it) as a non-negative int, checked
    against the input's rank and known size."""
    if isinstance(axis, (list, tuple)):
        if len(axis) != 1:
            raise ValueError(f"{call}: one channel axis only, not {axis!r}")
        axis = axis[0]
    rank = inputs.shape.rank
    if rank is None or not -rank <= axis < rank or inputs.shape[axis] is None:
        raise ValueError(f"{call}: axis {axis} of inputs of shape {inputs.shape} "
                         "must exist and have a known size")
    return axis % rank


def batch_normalization(inputs, axis=-1, momentum=0.99, epsilon=1e-3, center=True,
                        scale=True, beta_initializer=ZEROS, gamma_initializer=ONES,
                        moving_mean_initializer=ZEROS, moving_variance_initializer=ONES,
                        *, training=False, trainable=True, name=None, reuse=None,
                        fused=None, **tf1_options):
    """tf.layers.batch_normalization: TF1's defaults (momentum 0.99, epsilon 1e-3,
    `training=False`), variables `batch_normalization/gamma`, `beta`, `moving_mean`,
    `moving_variance`; `training` a Python bool or a boolean tensor."""
    call = "tf.layers.batch_normalization"
    check_options(call, tf1_options, BN_OPTIONS)
    inputs = tf.convert_to_tensor(inputs)
    axis = channel_axis(inputs, axis, call)
    initializers = dict(moving_mean=moving_mean_initializer,
                        moving_variance=moving_variance_initializer)
    if scale:
        initializers["gamma"] = gamma_initializer
    if center:
        initializers["beta"] = beta_initializer
    with layer_scope(call, name, reuse, "batch_normalization"):
        variables = create(inputs.shape[axis], dtype_of(inputs), initializers, trainable)
    bessel = fused is not False and inputs.shape.rank == 4 and axis in (1, 3)
    return normalize(inputs, axis, variables, momentum, epsilon, training, bessel)
