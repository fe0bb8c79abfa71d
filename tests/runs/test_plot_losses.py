"""gan_tf.plot_losses: the loss plot of a run's or the legacy notebook's train_losses.pkl."""
import os
import pickle

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from benchmarks.legacy_tf1_gan import LegacyGAN  # noqa: E402
from tests.helpers import cli_errors  # noqa: E402


def test_plot_losses_refuses_to_overwrite_unless_asked_and_never_its_input(tmp_path):
    pkl = tmp_path / "tl.pkl"
    pkl.write_bytes(pickle.dumps([(np.float32(1.0), np.float32(2.0))] * 3))
    original = pkl.read_bytes()
    png = tmp_path / "tl.png"
    png.write_bytes(b"mine")
    (into_input, into_input_overwrite, existing, overwrite) = cli_errors(
        "gan_tf.plot_losses", [str(pkl), f"--out={pkl}"], [str(pkl), f"--out={pkl}", "--overwrite"],
        [str(pkl)], [str(pkl), "--overwrite"])
    for code, stderr in (into_input, into_input_overwrite):
        assert code == 2 and len(stderr.strip().splitlines()) == 1 and "--out" in stderr
    assert pkl.read_bytes() == original
    assert existing[0] == 2 and "--overwrite" in existing[1] and "Traceback" not in existing[1]
    assert overwrite[0] == 0, overwrite[1][-2000:]
    assert png.read_bytes().startswith(b"\x89PNG")


def test_plot_losses_reads_legacy_and_gan_tf_files(short_run, tmp_path):
    legacy_losses = LegacyGAN(seed=6).train(3)  # tuples of numpy float32, as the notebook kept
    assert type(legacy_losses[0][0]) is np.float32
    with open(tmp_path / "legacy.pkl", "wb") as f:
        pickle.dump(legacy_losses, f)
    paths = [tmp_path / "legacy.pkl", os.path.join(short_run, "train_losses.pkl")]
    outs = [tmp_path / (os.path.basename(os.path.dirname(str(path))) + ".png") for path in paths]
    with open(tmp_path / "notpairs.pkl", "wb") as f:
        pickle.dump({"d": [1.0]}, f)
    *done, bad = cli_errors("gan_tf.plot_losses",
                            *[[str(path), f"--out={out}"] for path, out in zip(paths, outs)],
                            [str(tmp_path / "notpairs.pkl")])
    for (code, stderr), out in zip(done, outs):
        assert code == 0, stderr[-2000:]
        assert plt.imread(out).ndim == 3
    assert bad[0] == 1 and "list of (d_loss, g_loss) pairs" in bad[1]
    assert len(bad[1].strip().splitlines()) == 1


def test_plot_losses_refuses_losses_beyond_a_float_in_one_line(tmp_path):
    """A pickled int of 400 digits is a number the check passed; numpy's float32 overflowed."""
    path = tmp_path / "train_losses.pkl"
    path.write_bytes(pickle.dumps([(10 ** 400, 1.0)]))
    ((code, stderr),) = cli_errors("gan_tf.plot_losses", [str(path)])
    assert code == 1 and "Traceback" not in stderr, stderr
    assert "train_losses.pkl" in stderr.strip().splitlines()[-1]
    assert not os.path.exists(tmp_path / "train_losses.png")
