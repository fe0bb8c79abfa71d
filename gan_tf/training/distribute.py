"""Scaling out with tf.distribute: the strategy a run trains under, and who writes what.

    --strategy=default       one device (TensorFlow's default strategy)
    --strategy=mirrored      every GPU of this machine (or its logical CPU devices,
                             --cpu_devices=N, to try it without GPUs), in sync
    --strategy=multi_worker  several processes or machines in sync, described by the
                             standard TF_CONFIG environment variable
    --strategy=tpu           a Cloud TPU, found by TPUClusterResolver(--tpu)

The model code does not change: variables are created under `strategy.scope()`,
each replica runs the train step on its slice of the global batch, and the
optimizers sum the replicas' gradients of losses scaled by 1 / replicas.
Only the chief writes the run directory; other workers write their share of a
checkpoint to a scratch directory that is deleted afterwards.
"""
import atexit
import json
import logging
import os
import re
import shutil
import socket
import tempfile

import tensorflow as tf

from gan_tf import fileio
from gan_tf.training import precision
from gan_tf.errors import DistributeError, WorkerLost

log = logging.getLogger(__name__)
# --mixed_precision=on's compute dtype by device (gan_tf.training.precision).
MIXED_DTYPES = precision.HALF_TYPES


def configure_cpu_devices(n):
    """Splits the first CPU into `n` logical devices (mirrored training without GPUs).
    Must run before TensorFlow initialises its devices."""
    cpus = tf.config.list_physical_devices("CPU")
    wanted = [tf.config.LogicalDeviceConfiguration() for _ in range(n)]
    current = tf.config.get_logical_device_configuration(cpus[0])
    if current is not None and len(current) == n:
        return
    try:
        tf.config.set_logical_device_configuration(cpus[0], wanted)
    except RuntimeError:
        have = len(tf.config.list_logical_devices("CPU"))
        if have != n:
            raise DistributeError(
                f"--cpu_devices={n}: TensorFlow already started with {have} CPU device(s) in this "
                "process; set it before anything else runs TensorFlow") from None


def _tf_config():
    text = os.environ.get("TF_CONFIG")
    if not text:
        raise DistributeError("--strategy=multi_worker needs the TF_CONFIG environment variable "
                              "(cluster and task; see docs/scaling.md)")
    try:
        spec = fileio.loads_json(text)
        spec["cluster"], spec["task"]["type"], spec["task"]["index"]  # noqa: B018 - must exist
    except (ValueError, KeyError, TypeError) as e:
        raise DistributeError(f"TF_CONFIG is not a cluster spec with a task ({e!r}); "
                              "see docs/scaling.md") from None
    cluster, task = spec["cluster"], spec["task"]
    if not isinstance(cluster, dict) or not cluster:
        raise DistributeError("TF_CONFIG's cluster must map job names to lists of host:port")
    for job, addresses in cluster.items():
        if job not in CLUSTER_JOBS:
            raise DistributeError(f"TF_CONFIG's cluster has a {job!r} job; "
                                  f"--strategy=multi_worker takes {' and '.join(CLUSTER_JOBS)} "
                                  "jobs only (no parameter servers)")
        if not (isinstance(addresses, list) and addresses
                and all(isinstance(a, str) and a.count(":") >= 1 for a in addresses)):
            raise DistributeError(f"TF_CONFIG's {job!r} job must be a list of host:port "
                                  f"strings, not {json.dumps(addresses)[:80]}")
    kind, index = task["type"], task["index"]
    if kind not in cluster:
        raise DistributeError(f"TF_CONFIG's task type {kind!r} is not a job of its cluster "
                              f"({', '.join(cluster)})")
    if type(index) is not int or not 0 <= index < len(cluster[kind]):
        raise DistributeError(f"TF_CONFIG's task index {index!r} is not one of the "
                              f"{len(cluster[kind])} {kind!r} tasks (0 to "
                              f"{len(cluster[kind]) - 1})")
    return spec


CLUSTER_JOBS = ("chief", "worker")  # what MultiWorkerMirroredStrategy runs


