"""The benchmarks' results files: the path checked before a benchmark's work starts, the
file written whole (a temporary file and a rename), read back with a one-line error.

A benchmark can run for an hour; an --out or --report it cannot write must stop it at
the start, not lose the hour at the end. Writing replaces the path (a reader never sees
half a file), so a path that is a link or a device is refused up front: the rename
would replace the link or the device node itself.
"""
import json
import os

from gan_tf import fileio
from gan_tf.errors import LogFileError


def check_out(flag, path):
    """SystemExit in one line unless `path` (the value of --flag) can be written as a
    results file later: not a folder, in a folder where files can be made, or that can
    be made. Creates and changes nothing (the probe is a new file, removed). None (the
    flag not given) passes."""
    if path is None:
        return
    if not path:
        raise SystemExit(f"--{flag} is empty; give a file path")
    if os.path.isdir(path):  # a link to one too
        raise SystemExit(f"--{flag}={path} is a folder; give a file path")
    # The write replaces the path with a new file (a rename): a link (/dev/stdout) or a
    # device (/dev/null) there would itself be replaced, by root even in /dev.
    if os.path.islink(path):
        raise SystemExit(f"--{flag}={path} is a symbolic link (to {os.readlink(path)!r}); the "
                         "results replace what is at the path: give a plain file path")
    if os.path.lexists(path) and not os.path.isfile(path):
        raise SystemExit(f"--{flag}={path} is not a regular file (a device, pipe or socket); "
                         "the results replace what is at the path: give a plain file path")
    folder = os.path.dirname(os.path.abspath(path))
    problem = fileio.folder_problem(folder)
    if problem:
        raise SystemExit(f"--{flag}={path}: cannot write in {folder} ({problem})")


def write_bytes(path, data):
    """`data` to `path` (its folder made if missing), replaced whole; SystemExit in one
    line when it cannot be."""
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        fileio.atomic_write(path, data)
    except OSError as e:
        raise SystemExit(f"cannot write {path}: {e.strerror or e}") from None
    except LogFileError as e:
        raise SystemExit(str(e)) from None


def write_json(path, value, indent=1):
    """`value` to `path` as JSON, replaced whole (never half written); SystemExit in one
    line when it cannot be written."""
    write_bytes(path, (json.dumps(value, indent=indent) + "\n").encode("utf-8"))


def read_json(path, what):
    """A results file of the benchmarks, read whole; SystemExit in one line when it cannot
    be read or is not a JSON object (its size is that of a results file: read at once)."""
    try:
        with open(path, encoding="utf-8") as f:
            value = fileio.loads_json(f.read())
    except (OSError, ValueError) as e:
        raise SystemExit(f"cannot read {what} {path}: {getattr(e, 'strerror', None) or e}")
    if not isinstance(value, dict):
        raise SystemExit(f"{path} is not {what}: a JSON object was expected")
    return value
