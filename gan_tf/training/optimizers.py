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

    def update_step(self, gradient, variable, learning_rate):
        """Keras's formula: m += (g - m)(1 - b1), v += (g^2 - v)(1 - b2),
        var -= lr sqrt(1 - b2^t) / (1 - b1^t) m / (sqrt(v) + epsilon), t = iterations + 1;
        `variable` a tf.Variable (a replica's own under a tf.distribute update)."""
        dtype = variable.dtype
        # IndexedSlices (an embedding's gradient) made dense: the kernel takes a tensor.
        gradient = tf.convert_to_tensor(tf.cast(gradient, dtype))
        step = tf.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
        index = self._get_variable_index(variable)
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle, m=self._momentums[index].handle,
            v=self._velocities[index].handle, beta1_power=tf.pow(beta_1, step),
            beta2_power=tf.pow(beta_2, step), lr=tf.cast(learning_rate, dtype), beta1=beta_1,
            beta2=beta_2, epsilon=tf.cast(self.epsilon, dtype), grad=gradient)
