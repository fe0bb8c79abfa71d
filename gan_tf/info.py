"""InfoGAN's categorical code (Chen et al. 2016), without labels: G draws from z and a
code c ~ Cat(K) (one-hot, as a conditional G takes its class), and a head Q on D's last
features predicts c from G(z, c). Adding lambda * CE(c, Q(G(z, c))) to both networks'
losses maximises a lower bound on the mutual information I(c; G(z, c)), so each code
value comes to draw something of its own: on MNIST, mostly a digit class. Nothing says
which: a code is not a class. Here: the loss, and the training step's part of it
(gan_tf.trainer calls these); the networks are gan_tf.models' (`Generator(num_codes=K)`,
`Discriminator.code_logits`); evaluations
and `gan_tf.sample` draw the codes at random (gan_tf.randomness.random_codes)."""
from gan_tf.losses import info_loss as code_loss  # noqa: F401 - the loss lives in losses


def discriminate(discriminator, x, seed, labels=None, features=False):
    """((probs, logits), h) of D on training images x (dropout `seed`, a conditional D's
    `labels`): h, D's last features for the Q head, only with `features` (else None, and
    D called as a whole, as a legacy D must be)."""
    if not features:
        return discriminator(x, training=True, seed=seed, labels=labels), None
    h = discriminator.features(x, training=True, seed=seed)
    return discriminator.logits_from_features(h, labels, training=True), h


def add_code_loss(metrics, discriminator, h, codes, weight):
    """What the code adds to a network's objective: `weight` times losses.info_loss of Q
    on features h of images drawn with `codes`, which goes into `metrics` as info_loss;
    0.0 (and no metric) when the run has no code (h None)."""
    if h is None:
        return 0.0
    metrics["info_loss"] = code_loss(discriminator.code_logits(h), codes)
    return weighted_info_loss(metrics, weight)


def weighted_info_loss(metrics, weight):
    """The code's term in an objective: `weight` times the info_loss in `metrics` (0.0
    when there is none), the one place it is weighted."""
    return weight * metrics["info_loss"] if "info_loss" in metrics else 0.0
