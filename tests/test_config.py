"""gan_tf.config: TrainConfig's checks, its JSON round trip through a run's config.json."""
import dataclasses
import json
import os

import pytest

from gan_tf import errors, runs
from gan_tf.config import TrainConfig, run_defining_differences


@pytest.mark.parametrize("field,value", [
    ("seed", 2 ** 63), ("seed", 2 ** 64),
    ("d_learning_rate", float("inf")), ("g_learning_rate", float("nan")),
    ("g_beta1", float("nan")), ("leak", float("inf")), ("label_smoothing", float("nan")),
    ("instance_noise", float("inf")), ("instance_noise", float("nan")),
    ("g_ema", float("nan")), ("max_seconds", float("inf")), ("label_flip", float("nan")),
    ("dropout", float("nan")), ("bn_momentum", float("inf")),
])
def test_config_refuses_values_tensorflow_cannot_take(field, value):
    with pytest.raises(errors.ConfigError, match=f"--{field}"):
        TrainConfig(**{field: value}).validate()


def test_largest_seed_is_accepted():
    TrainConfig(seed=2 ** 63 - 1).validate()


@pytest.mark.parametrize("bad", [(10,), (1, 1), tuple(range(10))])
def test_exclude_classes_must_be_distinct_digits_not_all(bad):
    with pytest.raises(errors.ConfigError, match="--exclude_classes"):
        TrainConfig(exclude_classes=bad).validate()


def test_an_empty_output_dir_is_refused():
    with pytest.raises(errors.ConfigError, match="--output_dir"):
        TrainConfig(output_dir="").validate()


def test_schedule_defaults():
    config = TrainConfig()
    assert config.schedule(40) == (55000, 40, 1000, 1000)
    assert TrainConfig(epochs=3).schedule(600) == (1800, 600, 1000, 1000)
    assert TrainConfig(epochs=3, max_steps=7, log_every=2).schedule(600)[:2] == (7, 2)
    assert TrainConfig(sample_every=5).schedule(1200)[2] == 5


def test_every_checked_field_names_its_flag_and_the_value():
    with pytest.raises(errors.ConfigError) as error:
        TrainConfig(batch_size=0).validate()
    assert str(error.value).startswith("--batch_size") and "(got 0)" in str(error.value)
    assert TrainConfig().validate() == TrainConfig()  # the defaults are valid


def test_lists_become_tuples_so_configs_compare_and_hash():
    config = TrainConfig(g_hidden=[64, 32], exclude_classes=[7])
    assert config.g_hidden == (64, 32) and config.exclude_classes == (7,)
    assert config == TrainConfig(g_hidden=(64, 32), exclude_classes=(7,))
    assert hash(config) == hash(TrainConfig(g_hidden=(64, 32), exclude_classes=(7,)))


def test_run_dir_defaults_to_model_and_dataset():
    assert TrainConfig(model="dcgan", dataset="mnist_5k").run_dir == os.path.join("runs",
                                                                                "dcgan_mnist_5k")
    assert TrainConfig(output_dir="here").run_dir == "here"


def test_json_round_trip_through_a_runs_config_file(tmp_path):
    config = TrainConfig(output_dir=str(tmp_path), g_hidden=(64, 32), exclude_classes=(7,),
                         leak=0.2, overwrite=True)
    assert TrainConfig(**json.loads(config.to_json())) == config
    runs.write_config(config)
    assert runs.read_config(str(tmp_path)) == dataclasses.replace(config, overwrite=False)


def test_only_how_long_and_where_may_change_on_resume():
    old = TrainConfig()
    new = dataclasses.replace(old, max_steps=10, output_dir="x", eval_samples=0, seed=3,
                              g_hidden=(64,))
    assert run_defining_differences(old, new) == ["g_hidden: None -> (64,)", "seed: 0 -> 3"]


@pytest.mark.parametrize("field,value", [
    ("loss", "softplus"), ("r1_gamma", -1.0), ("r1_gamma", float("nan")),
    ("gradient_penalty", float("inf")), ("gradient_penalty", -0.5),
])
def test_loss_fields_refuse_bad_values(field, value):
    with pytest.raises(errors.ConfigError, match=f"^--{field}: .*got"):
        TrainConfig(**{field: value}).validate()


@pytest.mark.parametrize("loss", ["hinge", "least_squares", "wasserstein"])
def test_label_tricks_belong_to_the_non_saturating_loss(loss):
    TrainConfig(loss=loss, r1_gamma=10.0, gradient_penalty=10.0).validate()
    TrainConfig(loss=loss, label_smoothing=TrainConfig.label_smoothing).validate()
    with pytest.raises(errors.ConfigError, match=f"^--label_flip: .*not --loss={loss}") as e:
        TrainConfig(loss=loss, label_flip=0.1).validate()
    assert "\n" not in str(e.value)
    with pytest.raises(errors.ConfigError, match=f"^--label_smoothing: .*not --loss={loss}"):
        TrainConfig(loss=loss, label_smoothing=1.0).validate()
    TrainConfig(label_flip=0.1, label_smoothing=1.0, r1_gamma=1.0).validate()


