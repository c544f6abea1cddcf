"""Checkpoints: a directory a user can keep, move and load without unpickling anything.

    model.safetensors       the weights, keyed by path ("lstm/Wx")
    config.json             format version, model class and arguments, vocabulary
    optimizer.safetensors   optimizer moments ("optimizer/m/lstm/Wx") and the hidden state
                            carried between batches ("carried/lstm/0"); training only
    state.json              step, optimizer settings, schedule, RNG states, data position,
                            history, solver settings; training only
    manifest.json           size and sha256 of each file above, written last

A checkpoint is written complete into a temporary directory beside its final place
(every file fsynced, the manifest last) and then renamed into place, so a crash leaves
either the old checkpoint or the new one. Every load checks each file against the
manifest: a damaged file is one line naming it. A run directory holds
``ckpt-<iteration>`` checkpoints and the pointers ``latest.json`` and ``best.json``
(replaced atomically, naming a ``ckpt-<8 digits>`` directory of the run itself and
nothing else); ``keep_last`` prunes old checkpoints but never the best one. Loading a
run directory takes the checkpoint ``latest.json`` names, or the newest ``ckpt-*`` if
that one is gone. The directory is held by one process at a time
(``files.lock``); the temporary directories of interrupted writes are removed when a
run starts again.
"""
import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import __version__
from ..data.vocab import Vocab
from ..files.atomic import fsync_directory, named_error, write_atomically
from ..files.lock import lock_run_directory
from ..files.safetensors import SafetensorsError, parse_safetensors, safetensors_bytes

FORMAT_VERSION = 2  # 2: manifest.json with checksums; 1 (no checksums) is still read
READABLE_VERSIONS = (1, 2)
MODEL_FILE, CONFIG_FILE = "model.safetensors", "config.json"
OPTIMIZER_FILE, STATE_FILE = "optimizer.safetensors", "state.json"
MANIFEST_FILE = "manifest.json"
CHECKPOINT_NAME = re.compile(r"ckpt-\d{8}")
POINTERS = ("latest.json", "best.json")


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded, with what is wrong in one line."""


@dataclass
class Checkpoint:
    path: Path
    model: object
    vocab: Vocab = None
    arrays: dict = field(default_factory=dict)  # optimizer.safetensors
    state: dict = None  # state.json


def write_checkpoint(path, model, vocab=None, arrays=None, state=None):
    """Write a complete checkpoint directory at ``path`` (replacing one already there)."""
    from ..models import MODELS
    kind = type(model).__name__
    if kind not in MODELS or model.config is None:
        raise CheckpointError(f"model: a checkpoint needs one of {sorted(MODELS)} (whose "
                              f"arguments rebuild it), got {kind}")
    path = Path(path)
    tmp = path.parent / f".{path.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    config = {"format_version": FORMAT_VERSION, "rnnlab_version": __version__, "model": kind,
              "config": model.config, "vocab": None if vocab is None else vocab.to_json()}
    files = {MODEL_FILE: safetensors_bytes(model.params),
             CONFIG_FILE: json.dumps(config, indent=1).encode("utf-8")}
    if state is not None:
        files[OPTIMIZER_FILE] = safetensors_bytes(arrays or {})
        files[STATE_FILE] = json.dumps(state).encode("utf-8")
    files[MANIFEST_FILE] = json.dumps({"files": {
        name: {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        for name, data in files.items()}}, indent=1).encode("utf-8")
    try:
        for name, data in files.items():  # the manifest last: it vouches for the rest
            with open(tmp / name, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        fsync_directory(tmp)
    except OSError as error:
        shutil.rmtree(tmp, ignore_errors=True)
        raise named_error(error, path / name) from None
    old = path.parent / f".{path.name}.old-{os.getpid()}"
    if path.exists():
        os.rename(path, old)
    os.rename(tmp, path)
    fsync_directory(path.parent)
    if old.exists():
        shutil.rmtree(old)
    return path


def resolve(path):
    """A checkpoint directory, or a run directory (its latest checkpoint)."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such checkpoint")
    if (path / MODEL_FILE).exists() or (path / CONFIG_FILE).exists():
        return path
    if (path / "latest.json").exists():
        target = path / read_pointer(path / "latest.json")
        if target.is_dir():
            return target
    complete = checkpoint_names(path)  # renamed in when complete
    if complete:
        return path / complete[-1]
    raise CheckpointError(f"{path}: not a checkpoint (no {MODEL_FILE}, {CONFIG_FILE} or ckpt-* inside)")


