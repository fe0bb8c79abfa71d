"""The (inputs, training) functions gan_tf takes, binding each legacy model's own
arguments (widths kept tiny for the tests). --generator_fn names these."""
from tests.legacy_models import dcgan_layers, dcgan_ops, mlp_gan, slim_template, tfgan_style

SIZES = {"mlp": dict(n_units=16), "layers": dict(width=4), "ops": 4}
BATCH_SIZE = 8  # the legacy graph's, fixed in the ops style's generator


def mlp_generator(z, training):
    return mlp_gan.generator(z, 784, **SIZES["mlp"])


def mlp_discriminator(x, training):
    return mlp_gan.discriminator(x, **SIZES["mlp"])


def layers_generator(z, training):
    return dcgan_layers.generator(z, training, **SIZES["layers"])


def layers_discriminator(x, training):
    return dcgan_layers.discriminator(x, training, **SIZES["layers"])


def ops_generator(z, training):
    return dcgan_ops.generator(z, training, gf_dim=SIZES["ops"], batch_size=BATCH_SIZE)


def ops_discriminator(x, training):
    return dcgan_ops.discriminator(x, train=training, df_dim=SIZES["ops"])


def _with_probabilities(logits):
    """(D(x), logits), the pair the legacy graph's losses take (with the model files' tf)."""
    return tfgan_style.tf.sigmoid(logits), logits


def tfgan_generator(z, training):
    return tfgan_style.generator(z, training)


def tfgan_discriminator(x, training):
    return _with_probabilities(tfgan_style.discriminator(x, training))


def slim_generator(z, training):
    return slim_template.generator(z, training)


def slim_discriminator(x, training):
    return _with_probabilities(slim_template.discriminator(x, training))
