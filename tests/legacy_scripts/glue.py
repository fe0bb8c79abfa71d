"""The (inputs, training) functions gan_tf takes (--generator_fn=...), over the legacy
scripts' own model functions, with the sizes the scripts use (importing a script runs
nothing but its definitions: its training is under `if __name__ == "__main__":`)."""
from tests.legacy_scripts import dcgan_bn, notebook_gan


def notebook_generator(z, training):
    return notebook_gan.generator(z, notebook_gan.input_size, notebook_gan.g_hidden_size,
                                  alpha=notebook_gan.alpha)


def notebook_discriminator(x, training):
    return notebook_gan.discriminator(x, notebook_gan.d_hidden_size, alpha=notebook_gan.alpha)


def dcgan_generator(z, training):
    return dcgan_bn.generator(z, training)


def dcgan_discriminator(x, training):
    return dcgan_bn.discriminator(x, training)
