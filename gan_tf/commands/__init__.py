"""The command lines: each a thin shell that reads flags into a config and calls library
code. `python train_main.py` and `python -m gan_tf.<tool>` run them, and so do the
console scripts setup.py installs (gan-tf-train, gan-tf-sample, ...; their entry points
are in scripts.py). train.py and train_flags.py: the training command."""
