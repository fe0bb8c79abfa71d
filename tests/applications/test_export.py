"""gan_tf.export: a run's generator as a SavedModel or a TF1 checkpoint, and the checks
that keep an export from rewriting a run's own checkpoint index."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from benchmarks.legacy_tf1_gan import LegacyGAN
from gan_tf import errors
from gan_tf.applications import export
from gan_tf.runs.restore import restore_models
from tests.helpers import run_module, z_batch


def test_export_into_the_runs_checkpoint_folder_is_refused(small_run):
    index = small_run / "checkpoints" / "checkpoint"
    before = index.read_bytes()
    names = sorted(os.listdir(small_run / "checkpoints"))
    for overwrite in (False, True):
        with pytest.raises(errors.OutputError, match=r"--tf1_checkpoint_out.*checkpoints") as error:
            export.check_tf1_checkpoint_out(f"{small_run}/checkpoints/legacy.ckpt", str(small_run),
                                            overwrite)
        assert "\n" not in str(error.value)
    assert index.read_bytes() == before
    assert sorted(os.listdir(small_run / "checkpoints")) == names
    assert restore_models(str(small_run))[3].endswith("ckpt-10")


def test_export_refuses_a_folder_whose_checkpoint_index_names_other_checkpoints(small_run, tmp_path):
    other = tmp_path / "legacy"
    other.mkdir()
    (other / "checkpoint").write_text('model_checkpoint_path: "model.ckpt-7"\n'
                                      'all_model_checkpoint_paths: "model.ckpt-7"\n')
    with pytest.raises(errors.OutputError, match="model.ckpt-7"):
        export.check_tf1_checkpoint_out(str(other / "g.ckpt"), str(small_run), overwrite=False)
    # --overwrite lets the index point at the export (legacy code then finds it), and a
    # folder that holds only an earlier export of its own is fine.
    export.check_tf1_checkpoint_out(str(other / "g.ckpt"), str(small_run), overwrite=True)
    (other / "checkpoint").write_text(f'model_checkpoint_path: "{other}/g.ckpt"\n')
    export.check_tf1_checkpoint_out(str(other / "g.ckpt"), str(small_run), overwrite=False)
    # Through a symbolic link to the run's own folder: refused even with --overwrite.
    link = tmp_path / "link"
    link.symlink_to(small_run / "checkpoints")
    with pytest.raises(errors.OutputError, match="checkpoints folder"):
        export.check_tf1_checkpoint_out(str(link / "g.ckpt"), str(small_run), overwrite=True)


def test_export_saved_model_loads_without_gan_tf(short_run, tmp_path):
    export_dir = tmp_path / "export"
    result = run_module("gan_tf.export", f"--run_dir={short_run}", f"--export_dir={export_dir}")
    assert result.returncode == 0, result.stderr[-2000:]
    z = z_batch(5)
    np.save(tmp_path / "z.npy", z)
    script = (
        "import sys, numpy as np, tensorflow as tf\n"
        f"m = tf.saved_model.load({str(export_dir)!r})\n"
        f"out = m.signatures['serving_default'](z=tf.constant(np.load({str(tmp_path / 'z.npy')!r})))\n"
        "assert 'gan_tf' not in sys.modules\n"
        f"np.save({str(tmp_path / 'images.npy')!r}, out['images'].numpy())\n")
    loaded = subprocess.run([sys.executable, "-c", script], cwd=str(tmp_path),
                            capture_output=True, text=True, timeout=300)
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    _, g, _, _ = restore_models(short_run)
    np.testing.assert_allclose(np.load(tmp_path / "images.npy"), g(z)[0].numpy(), atol=1e-5)
    with open(export_dir / export.EXPORT_INFO) as f:
        assert json.load(f)["z_dim"] == 100
    refused = run_module("gan_tf.export", f"--run_dir={short_run}", f"--export_dir={export_dir}")
    assert refused.returncode == 2 and "not empty" in refused.stderr


def test_export_tf1_checkpoint_restores_in_legacy_code(short_run, tmp_path):
    prefix = tmp_path / "checkpoints" / "generator.ckpt"
    result = run_module("gan_tf.export", f"--run_dir={short_run}", f"--tf1_checkpoint_out={prefix}")
    assert result.returncode == 0, result.stderr[-2000:]
    gan = LegacyGAN(seed=5)
    gan.restore_generator(str(tmp_path / "checkpoints"))
    _, g, _, _ = restore_models(short_run)
    z = z_batch()
    np.testing.assert_allclose(gan.generate(z), g(z)[0].numpy().reshape(-1, 784), atol=1e-5)


def test_the_export_info_replaces_a_link_instead_of_writing_through_it(short_run, tmp_path):
    """--overwrite onto a folder whose gan_tf_export.json is a link: the link is replaced,
    the file it pointed to keeps its bytes."""
    outside = tmp_path / "users.json"
    outside.write_text("the user's")
    export_dir = tmp_path / "export"
    export_dir.mkdir()
    os.symlink(outside, export_dir / export.EXPORT_INFO)
    config, generator, _, _ = restore_models(short_run)
    export.export_saved_model(generator, config.z_dim, str(export_dir), config.z_distribution)
    assert outside.read_text() == "the user's"
    assert not os.path.islink(export_dir / export.EXPORT_INFO)
    with open(export_dir / export.EXPORT_INFO) as f:
        assert json.load(f)["z_dim"] == config.z_dim


@pytest.mark.parametrize("links", [
    ("saved_model.pb", "fingerprint.pb", "variables/variables.index",
     "variables/variables.data-00000-of-00001"),
    ("variables",)], ids=["files", "variables_folder"])
def test_the_saved_model_replaces_links_instead_of_writing_through_them(short_run, tmp_path,
                                                                        links):
    """--overwrite onto a folder whose SavedModel files (or its variables/ folder) are links
    elsewhere: the links are replaced, what they pointed to is untouched, the export loads."""
    outside, export_dir = tmp_path / "outside", tmp_path / "export"
    outside.mkdir()
    (export_dir / "variables").mkdir(parents=True)
    for name in links:
        if name == "variables":
            (export_dir / name).rmdir()
            os.symlink(outside, export_dir / name)
        else:
            target = outside / os.path.basename(name)
            target.write_text("the user's")
            os.symlink(target, export_dir / name)
    before = {p.name: p.read_bytes() for p in outside.iterdir()}
    config, generator, _, _ = restore_models(short_run)
    export.export_saved_model(generator, config.z_dim, str(export_dir), config.z_distribution)
    assert {p.name: p.read_bytes() for p in outside.iterdir()} == before
    for name in links:
        assert not os.path.islink(export_dir / name)
    assert sorted(os.listdir(export_dir)) == sorted(
        ["saved_model.pb", "fingerprint.pb", "variables", "assets", export.EXPORT_INFO])
    import tensorflow as tf
    z = z_batch(3)
    images = tf.saved_model.load(str(export_dir)).signatures["serving_default"](
        z=tf.constant(z))["images"]
    np.testing.assert_allclose(images.numpy(), generator(z, training=False)[0].numpy(),
                               atol=1e-5)


def test_a_dangling_link_at_the_tf1_checkpoints_index_counts_as_existing(small_run, tmp_path):
    os.symlink(tmp_path / "gone.index", tmp_path / "model.ckpt.index")
    refused = run_module("gan_tf.export", f"--run_dir={small_run}",
                         f"--tf1_checkpoint_out={tmp_path / 'model.ckpt'}")
    assert refused.returncode == 2 and "exists; pass --overwrite" in refused.stderr
    assert os.path.islink(tmp_path / "model.ckpt.index")


def test_a_checkpoint_index_that_is_a_pipe_reads_as_unreadable_without_hanging(tmp_path):
    import signal

    class Hung(BaseException):  # not an OSError, which the code under test may catch
        pass

    def stuck(*_):
        raise Hung("indexed_checkpoints hung on a pipe")
    os.mkfifo(tmp_path / "checkpoint")
    old = signal.signal(signal.SIGALRM, stuck)
    signal.alarm(10)
    try:
        assert export.indexed_checkpoints(str(tmp_path / "checkpoint")) is None
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    (tmp_path / "big").write_bytes(b'model_checkpoint_path: "x"\n' * 50_000)  # 1.35 MB
    assert export.indexed_checkpoints(str(tmp_path / "big")) is None
    (tmp_path / "small").write_bytes(b'model_checkpoint_path: "x"\n')
    assert export.indexed_checkpoints(str(tmp_path / "small")) == ["x"]


@pytest.mark.parametrize("appears", ["saved_model.pb", "variables", export.EXPORT_INFO])
def test_without_overwrite_a_file_created_meanwhile_is_kept(short_run, tmp_path, monkeypatch,
                                                            appears):
    """The command checks that --export_dir is empty at its start; a file another program
    made there before the export was moved in used to be replaced by a rename."""
    import tensorflow as tf
    from gan_tf import fileio
    export_dir = tmp_path / "export"
    save = tf.saved_model.save

    def save_then_another_program_writes(*args, **kwargs):
        save(*args, **kwargs)
        if appears == "variables":
            (export_dir / appears).mkdir()
            (export_dir / appears / "mine.txt").write_text("the user's")
        else:
            (export_dir / appears).write_text("the user's")
    monkeypatch.setattr(tf.saved_model, "save", save_then_another_program_writes)
    config, generator, _, _ = restore_models(short_run)
    with pytest.raises(fileio.OutputAppeared, match=f"{appears} was created by something else"):
        export.export_saved_model(generator, config.z_dim, str(export_dir),
                                  config.z_distribution, replace=False)
    kept = export_dir / appears / ("mine.txt" if appears == "variables" else "")
    assert kept.read_text() == "the user's"
    assert not [n for n in os.listdir(export_dir) if n.startswith(".staging")]
