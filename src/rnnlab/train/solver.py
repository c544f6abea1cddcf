"""The Solver: trains a model on its data, in the style of the source material.

    solver = Solver(model, {"train": train_ids, "val": val_ids}, batch_size=32,
                    seq_length=64, num_epochs=10, print_every=100, learning_rate=2e-3,
                    learning_rate_decay=0.95, optimizer="adam", grad_clip=5.0,
                    checkpoint_dir="run", verbose=True)
    iters, losses = solver.train()
    solver = Solver.resume("run", data)         # later, in another process

``data["train"]`` (and optionally ``data["val"]``) is a 1-D array of token ids (a
language model: full, connected batches, truncated BPTT with the state carried from
batch to batch and reset at each epoch's start), a tuple of per-example columns
(padded, length-bucketed batches: classification, seq2seq) or a batcher.

Each update: learning rate = ``learning_rate`` * schedule factor (per-epoch
``learning_rate_decay`` by default); loss, forward and backward; abort (TrainingError)
when the loss is not finite or exceeds 3x the first loss (char-rnn); global-norm
clipping; the optimizer step. With ``loss_sum_over_time`` the gradient is that of the
loss summed over the T steps of a batch and averaged over its rows (Zaremba et al.
2014; TF's sequence_loss without averaging across timesteps): T times the per-token
mean's, clipped after scaling; the logged loss stays per token. At the end of each
epoch, and every ``eval_every`` iterations when given, the validation loss; the best
is checkpointed as ``best``; a validation loss that is not finite or exceeds 3x the
first training loss stops the run (TrainingError) before anything is saved from it,
and so do weights that are no longer finite; ``patience`` evaluations without
improvement stop the run; so do ``max_time`` seconds and ``max_iterations`` updates.
A checkpoint is also written every ``checkpoint_every`` updates and whenever
``checkpoint_minutes`` of training have passed since the last one. The run is
deterministic given ``seed`` (data order and dropout masks), and a resumed run
continues bit for bit. With ``communicator`` (mpi4py) the run is data-parallel over its
ranks (``parallel``): the same computation as one process, rank 0 writing.
"""
import math
import time

import numpy as np

from ..data.batching import LanguageModelBatches, PaddedBatches
from ..functional.lstm import prepare_fused_loops
from ..layers import LSTM
from ..memory import keep_freed_memory
from ..optim import (
    Constant,
    ExponentialDecay,
    Warmup,
    clip_global_norm,
    global_norm,
    make_optimizer,
    optimizer_from_hyperparameters,
    schedule_from_state,
)
from .checkpoint import (
    Checkpoint,
    CheckpointManager,
    read_checkpoint,
    rng_states,
    seed_layers,
    set_rng_states,
)
from .evaluation import evaluate_loss
from .parallel import ParallelError, Ranks, shard_rows
from .progress import JsonlLog, Progress, perplexity

SETTINGS = ("batch_size", "seq_length", "num_epochs", "print_every", "learning_rate",
            "learning_rate_decay", "grad_clip", "eval_every", "eval_batches", "patience",
            "max_time", "max_iterations", "checkpoint_every", "checkpoint_minutes", "keep_last",
            "seed", "loss_sum_over_time")


class TrainingError(RuntimeError):
    """Training went wrong in a way more steps will not fix (divergence)."""


def make_batches(split, batch_size, seq_length, seed, ranks=None):
    """A batcher from a split of ``data``: ids -> LanguageModelBatches, a tuple of
    columns -> PaddedBatches, a batcher as it is; over several ``ranks``, this rank's
    rows of connected batches."""
    if ranks is not None and ranks.size > 1:
        if isinstance(split, LanguageModelBatches):
            return split.rows(*ranks.rows(split.N))
        if hasattr(split, "batches") or isinstance(split, tuple):
            raise ParallelError("data: data-parallel training takes token ids or connected "
                                "language-model batches")
        return LanguageModelBatches(split, batch_size, seq_length, rows=ranks.rows(batch_size))
    if hasattr(split, "batches"):
        return split
    if isinstance(split, tuple):
        return PaddedBatches(split, batch_size, seed)
    return LanguageModelBatches(split, batch_size, seq_length)