def checkpoint_names(directory):
    """The names of the complete checkpoints of a run directory, oldest first."""
    return sorted(p.name for p in Path(directory).iterdir()
                  if CHECKPOINT_NAME.fullmatch(p.name) and p.is_dir() and not p.is_symlink())


def read_pointer(pointer):
    """The checkpoint name a pointer file (latest.json, best.json) holds: ``ckpt-`` and
    8 digits, a directory of the same run; CheckpointError for anything else."""
    name = read_json(pointer).get("checkpoint")
    if not (isinstance(name, str) and CHECKPOINT_NAME.fullmatch(name)):
        raise CheckpointError(f"{pointer}: expected {{\"checkpoint\": \"ckpt-<8 digits>\"}} "
                              f"naming a checkpoint of this run, got {json.dumps(name)}")
    return name


def read_checkpoint(path):
    """-> Checkpoint with the model rebuilt and its weights loaded. CheckpointError (one
    line naming the file and the problem) for anything missing, damaged (a checksum
    that does not match its manifest), corrupt or mismatched."""
    from ..models import model_from_config
    path = resolve(path)
    read = _verified_reader(path)
    config = _parse_json(read(CONFIG_FILE), path / CONFIG_FILE)
    if config.get("format_version") not in READABLE_VERSIONS:
        raise CheckpointError(f"{path / CONFIG_FILE}: format version {config.get('format_version')!r}, "
                              f"this rnnlab reads {', '.join(map(str, READABLE_VERSIONS))}")
    if config["format_version"] >= 2 and not read.verified:
        raise CheckpointError(f"{path / MANIFEST_FILE}: missing; a checkpoint of format "
                              f"{config['format_version']} carries the checksums of its files there")
    try:
        model = model_from_config(config["model"], config["config"])
        vocab = None if config.get("vocab") is None else Vocab.from_json(config["vocab"])
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"{path / CONFIG_FILE}: cannot rebuild the model ({error})") from None
    weights = _parse_tensors(read(MODEL_FILE), path / MODEL_FILE)
    load_weights(model, weights, path / MODEL_FILE)
    arrays, state = {}, None
    if (path / STATE_FILE).exists() or (path / OPTIMIZER_FILE).exists():
        state = _parse_json(read(STATE_FILE), path / STATE_FILE)
        arrays = _parse_tensors(read(OPTIMIZER_FILE), path / OPTIMIZER_FILE)
    return Checkpoint(path, model, vocab, arrays, state)


def _verified_reader(path):
    """read(name) -> the bytes of a file of the checkpoint at ``path``, checked against
    manifest.json (size and sha256) when there is one (``read.verified``)."""
    manifest = None
    if (path / MANIFEST_FILE).exists():
        record = read_json(path / MANIFEST_FILE)
        manifest = record.get("files")
        if not isinstance(manifest, dict):
            raise CheckpointError(f"{path / MANIFEST_FILE}: expected an object \"files\"")

    def read(name):
        file = path / name
        if not file.exists():
            raise CheckpointError(f"{file}: missing")
        data = file.read_bytes()
        if manifest is not None:
            entry = manifest.get(name)
            if not isinstance(entry, dict):
                raise CheckpointError(f"{file}: not listed in {MANIFEST_FILE}; the checkpoint "
                                      f"is incomplete")
            digest = hashlib.sha256(data).hexdigest()
            if len(data) != entry.get("bytes") or digest != entry.get("sha256"):
                raise CheckpointError(f"{file}: damaged ({len(data):,} bytes, sha256 "
                                      f"{digest[:16]}...; {MANIFEST_FILE} says "
                                      f"{entry.get('bytes')!r} bytes, "
                                      f"{str(entry.get('sha256'))[:16]}...); use another "
                                      f"checkpoint of the run")
        return data

    read.verified = manifest is not None
    return read


