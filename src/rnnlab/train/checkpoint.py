"""Checkpoints: a directory a user can keep, move and load without unpickling anything.

    model.safetensors       the weights, keyed by path ("lstm/Wx")
    config.json             format version, model class and arguments, vocabulary
    optimizer.safetensors   optimizer moments ("optimizer/m/lstm/Wx") and the hidden state
                            carried between batches ("carried/lstm/0"); training only
    state.json              step, optimizer settings, schedule, RNG states, data position,
                            history, solver settings; training only

A checkpoint is written complete into a temporary directory beside its final place
(every file fsynced) and then renamed into place, so a crash leaves either the old
checkpoint or the new one. A run directory holds ``ckpt-<iteration>`` checkpoints and
the pointers ``latest.json`` and ``best.json`` (replaced atomically); ``keep_last``
prunes old checkpoints but never the best one. Loading a run directory takes the
checkpoint ``latest.json`` names, or the newest ``ckpt-*`` if that one is gone; the
temporary directories of interrupted writes are removed when a run starts again.
"""
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import __version__
from ..data.vocab import Vocab
from ..files.atomic import fsync_directory, write_atomically
from ..files.safetensors import SafetensorsError, load_safetensors, safetensors_bytes

FORMAT_VERSION = 1
MODEL_FILE, CONFIG_FILE = "model.safetensors", "config.json"
OPTIMIZER_FILE, STATE_FILE = "optimizer.safetensors", "state.json"


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
    for name, data in files.items():
        with open(tmp / name, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    fsync_directory(tmp)
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
    pointer = path / "latest.json"
    if pointer.exists():
        target = path / _read_json(pointer).get("checkpoint", "")
        if target.is_dir():
            return target
    complete = sorted(p for p in path.glob("ckpt-*") if p.is_dir())  # renamed in when complete
    if complete:
        return complete[-1]
    raise CheckpointError(f"{path}: not a checkpoint (no {MODEL_FILE}, {CONFIG_FILE} or ckpt-* inside)")


def read_checkpoint(path):
    """-> Checkpoint with the model rebuilt and its weights loaded. CheckpointError (one
    line naming the file and the problem) for anything missing, corrupt or mismatched."""
    from ..models import model_from_config
    path = resolve(path)
    config = _read_json(path / CONFIG_FILE)
    if config.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{path / CONFIG_FILE}: format version {config.get('format_version')!r}, "
                              f"this rnnlab reads {FORMAT_VERSION}")
    try:
        model = model_from_config(config["model"], config["config"])
        vocab = None if config.get("vocab") is None else Vocab.from_json(config["vocab"])
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"{path / CONFIG_FILE}: cannot rebuild the model ({error})") from None
    weights = _read_tensors(path / MODEL_FILE)
    load_weights(model, weights, path / MODEL_FILE)
    arrays, state = {}, None
    if (path / STATE_FILE).exists() or (path / OPTIMIZER_FILE).exists():
        state = _read_json(path / STATE_FILE)
        arrays = _read_tensors(path / OPTIMIZER_FILE)
    return Checkpoint(path, model, vocab, arrays, state)


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


def _read_json(path):
    if not path.exists():
        raise CheckpointError(f"{path}: missing")
    try:
        with open(path, encoding="utf-8") as f:
            record = json.load(f)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(record, dict):
        raise CheckpointError(f"{path}: expected a JSON object")
    return record


def _read_tensors(path):
    if not path.exists():
        raise CheckpointError(f"{path}: missing")
    try:
        return load_safetensors(path)[0]
    except SafetensorsError as error:
        raise CheckpointError(str(error)) from None


class CheckpointManager:
    """The checkpoints of one run: ``save`` writes ``ckpt-<iteration>`` and moves the
    ``latest`` pointer; ``mark_best`` moves ``best``; ``keep_last`` prunes the rest."""

    def __init__(self, directory, keep_last=3):
        if keep_last is not None and keep_last < 1:
            raise ValueError(f"keep_last: expected a positive integer or None, got {keep_last!r}")
        self.directory, self.keep_last = Path(directory), keep_last
        self.directory.mkdir(parents=True, exist_ok=True)
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
        keep = set()
        for pointer in ("latest.json", "best.json"):
            if (self.directory / pointer).exists():
                keep.add(_read_json(self.directory / pointer)["checkpoint"])
        checkpoints = sorted(p.name for p in self.directory.glob("ckpt-*") if p.is_dir())
        for name in checkpoints[: -self.keep_last]:
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