def make_strategy(config):
    """The tf.distribute strategy `config.strategy` names, set up. Call it before any
    other TensorFlow work of the process (logical devices and clusters need that)."""
    if os.environ.get("TF_CONFIG") == "":  # set but empty means no cluster; TensorFlow's own
        del os.environ["TF_CONFIG"]        # strategies would fail to parse it as JSON
    if config.cpu_devices:
        configure_cpu_devices(config.cpu_devices)
    name = config.strategy
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        text = os.environ.get("TF_CONFIG")
        if text:  # TensorFlow parses it here too: its errors as one line
            try:
                fileio.loads_json(text)
            except ValueError as e:
                raise DistributeError(f"TF_CONFIG is not JSON ({e}); --strategy=mirrored "
                                      "needs no cluster: unset TF_CONFIG") from None
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in gpus or tf.config.list_logical_devices("CPU")]
        if len(devices) == 1:
            log.warning("--strategy=mirrored found one device (%s): one replica. Without GPUs, "
                        "--cpu_devices=N makes N logical CPU devices.", devices[0])
        # Logical CPU devices: reduce on one device. (Collective all-reduce, the CPU
        # default, can pair the replicas' batch-norm and gradient reductions wrongly when
        # the replicas' threads trace several updates per step: measured here.)
        cross_device_ops = None if gpus else tf.distribute.ReductionToOneDevice()
        return tf.distribute.MirroredStrategy(devices, cross_device_ops=cross_device_ops)
    if name == "multi_worker":
        _tf_config()
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "tpu":
        try:
            resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=config.tpu or "")
            tf.config.experimental_connect_to_cluster(resolver)
            tf.tpu.experimental.initialize_tpu_system(resolver)
        except (ValueError, RuntimeError, tf.errors.OpError) as e:
            raise DistributeError(f"--strategy=tpu: cannot reach a TPU "
                                  f"(--tpu={config.tpu!r}): {str(e).splitlines()[0]}") from None
        return tf.distribute.TPUStrategy(resolver)
    raise DistributeError(f"--strategy: unknown strategy {name!r}")


def device_type(strategy):
    """'GPU', 'TPU' or 'CPU': what the strategy's replicas run on."""
    if isinstance(strategy, tf.distribute.TPUStrategy):
        return "TPU"
    if is_distributed(strategy):
        devices = strategy.extended.worker_devices
    else:  # the default strategy places ops on the first GPU if there is one
        devices = [d.name for d in tf.config.list_logical_devices("GPU")[:1]]
    return "GPU" if any("GPU" in d.upper() for d in devices) else "CPU"


def is_chief(strategy):
    """Whether this process writes the run's outputs: always, except for the non-chief
    workers of a multi-worker cluster (the chief is task 'chief', or worker 0 when the
    cluster has no chief)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return True
    task_type, task_id = resolver.task_type, resolver.task_id
    if task_type in (None, "chief"):
        return True
    return task_type == "worker" and task_id == 0 and "chief" not in resolver.cluster_spec().as_dict()


def is_multi_worker(strategy):
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and \
        strategy.extended._num_workers > 1  # noqa: SLF001 - no public accessor


def scratch_dir():
    """Where a non-chief worker writes what every worker must write (its share of a
    checkpoint) and nobody reads: a temporary directory, removed at exit."""
    path = tempfile.mkdtemp(prefix="gan_tf_worker_")
    atexit.register(shutil.rmtree, path, True)
    return path


def compute_dtype(config, strategy):
    """What a new run's replicas compute in under --mixed_precision (a dtype name)."""
    return choose_precision(config, strategy)[0]


