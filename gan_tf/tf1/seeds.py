"""Stateless seeds for the dropout of legacy model code, so that a run of such a model
resumes exactly.

gan_tf's trainer gives the discriminator a stateless seed per step (a function of --seed
and the step). tf1.network.Network enters `scope(seed)` around the model function, and
gan_tf.tf1's dropout (tf.layers.dropout, tf.nn.dropout) draws its mask from that seed
folded with the number of dropouts drawn before it in the call: each dropout of a call
gets its own mask, the same whenever that step runs again. With no seed (generator
calls, plain use outside gan_tf's training) dropout draws as TF1's did, from TensorFlow's
stateful random generator.
"""
import contextlib
import threading

import tensorflow as tf

_state = threading.local()  # .current: [seed, dropouts drawn] of the open scope, or None


@contextlib.contextmanager
def scope(seed):
    """Inside it, gan_tf.tf1's dropouts draw from `seed` (a stateless seed, shape [2]), or
    as TF1's did when it is None; the count of dropouts starts at 0."""
    saved = getattr(_state, "current", None)
    _state.current = None if seed is None else [seed, 0]
    try:
        yield
    finally:
        _state.current = saved


def next_seed():
    """The open scope's seed folded with this draw's number, or None outside a seeded scope."""
    current = getattr(_state, "current", None)
    if current is None:
        return None
    seed, count = current
    current[1] += 1
    return tf.random.experimental.stateless_fold_in(seed, count)


def dropout(x, rate, noise_shape=None, seed=None, name=None):
    """tf.nn.dropout(x, rate): from the scope's next seed when there is one (`seed`, TF1's
    op-level seed, is then unused), else as TF1 drew it."""
    step_seed = next_seed()
    if step_seed is None:
        return tf.nn.dropout(x, rate=rate, noise_shape=noise_shape, seed=seed, name=name)
    return tf.nn.experimental.stateless_dropout(x, rate, step_seed, noise_shape=noise_shape,
                                                name=name)