def load_weights(model, weights, source="weights"):
    """Copy ``weights`` (path -> array) into the model's parameters, checking that the
    names, shapes and dtypes are exactly the model's."""
    params = model.params
    missing = sorted(set(params) - set(weights))
    unexpected = sorted(set(weights) - set(params))
    if missing:
        raise CheckpointError(f"{source}: missing weight {missing[0]!r} ({len(missing)} missing)")
    if unexpected:
        raise CheckpointError(f"{source}: unexpected weight {unexpected[0]!r} (not in this model)")
    for name, p in params.items():
        w = weights[name]
        if w.shape != p.shape or w.dtype != p.dtype:
            raise CheckpointError(f"{source}: {name!r} is {w.dtype} {w.shape}, the model expects "
                                  f"{p.dtype} {p.shape}")
    for name, p in params.items():
        p[...] = weights[name]


def read_json(path):
    """A JSON object from a file; CheckpointError naming the file otherwise."""
    if not path.exists():
        raise CheckpointError(f"{path}: missing")
    return _parse_json(path.read_bytes(), path)


def _parse_json(data, path):
    try:
        record = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(record, dict):
        raise CheckpointError(f"{path}: expected a JSON object")
    return record


def _parse_tensors(data, path):
    try:
        return parse_safetensors(data, str(path))[0]
    except SafetensorsError as error:
        raise CheckpointError(str(error)) from None


class CheckpointManager:
    """The checkpoints of one run: ``save`` writes ``ckpt-<iteration>`` and moves the
    ``latest`` pointer; ``mark_best`` moves ``best``; ``keep_last`` prunes the rest.
    The manager holds the run directory's lock (RunLockError when another process
    holds it) for as long as it lives."""

    def __init__(self, directory, keep_last=3):
        if keep_last is not None and keep_last < 1:
            raise ValueError(f"keep_last: expected a positive integer or None, got {keep_last!r}")
        self.directory, self.keep_last = Path(directory), keep_last
        self.lock = lock_run_directory(self.directory)
        for stale in self.directory.glob(".ckpt-*"):  # a write that a crash interrupted
            shutil.rmtree(stale, ignore_errors=True)

    def save(self, iteration, model, vocab=None, arrays=None, state=None):
        name = f"ckpt-{iteration:08d}"
        write_checkpoint(self.directory / name, model, vocab, arrays, state)
        self._point("latest.json", name)
        self._prune()
        return self.directory / name

    def mark_best(self, iteration, metric):
        self._point("best.json", f"ckpt-{iteration:08d}", metric)

    def _point(self, pointer, name, metric=None):
        record = {"checkpoint": name} if metric is None else {"checkpoint": name, "val_loss": metric}
        write_atomically(self.directory / pointer, json.dumps(record).encode("utf-8"))

    def _prune(self):
        if self.keep_last is None:
            return
        keep = {read_pointer(self.directory / pointer) for pointer in POINTERS
                if (self.directory / pointer).exists()}
        for name in checkpoint_names(self.directory)[: -self.keep_last]:
            if name not in keep:
                shutil.rmtree(self.directory / name)


def seed_layers(model, seed):
    """Give every layer its own random generator, seeded from (seed, its index): the
    dropout masks become reproducible and each layer's stream can be saved alone."""
    for k, (_, layer) in enumerate(_layers(model)):
        layer.rng = np.random.default_rng([seed, k])


def rng_states(model):
    """Path -> the bit-generator state of each layer's random generator (JSON-ready)."""
    return {path: layer.rng.bit_generator.state for path, layer in _layers(model)}


def set_rng_states(model, states):
    for path, layer in _layers(model):
        if path in states:
            layer.rng = np.random.default_rng()
            layer.rng.bit_generator.state = states[path]


def _layers(model):
    from ..models.base import walk_paths
    return [item for top in model.layers for item in walk_paths(top)]