class Solver:
    def __init__(self, model, data, *, batch_size=32, seq_length=64, num_epochs=10,
                 print_every=10, learning_rate=2e-3, learning_rate_decay=1.0, optimizer="adam",
                 grad_clip=5.0, schedule=None, warmup=0, eval_every=None, eval_batches=None,
                 patience=None, max_time=None, max_iterations=None, checkpoint_dir=None,
                 checkpoint_every=None, checkpoint_minutes=None, keep_last=3, log_path=None,
                 vocab=None, seed=0, loss_sum_over_time=False, verbose=True, progress=None,
                 communicator=None):
        if "train" not in data:
            raise ValueError(f"data: expected a 'train' entry, got keys {sorted(data)}")
        for name in ("num_epochs", "print_every", "batch_size", "seq_length"):
            value = locals()[name]
            if not (isinstance(value, (int, np.integer)) and value >= 1):
                raise ValueError(f"{name}: expected a positive integer, got {value!r}")
        for name in ("learning_rate", "grad_clip", "max_time", "checkpoint_minutes"):
            value = locals()[name]
            if value is not None and not (isinstance(value, (int, float, np.number))
                                          and math.isfinite(value) and value > 0):
                raise ValueError(f"{name}: expected a positive finite number"
                                 f"{'' if name == 'learning_rate' else ' or None'}, got {value!r}")
        self.ranks = Ranks(communicator)
        verbose = verbose and self.ranks.root  # rank 0 alone prints, logs and saves
        self.model, self.vocab, self.verbose, self.progress_bar = model, vocab, verbose, progress
        self.batch_size, self.seq_length, self.num_epochs = batch_size, seq_length, num_epochs
        self.print_every, self.learning_rate = print_every, learning_rate
        self.learning_rate_decay, self.grad_clip = learning_rate_decay, grad_clip
        self.eval_every, self.eval_batches, self.patience = eval_every, eval_batches, patience
        self.max_time, self.max_iterations = max_time, max_iterations
        self.checkpoint_every, self.keep_last, self.seed = checkpoint_every, keep_last, seed
        self.checkpoint_minutes = checkpoint_minutes
        self.saved_at, self.saved_iteration = 0.0, None  # wall_time and iteration of the last save
        self.loss_sum_over_time = bool(loss_sum_over_time)
        self.train_data = make_batches(data["train"], batch_size, seq_length, seed, self.ranks)
        self.val_data = None if data.get("val") is None else self._validation_batches(
            data["val"], batch_size, seq_length, seed)
        if self.ranks.size > 1:
            shard_rows(model, self.ranks.rows(batch_size) + (batch_size,))
        self.optimizer = make_optimizer(optimizer, learning_rate)
        if schedule is None:
            schedule = ExponentialDecay(learning_rate_decay) if learning_rate_decay != 1 else Constant()
        self.schedule = Warmup(warmup, schedule) if warmup else schedule
        self.saving = checkpoint_dir is not None  # the same on every rank: saves are collective
        self.checkpoints = CheckpointManager(checkpoint_dir, keep_last) \
            if self.saving and self.ranks.root else None
        if log_path is None and checkpoint_dir is not None:
            log_path = f"{checkpoint_dir}/log.jsonl"
        self.log_path = log_path if self.ranks.root else None
        # over several ranks, what all decide at once: (a stop requested on some rank,
        # rank 0's clock says the time is up, ... that a checkpoint is due)
        self.shared_flags = (False, False, False)
        seed_layers(model, seed)
        self.iteration, self.epoch, self.position = 0, 0, 0
        self.iters, self.losses, self.val_history = [], [], []
        self.best_val, self.best_iteration, self.evals_without_improvement = None, None, 0
        self.first_loss, self.wall_time, self.tokens = None, 0.0, 0
        self.stopped_because = None
        self.stop_requested = False  # set (e.g. by a SIGINT handler) to stop after this update

    # -- the loop --------------------------------------------------------------------
    def train(self):
        """Train until num_epochs, max_iterations, max_time or early stopping ->
        (iters, losses): the iteration numbers and training losses of the whole run.
        Keeps freed memory in the process (``rnnlab.keep_freed_memory``): each step's
        buffers are then reused without page faults."""
        keep_freed_memory()
        for dtype in {layer.dtype for top in getattr(self.model, "layers", ())
                      for layer in top.walk() if isinstance(layer, LSTM)}:
            prepare_fused_loops(dtype)  # compiled code: compiled before the clock starts
        log, total = JsonlLog(self.log_path, self.iteration), len(self.train_data) * self.num_epochs
        if self.max_iterations:
            total = min(total, self.max_iterations)
        progress = Progress(total, self.verbose, self.progress_bar, initial=self.iteration)
        start, done = time.perf_counter() - self.wall_time, False
        self.started = start
        try:
            while self.epoch < self.num_epochs and not done:
                if self.position == 0 and self.train_data.connected:
                    self.model.reset_states()  # each epoch starts from zero states
                for batch in self.train_data.batches(self.epoch, self.position):
                    record = self._update(batch)
                    self.position += 1
                    self.wall_time = time.perf_counter() - start
                    record["wall_time"] = round(self.wall_time, 3)
                    record["tokens_per_s"] = self.tokens / max(self.wall_time, 1e-9)
                    progress.advance(record)
                    done = self._after_update(record, log, progress, total)
                    if done:
                        break
                else:
                    self.epoch, self.position = self.epoch + 1, 0
                    just_evaluated = self.eval_every and self.iteration % self.eval_every == 0
                    if self.val_data is not None and not just_evaluated:  # each epoch's end
                        self._evaluate_and_keep(log, progress, total)
                        self._keep_if_best()
                        done = self.stopped_because is not None
            if self.saving and self.saved_iteration != self.iteration:
                self.save()
        finally:
            progress.close()
            log.close()
        return list(self.iters), list(self.losses)

    def _update(self, batch):
        model, optimizer = self.model, self.optimizer
        lr = self.learning_rate * self.schedule(self.iteration, self.epoch)
        optimizer.learning_rate = lr
        loss = model.loss(*batch)
        if self.ranks.size > 1:  # the global batch's loss and gradients, the shared flags
            loss, *flags = self.ranks.average(model.grads, [
                loss, self.stop_requested, *self._clock_flags()])
            self.shared_flags = tuple(flag > 0 for flag in flags)
        if self.first_loss is None:
            self.first_loss = loss
        if not math.isfinite(loss):
            raise TrainingError(f"the loss is {loss} at iteration {self.iteration + 1}; lower "
                                f"the learning rate (now {lr:.3g}) or clip gradients harder")
        if loss > 3 * self.first_loss:
            raise TrainingError(f"the loss ({loss:.3f}) exceeds 3x its initial value "
                                f"({self.first_loss:.3f}) at iteration {self.iteration + 1}; the "
                                f"training diverges: lower the learning rate (now {lr:.3g})")
        grads = model.grads
        # the gradient of the loss summed over the T steps: T times the per-token mean's
        scale = float(np.shape(batch[0])[1]) if self.loss_sum_over_time else 1.0
        grad_norm = clip_global_norm(grads, self.grad_clip or math.inf, scale)
        optimizer.step(model.params, grads)
        self.iteration += 1
        self.tokens += getattr(self.train_data, "tokens_per_batch", 0) * self.ranks.size
        self.iters.append(self.iteration)
        self.losses.append(loss)
        return {"iteration": self.iteration,
                "epoch": round(self.epoch + (self.position + 1) / len(self.train_data), 4),
                "train_loss": loss, "lr": lr, "grad_norm": grad_norm}

    def _after_update(self, record, log, progress, total):
        """Reports, evaluation, checkpoints and the stopping rules; True to stop."""
        evaluate = self.eval_every and self.val_data is not None and self.iteration % self.eval_every == 0
        if evaluate:
            record["val_loss"] = self._evaluate_and_keep(None, None, total)
        if evaluate or self.iteration % self.print_every == 0:
            record["grad_param_ratio"] = record["grad_norm"] / max(global_norm(self.model.params), 1e-12)
            log.write(record)
            remaining = (total - self.iteration) * self.wall_time / max(self.iteration, 1)
            if self.max_time:
                remaining = min(remaining, self.max_time - self.wall_time)
            progress.report(record, remaining)
        if evaluate:
            self._keep_if_best()
        if self.saving and self._checkpoint_due() and self.saved_iteration != self.iteration:
            self.save()
        if self.max_iterations and self.iteration >= self.max_iterations:
            self.stopped_because = f"max_iterations ({self.max_iterations})"
        if self._time_is_up():
            self.stopped_because = f"max_time ({self.max_time} s)"
        # over several ranks a signal counts once shared: one that comes after this
        # update's flags stops every rank after the next update
        if self.shared_flags[0] if self.ranks.size > 1 else self.stop_requested:
            self.stopped_because = "interrupted"
        return self.stopped_because is not None

    def _checkpoint_due(self):
        every = self.checkpoint_every and self.iteration % self.checkpoint_every == 0
        return bool(every or self._minutes_passed())

    def _minutes_passed(self):
        if self.ranks.size > 1:
            return self.shared_flags[2]
        return bool(self.checkpoint_minutes and
                    self.wall_time - self.saved_at >= 60 * self.checkpoint_minutes)

    def _time_is_up(self):
        if self.ranks.size > 1:
            return self.shared_flags[1]
        return bool(self.max_time and self.wall_time >= self.max_time)

    def _clock_flags(self):
        """Rank 0's clock as the update's gradients are shared: (time is up, a checkpoint
        is due), acted on by every rank after the update."""
        if not self.ranks.root:
            return [False, False]
        now = time.perf_counter() - self.started
        return [bool(self.max_time and now >= self.max_time),
                bool(self.checkpoint_minutes and now - self.saved_at >= 60 * self.checkpoint_minutes)]

    def _evaluate_and_keep(self, log, progress, total):
        """The validation loss; keeps the best checkpoint, feeds the schedule, counts
        patience. ``log``/``progress``: write an evaluation line (end of an epoch)."""
        val = self.evaluate()
        if not (math.isfinite(val) and val <= 3 * self.first_loss):
            raise TrainingError(f"the validation loss is {val:.4g} at iteration {self.iteration} "
                                f"(the first training loss was {self.first_loss:.4g}); the "
                                f"training diverges: lower the learning rate (now "
                                f"{self.optimizer.learning_rate:.3g}); nothing was saved from "
                                f"these weights")
        self.val_history.append((self.iteration, val))
        self.schedule.observe(val)
        if self.best_val is None or val < self.best_val:
            self.best_val, self.best_iteration, self.evals_without_improvement = val, self.iteration, 0
        else:
            self.evals_without_improvement += 1
            if self.patience is not None and self.evals_without_improvement >= self.patience:
                self.stopped_because = f"no improvement in {self.patience} evaluations"
        self._log_evaluation(log, val)
        return val

    def _keep_if_best(self):
        """Checkpoint a new best (after its log line is written: the log never lacks an
        update that a checkpoint holds)."""
        if self.saving and self.val_history[-1:] == [(self.iteration, self.best_val)]:
            self.save()
            if self.checkpoints is not None:
                self.checkpoints.mark_best(self.iteration, self.best_val)

    def _log_evaluation(self, log, val):
        """An evaluation line in the log (and on the screen) at an epoch's end."""
        if log is not None:
            record = {"iteration": self.iteration, "epoch": float(self.epoch),
                      "train_loss": self.losses[-1], "val_loss": val,
                      "lr": self.optimizer.learning_rate, "grad_norm": None,
                      "grad_param_ratio": None, "wall_time": round(self.wall_time, 3),
                      "tokens_per_s": self.tokens / max(self.wall_time, 1e-9)}
            log.write(record)
            if self.verbose:
                print(f"epoch {self.epoch}: val loss {val:.4f} (perplexity {perplexity(val):.2f})"
                      + (" (best)" if self.best_iteration == self.iteration else ""), flush=True)

    def evaluate(self, split="val"):
        """The mean loss over a split (``eval_batches`` batches at most), in inference
        mode; the training's carried state is set aside and restored."""
        if split not in ("val", "train"):
            raise ValueError(f"split: expected 'val' or 'train', got {split!r}")
        data = self.val_data if split == "val" else self.train_data
        carried = self.model.carried_states()
        loss = evaluate_loss(self.model, data, self.eval_batches)
        self.model.set_carried_states(carried)
        if getattr(data, "sharded", False):  # each rank read its rows: their mean
            (loss,) = self.ranks.average({}, [loss])
        return loss

    def _validation_batches(self, split, batch_size, seq_length, seed):
        """Validation over the ranks' rows when they divide its rows; else every rank
        reads all of it (and finds the same loss)."""
        batches = make_batches(split, batch_size, seq_length, seed)
        if self.ranks.size > 1 and isinstance(batches, LanguageModelBatches) \
                and batches.N % self.ranks.size == 0:
            return batches.rows(*self.ranks.rows(batches.N))
        return batches

    # -- checkpoints -----------------------------------------------------------------
    def state(self):
        """(arrays, JSON state) of everything a resumed run needs."""
        arrays = {f"optimizer/{k}": v for k, v in self.optimizer.state_arrays().items()}
        carried = {}
        for path, states in self.model.carried_states().items():
            carried[path] = None if states is None else len(states)
            # every rank's rows, in order: the checkpoint holds the whole batch's states
            gathered = self.ranks.gather_rows(list(states)) if states else None
            for k, s in enumerate(gathered or ()):  # (None on the other ranks)
                arrays[f"carried/{path}/{k}"] = s
        state = {
            "settings": {name: getattr(self, name) for name in SETTINGS},
            "iteration": self.iteration, "epoch": self.epoch, "position": self.position,
            "optimizer": self.optimizer.hyperparameters(), "optimizer_step": self.optimizer.state["step"],
            "schedule": self.schedule.state(), "rng": rng_states(self.model), "carried": carried,
            "history": {"iters": self.iters, "losses": self.losses, "val": self.val_history},
            "best_val": self.best_val, "best_iteration": self.best_iteration,
            "evals_without_improvement": self.evals_without_improvement,
            "first_loss": self.first_loss, "wall_time": self.wall_time, "tokens": self.tokens,
        }
        return arrays, state

    def save(self):
        """Write a checkpoint of the run now (TrainingError, nothing written, when the
        weights are no longer finite)."""
        bad = next((name for name, p in self.model.params.items() if not np.isfinite(p).all()), None)
        if bad is not None:
            raise TrainingError(f"the weights are not finite after iteration {self.iteration} "
                                f"({bad!r}); the training diverged: lower the learning rate "
                                f"(now {self.optimizer.learning_rate:.3g}); nothing was saved "
                                f"from these weights")
        arrays, state = self.state()  # on every rank: it gathers the carried states
        path = None if self.checkpoints is None else self.checkpoints.save(
            self.iteration, self.model, self.vocab, arrays, state)
        self.saved_at, self.saved_iteration = self.wall_time, self.iteration
        return path

    @classmethod
    def resume(cls, path, data, **overrides):
        """A Solver that continues the run saved at ``path`` (a checkpoint or a run
        directory: its latest checkpoint; or a ``Checkpoint`` already read);
        ``overrides`` change settings such as num_epochs, max_iterations or max_time."""
        checkpoint = path if isinstance(path, Checkpoint) else read_checkpoint(path)
        state = checkpoint.state
        if state is None:
            raise ValueError(f"{checkpoint.path}: holds weights only, no training state to resume")
        settings = {**state["settings"], **overrides}
        settings.setdefault("checkpoint_dir", str(checkpoint.path.parent))
        solver = cls(checkpoint.model, data, vocab=checkpoint.vocab,
                     optimizer=optimizer_from_hyperparameters(state["optimizer"]), **settings)
        solver._restore(checkpoint, state)
        return solver

    def _restore(self, checkpoint, state):
        arrays = checkpoint.arrays
        self.optimizer.load_state_arrays(
            {k[len("optimizer/"):]: v for k, v in arrays.items() if k.startswith("optimizer/")},
            state["optimizer_step"])
        self.schedule = schedule_from_state(state["schedule"])
        set_rng_states(self.model, state["rng"])
        start, stop = self.ranks.rows(self.batch_size)  # this rank's rows of the saved batch
        self.model.set_carried_states({
            path: None if count is None else [arrays[f"carried/{path}/{k}"][start:stop]
                                              for k in range(count)]
            for path, count in state["carried"].items()})
        self.iteration, self.epoch, self.position = state["iteration"], state["epoch"], state["position"]
        history = state["history"]
        self.iters, self.losses = history["iters"], history["losses"]
        self.val_history = [tuple(v) for v in history["val"]]
        self.best_val, self.best_iteration = state["best_val"], state["best_iteration"]
        self.evals_without_improvement = state["evals_without_improvement"]
        self.first_loss, self.wall_time, self.tokens = state["first_loss"], state["wall_time"], state["tokens"]
        self.saved_at, self.saved_iteration = self.wall_time, self.iteration