def choose_precision(config, strategy, recorded=None):
    """(dtype, reason): what the replicas compute in under --mixed_precision (see
    gan_tf.training.precision); `recorded`, a resumed run's own. The workers of a cluster
    agree: auto and native give bfloat16 only if every worker has bfloat16 units."""
    device = device_type(strategy)
    units = None
    if config.mixed_precision == precision.NATIVE or (
            config.mixed_precision == precision.AUTO and config.model in precision.AUTO_MODELS):
        has, why = precision.bfloat16_units(device)  # every worker asks, resumed or not
        everyone = agree(strategy, [1.0 if has else 0.0])[0] > 0.999
        units = (everyone, why if everyone == has else "a worker of the cluster has no "
                 "bfloat16 units")
    dtype, why = precision.resolve(config.mixed_precision, config.model, device, recorded, units)
    if is_multi_worker(strategy):  # every worker asks: the same collective on each
        mine = [1.0 if dtype == t else 0.0 for t in precision.DTYPES]
        if any(abs(a - b) > 1e-6 for a, b in zip(agree(strategy, mine), mine)):
            raise DistributeError(f"the workers chose different compute types (this one {dtype}"
                                  f", {why}); give every worker the same --mixed_precision and "
                                  "run directory")
    return dtype, why


def distribute_dataset(strategy, dataset):
    """The dataset of global batches, as the strategy hands it to its replicas (each
    worker of a cluster keeps its share of every batch)."""
    if not is_distributed(strategy):
        return dataset
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return strategy.experimental_distribute_dataset(dataset.with_options(options))


def is_distributed(strategy):
    """Whether this is a strategy other than TensorFlow's default one."""
    return isinstance(strategy, (tf.distribute.MirroredStrategy,
                                 tf.distribute.MultiWorkerMirroredStrategy,
                                 tf.distribute.TPUStrategy))


def agree(strategy, values):
    """The mean over all workers of a small vector of host numbers, so that every worker
    takes the same decision (how many steps the next call runs, whether to stop).
    Single-process strategies get `values` back unchanged."""
    if not is_multi_worker(strategy):
        return list(values)
    return _mean_over_workers(strategy, tf.constant(values, tf.float64)).numpy().tolist()


@tf.function  # in a graph: run eagerly, the strategy warns at every call
def _mean_over_workers(strategy, local):
    per_replica = strategy.run(tf.identity, args=(local,))
    return strategy.reduce(tf.distribute.ReduceOp.MEAN, per_replica, axis=None)


# What a collective op raises when a worker of the cluster went away (measured with
# SIGKILL: UnavailableError "Socket closed" / "Connection reset by peer" from the
# CollectiveReduceV2 of the train step); the others are what it may raise instead.
PEER_ERRORS = (tf.errors.UnavailableError, tf.errors.CancelledError, tf.errors.AbortedError,
               tf.errors.InternalError)


def raise_if_worker_lost(strategy, error, step, checkpoint):
    """Raises WorkerLost, one line, if `error` (one of PEER_ERRORS) means that another
    worker of this multi-worker run went away after `step`; `checkpoint` is the path
    of the latest saved one (or None). Returns otherwise."""
    if not is_multi_worker(strategy):
        return
    text = str(error)
    if isinstance(error, (tf.errors.InternalError, tf.errors.AbortedError)) and not any(
            w in text.lower() for w in ("collective", "socket", "connection", "grpc")):
        return
    resolver = strategy.cluster_resolver
    me = (resolver.task_type, int(resolver.task_id or 0))
    peers = {(job, int(task)) for job, task in re.findall(r"/job:(\w+)/replica:\d+/task:(\d+)", text)}
    others = sorted(peers - {me})
    who = f"{others[0][0]} {others[0][1]}" if len(others) == 1 else "another worker"
    kept = (f"checkpoint {checkpoint.rsplit('-', 1)[-1]} is kept and restarting all workers "
            "resumes from it" if checkpoint else
            "no checkpoint had been saved yet; restarting all workers starts the run over")
    raise WorkerLost(f"{who} went away near step {step}; {kept}") from None


def local_cluster(workers):
    """TF_CONFIG values (JSON) of `workers` worker processes on 127.0.0.1, on free ports:
    a cluster to try --strategy=multi_worker on one machine (tests, benchmarks)."""
    sockets = [socket.socket() for _ in range(workers)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    cluster = {"worker": [f"127.0.0.1:{s.getsockname()[1]}" for s in sockets]}
    for s in sockets:
        s.close()
    return [json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})
            for i in range(workers)]
