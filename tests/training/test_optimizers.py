"""FusedAdam (gan_tf.training.optimizers): Keras's Adam with TF1's fused kernel. Checked
against a numpy Adam and against Keras's own Adam step by step (eagerly, in a graph,
under XLA, with an embedding's sparse gradient, under MirroredStrategy), and for
checkpoints that restore either way."""
import numpy as np
import pytest
import tensorflow as tf

from gan_tf.training.optimizers import FusedAdam

SHAPES = [(3, 4), (5,), (2, 2, 3, 2)]
LR, BETA1, BETA2, EPS = 0.01, 0.5, 0.999, 1e-8


def gradients(steps, seed=0):
    rng = np.random.default_rng(seed)
    return [[rng.normal(size=s).astype(np.float32) for s in SHAPES] for _ in range(steps)]


def start_values():
    rng = np.random.default_rng(1)
    return [rng.normal(size=s).astype(np.float32) for s in SHAPES]


def numpy_adam(values, grads):
    values = [v.astype(np.float64) for v in values]
    m = [np.zeros_like(v) for v in values]
    v2 = [np.zeros_like(v) for v in values]
    for t, step in enumerate(grads, 1):
        alpha = LR * np.sqrt(1 - BETA2 ** t) / (1 - BETA1 ** t)
        for i, g in enumerate(step):
            m[i] += (g - m[i]) * (1 - BETA1)
            v2[i] += (g * g - v2[i]) * (1 - BETA2)
            values[i] -= alpha * m[i] / (np.sqrt(v2[i]) + EPS)
    return values


def train(optimizer, grads, mode="eager"):
    variables = [tf.Variable(v) for v in start_values()]

    def apply(step):
        optimizer.apply_gradients(zip(step, variables))
    if mode != "eager":
        apply = tf.function(apply, jit_compile=mode == "xla")
    for step in grads:
        apply([tf.constant(g) for g in step])
    return variables


@pytest.mark.parametrize("mode", ["eager", "graph", "xla"])
def test_fused_adam_is_adams_formula_and_keras_adam_step_by_step(mode):
    grads = gradients(5)
    fused = FusedAdam(LR, beta_1=BETA1, epsilon=EPS)
    got = train(fused, grads, mode)
    keras = tf.keras.optimizers.Adam(LR, beta_1=BETA1, epsilon=EPS)
    want = train(keras, grads, mode)
    for g, w, n in zip(got, want, numpy_adam(start_values(), grads)):
        np.testing.assert_allclose(g.numpy(), n, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-5, atol=1e-6)
    assert int(fused.iterations) == 5
    for slots in ("_momentums", "_velocities"):  # the slots hold Keras's values too
        for a, b in zip(getattr(fused, slots), getattr(keras, slots)):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-7)


def test_an_embeddings_sparse_gradient_is_adam_on_the_summed_dense_gradient():
    """A label drawn twice in a batch: its row's gradient is the sum (TF1's Adam summed
    duplicate indices too). Keras 3's Adam, given the IndexedSlices, updates that row
    otherwise (by about 0.006 here after three steps); given the dense sum, as FusedAdam."""
    def run(optimizer, dense=False):
        table = tf.Variable(start_values()[0])
        for rows in ([0, 2], [1, 1], [2]):
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(tf.gather(table, rows) ** 2)
            grad = tape.gradient(loss, table)
            assert isinstance(grad, tf.IndexedSlices)
            optimizer.apply_gradients([(tf.convert_to_tensor(grad) if dense else grad, table)])
        return table.numpy()
    np.testing.assert_allclose(run(FusedAdam(LR, beta_1=BETA1, epsilon=EPS)),
                               run(tf.keras.optimizers.Adam(LR, beta_1=BETA1, epsilon=EPS), True),
                               rtol=1e-5, atol=1e-6)


def test_under_mirrored_strategy_every_replica_updates_as_one_device_does():
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    grads = gradients(3)
    with strategy.scope():
        variables = [tf.Variable(v) for v in start_values()]
        optimizer = FusedAdam(LR, beta_1=BETA1, epsilon=EPS)
        optimizer.build(variables)  # its slots mirrored too, as the trainer builds them

    @tf.function
    def apply(step):
        def replica_fn(step):  # each replica half the gradient: the all-reduce sums them
            optimizer.apply_gradients(zip([g / 2 for g in step], variables))
        strategy.run(replica_fn, args=(step,))
    for step in grads:
        apply([tf.constant(g) for g in step])
    for v, n in zip(variables, numpy_adam(start_values(), grads)):
        for component in strategy.experimental_local_results(v):
            np.testing.assert_allclose(component.numpy(), n, rtol=1e-5, atol=1e-6)