def test_the_loss_and_its_penalties_define_a_run():
    old = TrainConfig()
    new = TrainConfig(loss="hinge", r1_gamma=1.0, gradient_penalty=10.0)
    assert run_defining_differences(old, new) == [
        "loss: 'non_saturating' -> 'hinge'", "r1_gamma: 0.0 -> 1.0",
        "gradient_penalty: 0.0 -> 10.0"]


@pytest.mark.parametrize("policy", ["zoom", "cutout,cutout", "color,", "translation cutout",
                                    "Cutout", 3])
def test_diffaugment_takes_known_policies_once_each(policy):
    with pytest.raises(errors.ConfigError, match="^--diffaugment: .*translation,cutout.*got") as e:
        TrainConfig(diffaugment=policy).validate()
    assert "\n" not in str(e.value)


def test_diffaugment_translation_and_d_translate_are_refused_together():
    TrainConfig(diffaugment="color,translation,cutout").validate()
    TrainConfig(diffaugment="cutout", d_translate=2).validate()
    with pytest.raises(errors.ConfigError, match="^--d_translate: .*translate twice"):
        TrainConfig(diffaugment="translation,cutout", d_translate=2).validate()
    assert run_defining_differences(TrainConfig(), TrainConfig(diffaugment="cutout")) == [
        "diffaugment: '' -> 'cutout'"]


@pytest.mark.parametrize("field,value", [
    ("z_dim", 64.0), ("batch_size", 32.0), ("seed", True), ("g_hidden", (8.0,)),
    ("max_steps", 10.5), ("exclude_classes", (1.0,)), ("d_learning_rate", "0.1"),
    ("conditional", 1), ("num_samples", 16.0)])
def test_a_field_of_another_type_is_refused_naming_it(field, value):
    """Issue 25 (20): z_dim=64.0 (as a config.json may hold) failed later in TensorFlow."""
    with pytest.raises(errors.ConfigError, match=f"^--{field}: must "):
        TrainConfig(**{field: value}).validate()


def test_a_config_json_with_a_float_size_is_a_damaged_run(tmp_path):
    from gan_tf import errors, runs
    runs.write_config(TrainConfig(output_dir=str(tmp_path)))
    path = tmp_path / "config.json"
    path.write_text(path.read_text().replace('"z_dim": 100,', '"z_dim": 100.0,'))
    with pytest.raises(errors.RunError, match="damaged.*z_dim: must be an integer"):
        runs.read_config(str(tmp_path))


def test_data_dir_with_the_embedded_subset_is_refused_not_ignored():
    with pytest.raises(errors.ConfigError, match="^--data_dir: is for --dataset=mnist"):
        TrainConfig(dataset="mnist_5k", data_dir="/somewhere").validate()


def test_tf1_regularization_is_refused_with_gan_tfs_own_models():
    with pytest.raises(errors.ConfigError, match="^--tf1_regularization: is for legacy model"):
        TrainConfig(model="mlp", tf1_regularization=False).validate()


def test_each_option_is_declared_once_and_the_flags_come_from_it():
    """A TrainConfig field carries its help, check, choices and resume rule; the training
    command's flags, their validators, RESUMABLE_FIELDS and docs/flags.md are made from
    those declarations (adding an option is one field in gan_tf/config.py)."""
    from absl import flags

    from gan_tf import config
    from gan_tf.commands import train_flags
    fields = dataclasses.fields(config.TrainConfig)
    assert all(f.metadata["help"].strip() for f in fields)
    assert config.RESUMABLE_FIELDS == {f.name for f in fields if f.metadata["resumable"]}
    assert set(config.FIELD_CHECKS) == {f.name for f in fields if f.metadata["check"]}
    defined = {name for name, flag in flags.FLAGS._flags().items()
               if flags.FLAGS.find_module_defining_flag(name) == train_flags.__name__
               or name in {f.name for f in fields}}
    assert defined == {f.name for f in fields} | {"tf_log"}
    for f in fields:
        flag = flags.FLAGS[f.name]
        assert flag.help.endswith(f.metadata["help"])  # an enum's starts with <a|b|c>: 
        if f.metadata["choices"]:
            assert isinstance(flag, flags.EnumFlag)
            assert list(flag.parser.enum_values) == list(f.metadata["choices"])
        assert train_flags.field_value(f.name, flag.default) == f.default  # "auto": None


@pytest.mark.parametrize("field", ["g_hidden", "d_hidden", "g_channels", "d_channels"])
def test_a_config_json_with_400_000_layers_is_refused_before_building(tmp_path, field):
    """config.json's 1 MiB can list 400,000 one-unit layers: tiny weights, hours to build."""
    from gan_tf import runs
    runs.write_config(TrainConfig(output_dir=str(tmp_path),
                                  model="dcgan" if "channels" in field else "mlp"))
    path = tmp_path / "config.json"
    stored = json.loads(path.read_text())
    stored[field] = [1] * 400_000
    path.write_text(json.dumps(stored, separators=(",", ":")))
    with pytest.raises(errors.RunError, match=f"damaged.*{field}: .*at most 1024"):
        runs.read_config(str(tmp_path))
    with pytest.raises(errors.ConfigError, match=f"--{field}"):
        TrainConfig(**{field: (8,) * 1025}).validate()
    TrainConfig(**{field: (8,) * 1024}).validate()
