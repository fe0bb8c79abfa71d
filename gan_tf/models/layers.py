"""TF1-named layers as tf.Modules that create their variables on first call.

Each layer's module name is the TF1 layer name (`dense`, `dense_1`,
`conv2d_transpose`, `batch_normalization`, ...) so that inside a model's scope
the variables read `generator/dense/kernel`, exactly as `tf.layers` named them.
Default initialisers are TF1's: Glorot-uniform kernels, zero biases; `init`
picks another kernel initialiser (the first of the training tricks: DCGAN's
N(0, 0.02)). `spectral_norm=True` divides a kernel by its largest singular value
(Miyato et al. 2018), estimated with the non-trainable power-iteration vector `sn_u`
stored next to it (`discriminator/conv2d/sn_u`).

Variables are float32; a layer computes in its input's dtype (bfloat16 or float16
under --mixed_precision), casting its variables to it.
"""
import math

import tensorflow as tf


def glorot_uniform(shape, fan_in, fan_out):
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return tf.random.uniform(shape, -limit, limit)


def initial_kernel(init, shape, fan_in, fan_out):
    """glorot: TF1's default; normal_0.02: the DCGAN paper's; he: N(0, 2 / fan_in)."""
    if init == "glorot":
        return glorot_uniform(shape, fan_in, fan_out)
    if init == "normal_0.02":
        return tf.random.normal(shape, stddev=0.02)
    if init == "he":
        return tf.random.normal(shape, stddev=math.sqrt(2.0 / fan_in))
    raise ValueError(f"unknown init {init!r}")


