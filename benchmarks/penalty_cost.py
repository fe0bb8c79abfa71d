"""What the gradient penalties, DiffAugment and InfoGAN's code cost per train step: steps
per second of GANTrainer.train_steps without any, with --r1_gamma, with --gradient_penalty,
with --diffaugment's full policy and with --latent_categories=10, for the default MLP
(batch 100) and the DCGAN of flags/dcgan_cpu.cfg (batch 32), on random images.
`--architecture`: instead, that DCGAN as it is, with --g_upsample=resize and with
--minibatch_stddev. `--levers`: instead, both models with each of issue 28's small-data
levers (ADA's adaptive DiffAugment, LeCam, bCR, top-k, linear learning-rate decay,
MSGAN's mode seeking, IMLE's nearest-sample term, alone and with a pool of 128 or 256
samples) and SS-GAN's rotation head (D's part, then G's too). `--only=NAME,...` times only those variants (and "none"). `--codes`:
instead, the DCGAN of flags/dcgan_info_cpu.cfg (a 10-valued code, z 100 normal) against 20
code values, InfoGAN's 62-d uniform z, and both (flags/dcgan_info20_cpu.cfg). The variants' calls interleave over 3
rounds, each variant first in turn; rates and CPU times are medians.

    python benchmarks/penalty_cost.py [--rounds=3] [--architecture | --levers | --codes]
        [--only=NAME,...]
"""
import argparse
import time

import numpy as np
import tensorflow as tf

from gan_tf import data, models
from gan_tf.config import TrainConfig
from gan_tf.training.steps import GANTrainer

MODELS = {  # name -> (config fields, steps per timed call)
    "mlp": (dict(model="mlp", batch_size=100), 40),
    "dcgan_cpu": (dict(model="dcgan", batch_size=32, g_channels=(64, 32), d_channels=(32, 64),
                       dropout=0.0, z_distribution="normal", g_beta1=0.5, d_beta1=0.5), 10),
}
PENALTIES = {"none": {}, "r1_gamma=10": dict(r1_gamma=10.0),
             "gradient_penalty=10": dict(gradient_penalty=10.0),
             "diffaugment=color,translation,cutout": dict(diffaugment="color,translation,cutout"),
             "latent_categories=10": dict(latent_categories=10)}
LEVERS = {"none": {}, "diffaugment=translation,cutout": dict(diffaugment="translation,cutout"),
          "+augment_target=0.6": dict(diffaugment="translation,cutout", augment_target=0.6),
          "lecam_weight=0.3": dict(lecam_weight=0.3), "bcr_weight=10": dict(bcr_weight=10.0),
          "topk_gamma=0.99": dict(topk_gamma=0.99),
          "lr_decay=linear": dict(lr_decay="linear", max_steps=24000),
          "mode_seeking_weight=1": dict(mode_seeking_weight=1.0),
          "coverage_weight=1": dict(coverage_weight=1.0),
          "+coverage_pool=128": dict(coverage_weight=1.0, coverage_pool=128),
          "+coverage_pool=256": dict(coverage_weight=1.0, coverage_pool=256),
          "rotation_weight=1": dict(rotation_weight=1.0),
          "+g_rotation_weight=0.2": dict(rotation_weight=1.0, g_rotation_weight=0.2)}
ARCHITECTURE_OPTIONS = {"none": {}, "g_upsample=resize": dict(g_upsample="resize"),
                        "minibatch_stddev": dict(minibatch_stddev=True)}
_INFOGAN_PRIOR = dict(z_dim=62, z_distribution="uniform")
CODES = {"latent_categories=10": dict(latent_categories=10),
         "latent_categories=20": dict(latent_categories=20),
         "latent_categories=10, z 62 uniform": dict(latent_categories=10, **_INFOGAN_PRIOR),
         "latent_categories=20, z 62 uniform": dict(latent_categories=20, **_INFOGAN_PRIOR)}


def rates(fields, steps, rounds, variants=PENALTIES):
    """{variant: (median steps/s, median CPU ms per step)} of one model with each of
    `variants` (name -> fields). The CPU time (all threads) says what a step costs when the
    machine is shared and the wall clock says mostly how busy it is."""
    images = np.random.default_rng(0).uniform(-1, 1, (2000, 28, 28, 1)).astype(np.float32)
    trainers = {}
    for name, extra in variants.items():
        config = TrainConfig(dataset="mnist_5k", eval_samples=0, **{**fields, **extra})
        trainer = GANTrainer(config, *models.build(config), steps_per_epoch=125)
        batches = iter(data.make_dataset(images, config.batch_size, seed=0))
        trainer.train_steps(batches, tf.constant(2, tf.int64))  # trace and compile
        trainers[name] = (trainer, batches)
    measured = {name: [] for name in trainers}
    for r in range(rounds):
        names = list(trainers)
        for name in names[r % len(names):] + names[:r % len(names)]:  # each goes first in turn
            trainer, batches = trainers[name]
            start, cpu = time.perf_counter(), time.process_time()
            trainer.train_steps(batches, tf.constant(steps, tf.int64))[0].numpy()
            measured[name].append((steps / (time.perf_counter() - start),
                                   1e3 * (time.process_time() - cpu) / steps))
    return {name: tuple(np.median(v, axis=0)) for name, v in measured.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--architecture", action="store_true",
                       help="dcgan_cpu with its architecture options instead")
    which.add_argument("--levers", action="store_true",
                       help="both models with each small-data lever instead")
    which.add_argument("--codes", action="store_true",
                       help="dcgan_info_cpu's DCGAN with 10 or 20 code values and either prior")
    parser.add_argument("--only", default="",
                        help="comma-separated variant names to time (with none)")
    args = parser.parse_args()
    models_, variants = MODELS, PENALTIES
    if args.architecture:
        models_ = {"dcgan_cpu": (MODELS["dcgan_cpu"][0], 50)}  # longer calls: small differences
        variants = ARCHITECTURE_OPTIONS
    elif args.codes:  # the same networks; the variants say the code and the prior
        models_ = {"dcgan_info_cpu": (MODELS["dcgan_cpu"][0], 50)}
        variants = CODES
    elif args.levers:
        variants = LEVERS
    if args.only:
        names = args.only.split(",")
        unknown = sorted(set(names) - set(variants))
        if unknown:
            parser.error(f"--only: no variant {', '.join(unknown)} here; "
                         f"choose from {', '.join(variants)}")
        variants = {name: variants[name] for name in ["none"] + names}
    for model, (fields, steps) in models_.items():
        result = rates(fields, steps, args.rounds, variants)
        print(model, "  ".join(f"{name}: {rate:.1f} steps/s ({cpu:.1f} CPU ms/step)"
                               for name, (rate, cpu) in result.items()))


if __name__ == "__main__":
    main()
