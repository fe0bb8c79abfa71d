"""The optimizers the trainer builds: Keras's Adam with TF1's fused update kernel.

Keras 3's Adam updates each variable with about ten element-wise ops (m, v and the
variable each read and written several times); TF1's AdamOptimizer ran one kernel per
variable, `ResourceApplyAdam`, with the same formula. `FusedAdam` is Keras's Adam (its
slots, `iterations`, learning-rate schedules, loss scaling and checkpoint layout, so a
run saved with either restores into the other) whose per-variable update is that one
kernel: several times faster on the DCGAN's 2.5M weights, a few per cent of its float32
step (docs/performance.md). Under XLA (--jit_compile) the kernel compiles like the ops
it replaces.
"""
import tensorflow as tf


class FusedAdam(tf.keras.optimizers.Adam):
    """tf.keras.optimizers.Adam whose update is TF1's fused kernel (no AMSGrad)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.amsgrad:
            raise ValueError("FusedAdam has no AMSGrad: use tf.keras.optimizers.Adam")
        self._shared_scalars = None  # {(dtype, device): scalars} during one apply

    def _backend_update_step(self, grads, trainable_variables, learning_rate):
        """One apply: the step's scalars (t, b1^t, b2^t, lr, ...) are computed once per
        dtype and device and shared by every variable's kernel, not once per variable (the
        MLP's 8 variables made 16 Pow ops and their reads and casts a step)."""
        self._shared_scalars = {}
        try:
            super()._backend_update_step(grads, trainable_variables, learning_rate)
        finally:
            self._shared_scalars = None

    def _scalars(self, dtype, device, learning_rate):
        """(lr, beta1, beta2, epsilon, beta1^t, beta2^t) in `dtype`, t = iterations + 1,
        made once per apply for each dtype and device (under a strategy each replica's
        variables get their own, with no copies between devices)."""
        shared = self._shared_scalars
        key = (dtype, device)
        if shared is not None and key in shared:
            return shared[key]
        step = tf.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
        scalars = (tf.cast(learning_rate, dtype), beta_1, beta_2, tf.cast(self.epsilon, dtype),
                   tf.pow(beta_1, step), tf.pow(beta_2, step))
        if shared is not None:
            shared[key] = scalars
        return scalars

    def update_step(self, gradient, variable, learning_rate):
        """Keras's formula: m += (g - m)(1 - b1), v += (g^2 - v)(1 - b2),
        var -= lr sqrt(1 - b2^t) / (1 - b1^t) m / (sqrt(v) + epsilon), t = iterations + 1;
        `variable` a tf.Variable (a replica's own under a tf.distribute update)."""
        dtype = variable.dtype
        # IndexedSlices (an embedding's gradient) made dense: the kernel takes a tensor.
        gradient = tf.convert_to_tensor(tf.cast(gradient, dtype))
        lr, beta_1, beta_2, epsilon, beta_1_power, beta_2_power = self._scalars(
            dtype, variable.device, learning_rate)
        index = self._get_variable_index(variable)
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle, m=self._momentums[index].handle,
            v=self._velocities[index].handle, beta1_power=beta_1_power,
            beta2_power=beta_2_power, lr=lr, beta1=beta_1, beta2=beta_2, epsilon=epsilon,
            grad=gradient)