def test_checkpoints_restore_between_keras_adam_and_fused_adam(tmp_path):
    """A run saved by gan_tf 0.3.4 (Keras's Adam) resumes under FusedAdam, and back: the
    same slots under the same names, so the continued updates match."""
    grads = gradients(6)
    keras = tf.keras.optimizers.Adam(LR, beta_1=BETA1, epsilon=EPS)
    variables = train(keras, grads[:3])
    path = tf.train.Checkpoint(optimizer=keras, variables=variables).save(str(tmp_path / "ckpt"))
    fused = FusedAdam(LR, beta_1=BETA1, epsilon=EPS)
    restored = [tf.Variable(tf.zeros(s)) for s in SHAPES]
    fused.build(restored)
    tf.train.Checkpoint(optimizer=fused, variables=restored).restore(path).assert_consumed()
    assert int(fused.iterations) == 3
    for step in grads[3:5]:
        fused.apply_gradients(zip([tf.constant(g) for g in step], restored))
    # ... and back: FusedAdam's checkpoint restores into Keras's Adam.
    path = tf.train.Checkpoint(optimizer=fused, variables=restored).save(str(tmp_path / "back"))
    keras = tf.keras.optimizers.Adam(LR, beta_1=BETA1, epsilon=EPS)
    back = [tf.Variable(tf.zeros(s)) for s in SHAPES]
    keras.build(back)
    tf.train.Checkpoint(optimizer=keras, variables=back).restore(path).assert_consumed()
    assert int(keras.iterations) == 5
    keras.apply_gradients(zip([tf.constant(g) for g in grads[5]], back))
    for v, n in zip(back, numpy_adam(start_values(), grads)):
        np.testing.assert_allclose(v.numpy(), n, rtol=1e-5, atol=1e-6)


def test_one_apply_computes_the_bias_corrections_once_for_every_variable():
    """b1^t and b2^t are the same for every variable of a step: one Pow each per apply,
    not one per variable (the MLP's 8 variables made 16); two applies in one graph each
    make their own (t differs), and the values are still Adam's."""
    grads = gradients(2)
    variables = [tf.Variable(v) for v in start_values()]
    optimizer = FusedAdam(LR, beta_1=BETA1, epsilon=EPS)

    @tf.function
    def two_applies(first, second):
        optimizer.apply_gradients(zip(first, variables))
        optimizer.apply_gradients(zip(second, variables))
    specs = [tf.TensorSpec(s, tf.float32) for s in SHAPES]
    ops = [op.type for op in two_applies.get_concrete_function(specs, specs).graph.get_operations()]
    assert ops.count("ResourceApplyAdam") == 2 * len(SHAPES)
    assert ops.count("Pow") == 4
    two_applies(*[[tf.constant(g) for g in step] for step in grads])
    for v, n in zip(variables, numpy_adam(start_values(), grads)):
        np.testing.assert_allclose(v.numpy(), n, rtol=1e-5, atol=1e-6)


def test_amsgrad_is_refused_not_ignored():
    with pytest.raises(ValueError, match="AMSGrad"):
        FusedAdam(amsgrad=True)


@pytest.mark.parametrize("jit_compile", [False, True])
def test_the_cost_benchmark_times_the_same_updates_for_both_optimizers(jit_compile):
    """benchmarks/optimizer_cost.py compares equal work: its two variants' calls leave the
    networks' variables equal (a copy each, the same gradients)."""
    from benchmarks import optimizer_cost
    from gan_tf import models
    from gan_tf.config import TrainConfig
    tf.random.set_seed(0)
    networks = models.build(TrainConfig(model="mlp", g_hidden=(8,), d_hidden=(8,)))
    calls = []
    for make in (lambda: tf.keras.optimizers.Adam(1e-3), lambda: FusedAdam(1e-3)):
        tf.random.set_seed(1)  # the same gradients for both
        calls.append(optimizer_cost.updater(make, networks, jit_compile))
        calls[-1]()
    keras_vars, fused_vars = (call.variables for call in calls)
    assert len(keras_vars) == len(fused_vars) > 0
    for a, b in zip(keras_vars, fused_vars):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)