class _Linear(tf.Module):
    """A layer with a kernel and an optional bias of `units` values, created on the first
    call from the input's last axis. Subclasses say the kernel's shape and fans and
    compute in `apply`."""

    def __init__(self, units, use_bias, name, init, spectral_norm=False):
        super().__init__(name=name)
        self.units, self.use_bias, self.init = units, use_bias, init
        self.spectral_norm = spectral_norm
        self.kernel = self.bias = self.sn_u = None

    def kernel_shape(self, c_in):
        """(kernel shape, fan_in, fan_out) for c_in input channels."""
        raise NotImplementedError

    def apply(self, x, kernel):
        raise NotImplementedError

    def __call__(self, x, training=False):
        """`training`: a spectrally normalised layer takes one power-iteration step."""
        if self.kernel is None:
            with self.name_scope:
                shape, fan_in, fan_out = self.kernel_shape(int(x.shape[-1]))
                self.kernel = tf.Variable(initial_kernel(self.init, shape, fan_in, fan_out),
                                          name="kernel")
                if self.use_bias:
                    self.bias = tf.Variable(tf.zeros([self.units]), name="bias")
                if self.spectral_norm:  # replicas compute equal values: keep the first's
                    self.sn_u = tf.Variable(
                        tf.math.l2_normalize(tf.random.normal(shape[-1:])), trainable=False,
                        name="sn_u", aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
        kernel = self.kernel
        if self.spectral_norm:
            kernel = kernel / spectral_norm_estimate(kernel, self.sn_u, training)
        y = self.apply(x, _like(kernel, x))
        return tf.nn.bias_add(y, _like(self.bias, x)) if self.use_bias else y


def spectral_norm_estimate(kernel, u, update):
    """sigma = v^T W u, the largest singular value of W = kernel reshaped to (fan_in,
    fan_out), from the unit vector u (fan_out,) and v = W u / |W u|. `update`: one
    power-iteration step (Miyato et al.'s), u <- W^T v / |W^T v| assigned to the variable
    before sigma is taken, as in training; else the stored u. u and v are constants to
    the gradient."""
    w = tf.reshape(kernel, [-1, kernel.shape[-1]])
    u_value = tf.convert_to_tensor(u)
    v = tf.stop_gradient(tf.math.l2_normalize(tf.linalg.matvec(w, u_value)))
    if update:
        u_value = tf.stop_gradient(
            tf.math.l2_normalize(tf.linalg.matvec(w, v, transpose_a=True)))
        u.assign(u_value)
    return tf.tensordot(v, tf.linalg.matvec(w, u_value), 1)


class Dense(_Linear):
    """y = x @ kernel + bias; kernel (in, units)."""

    def __init__(self, units, use_bias=True, name="dense", init="glorot", spectral_norm=False):
        super().__init__(units, use_bias, name, init, spectral_norm)

    def kernel_shape(self, c_in):
        return [c_in, self.units], c_in, self.units

    def apply(self, x, kernel):
        return tf.matmul(x, kernel)


class Embedding(tf.Module):
    """A learned vector per class; embeddings (num_classes, dim), dim from the first call."""

    def __init__(self, num_classes, name="embedding", init="glorot"):
        super().__init__(name=name)
        self.num_classes, self.init = num_classes, init
        self.embeddings = None

    def __call__(self, labels, dim):
        if self.embeddings is None:
            with self.name_scope:
                self.embeddings = tf.Variable(
                    initial_kernel(self.init, [self.num_classes, dim], self.num_classes, dim),
                    name="embeddings")
        return tf.gather(self.embeddings, labels)


class Conv2D(_Linear):
    """SAME-padded NHWC convolution; kernel (k, k, in, filters)."""

    def __init__(self, filters, kernel_size, strides=1, use_bias=True, name="conv2d",
                 init="glorot", spectral_norm=False):
        super().__init__(filters, use_bias, name, init, spectral_norm)
        self.filters, self.kernel_size, self.strides = filters, kernel_size, strides

    def kernel_shape(self, c_in):
        size = self.kernel_size
        return [size, size, c_in, self.filters], size * size * c_in, size * size * self.filters

    def apply(self, x, kernel):
        return tf.nn.conv2d(x, kernel, self.strides, "SAME")


class Conv2DTranspose(Conv2D):
    """SAME-padded transposed convolution, output size = input size * strides.

    Kernel (size, size, filters, in), as tf.layers.conv2d_transpose stored it.
    """

    def __init__(self, filters, kernel_size, strides=1, use_bias=True, name="conv2d_transpose",
                 init="glorot"):
        super().__init__(filters, kernel_size, strides, use_bias, name, init)

    def kernel_shape(self, c_in):
        size = self.kernel_size
        return [size, size, self.filters, c_in], size * size * c_in, size * size * self.filters

    def apply(self, x, kernel):
        s = self.strides
        if s == 1 and self.kernel_size % 2 == 1:
            return stride1_conv2d_transpose(x, kernel)
        out_shape = tf.stack([tf.shape(x)[0], x.shape[1] * s, x.shape[2] * s, self.filters])
        return tf.nn.conv2d_transpose(x, kernel, out_shape, s, "SAME")


@tf.autograph.experimental.do_not_convert
def stride1_conv2d_transpose(x, kernel):
    """conv2d_transpose at stride 1, SAME padding, an odd kernel (k, k, out, in): x (n, h,
    w, in) -> (n, h, w, out), with every pass a forward convolution where one can be.

    Forward, a convolution with the kernel flipped and its channel axes swapped (the same
    map). Its input gradient is then, by the same identity, a convolution of the upstream
    gradient with the kernel as stored, instead of the backward-data kernel autodiff would
    run; the kernel's gradient is the one conv2d_transpose's autodiff computes. The values
    and both gradients are conv2d_transpose's (tested); on CPU oneDNN's forward kernels are
    the fast ones: the layer's forward and backward 1.2-1.5x faster than either autodiff
    form on a 2-core EPYC (docs/performance.md, the fourteenth pass). An even or
    non-square kernel is refused: SAME padding is then uneven, and the identity fails."""
    height, width = kernel.shape[:2]
    if height != width or height % 2 == 0:
        raise ValueError(f"stride1_conv2d_transpose needs a square kernel of odd size, "
                         f"got {height}x{width}")
    return _stride1_conv2d_transpose(x, tf.convert_to_tensor(kernel))


@tf.custom_gradient
def _stride1_conv2d_transpose(x, kernel):
    flipped = tf.transpose(tf.reverse(kernel, [0, 1]), [0, 1, 3, 2])  # (k, k, in, out)

    def grad(dy):  # dy (n, h, w, out)
        dx = tf.nn.conv2d(dy, kernel, 1, "SAME")  # (n, h, w, in)
        dkernel = tf.compat.v1.nn.conv2d_backprop_filter(
            dy, tf.shape(kernel), x, [1, 1, 1, 1], "SAME")  # (k, k, out, in)
        return dx, dkernel
    return tf.nn.conv2d(x, flipped, 1, "SAME"), grad


class BatchNorm(tf.Module):
    """Batch normalisation over the last axis with moving statistics (TF1 defaults).

    Under a tf.distribute strategy with several replicas the batch statistics are
    those of the global batch (synchronised with an all-reduce), so a step computes
    what it would on one device; the moving averages then agree on every replica.
    Statistics are float32 whatever the input's dtype."""

    def __init__(self, momentum=0.99, epsilon=1e-3, name="batch_normalization"):
        super().__init__(name=name)
        self.momentum, self.epsilon = momentum, epsilon
        self.gamma = None

    def __call__(self, x, training, update=True):
        """Training: batch statistics, and (if `update`) the moving averages follow them."""
        if self.gamma is None:
            with self.name_scope:
                c = int(x.shape[-1])
                self.gamma = tf.Variable(tf.ones([c]), name="gamma")
                self.beta = tf.Variable(tf.zeros([c]), name="beta")
                # Replicas assign equal values: keep the first's, as synchronised BN does.
                first = tf.VariableAggregation.ONLY_FIRST_REPLICA
                self.moving_mean = tf.Variable(tf.zeros([c]), trainable=False, name="moving_mean",
                                               aggregation=first)
                self.moving_variance = tf.Variable(tf.ones([c]), trainable=False,
                                                   name="moving_variance", aggregation=first)
        dtype, x = x.dtype, tf.cast(x, tf.float32)
        replicas = _replicas_in_sync()
        if len(x.shape) == 4 and replicas == 1:  # NHWC: the fused kernel, as TF1's fused=True
            y, mean, variance = tf.compat.v1.nn.fused_batch_norm(
                x, self.gamma, self.beta, None if training else self.moving_mean,
                None if training else self.moving_variance, self.epsilon, is_training=training)
            if training and update:  # variance here is the unbiased one, as in TF1
                self._update_moving(mean, variance)
            return tf.cast(y, dtype)
        if training:
            mean, variance, count = _global_moments(x, list(range(len(x.shape) - 1)))
            if update:  # 4-D: unbiased, as the fused kernel reports it
                self._update_moving(mean, variance * count / (count - 1.0)
                                    if len(x.shape) == 4 else variance)
        else:
            mean, variance = self.moving_mean, self.moving_variance
        y = tf.nn.batch_normalization(x, mean, variance, self.beta, self.gamma, self.epsilon)
        return tf.cast(y, dtype)

    def _update_moving(self, mean, variance):
        m = self.momentum
        self.moving_mean.assign(self.moving_mean * m + mean * (1.0 - m))
        self.moving_variance.assign(self.moving_variance * m + variance * (1.0 - m))


def _replicas_in_sync():
    context = tf.distribute.get_replica_context()
    return 1 if context is None else context.num_replicas_in_sync


def _global_moments(x, axes):
    """Mean and (biased) variance of x over `axes` and over every replica's batch, and
    the number of values they cover. Two all-reduces (mean, then squared deviations):
    as accurate as one device's tf.nn.moments. Differentiable."""
    context = tf.distribute.get_replica_context()
    count = tf.cast(tf.reduce_prod(tf.gather(tf.shape(x), axes)), tf.float32)
    if context is None or context.num_replicas_in_sync == 1:
        mean, variance = tf.nn.moments(x, axes)
        return mean, variance, count
    total_sum, total_count = context.all_reduce(
        tf.distribute.ReduceOp.SUM, [tf.reduce_sum(x, axes), count])
    mean = total_sum / total_count
    squares = context.all_reduce(tf.distribute.ReduceOp.SUM,
                                 tf.reduce_sum(tf.square(x - mean), axes))
    return mean, squares / total_count, total_count


def _like(variable, x):
    """The variable in x's dtype (a no-op unless --mixed_precision)."""
    return tf.cast(variable, x.dtype)


def dropout(x, rate, training, seed=None):
    """Dropout in training only; a stateless seed (shape [2]) makes it reproducible."""
    if not training or rate <= 0.0:
        return x
    if seed is None:
        return tf.nn.dropout(x, rate)
    return tf.nn.experimental.stateless_dropout(x, rate, seed=seed)


class LayerNames:
    """Hands out TF1's automatic layer names: dense, dense_1, dense_2, ..."""

    def __init__(self):
        self._counts = {}

    def __call__(self, base):
        n = self._counts.get(base, 0)
        self._counts[base] = n + 1
        return base if n == 0 else f"{base}_{n}"
