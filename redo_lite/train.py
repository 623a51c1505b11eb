"""The training loop around the ReDO step: batches, logs, validation, the best model, the collapse
restart and checkpoints. The paper's step itself is in ``redo_lite/step.py``.

Read ``Trainer.fit`` first: it is the loop, top to bottom, each line a named call. The methods below
it are one level down; building, resuming and several processes are at the bottom.

A run folder holds ``config.json``, ``last.pt`` (everything needed to resume exactly), ``best.pt``
(the networks at the best validation score) and ``metrics.jsonl`` (one JSON row per log, evaluation
and restart). A note on names: ``F`` is the paper's mask network, so ``torch.nn.functional`` is
imported as ``F_`` throughout the package.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import os
import signal
import sys
import time
from pathlib import Path

import torch
from tqdm.auto import tqdm

from . import checkpoint as ckpt
from .config import Config
from .data import ImageFolderData, labelled_split
from .evaluation import collapse_signs, evaluate, predict
from .files import append_line, atomic_write_text, json_text, printable, say
from .metrics import region_areas
from .nets import build_nets
from .process import sample_z
from .runfolder import open_run
from .step import make_optimizers, train_step

__all__ = [
    "Trainer",
    "TrainingError",
    "ema_update",
    "evaluate",
    "make_optimizers",
    "predict",
    "train_step",
]


class TrainingError(RuntimeError):
    pass


@torch.no_grad()
def ema_update(ema: torch.nn.Module, net: torch.nn.Module, decay: float, step: int) -> None:
    """Moving average of a network's weights (``Config.f_ema``; not in the paper):
    θ̄ <- d·θ̄ + (1 - d)·θ with d = min(decay, (1 + t) / (10 + t)), so that the first steps are not
    averaged with the initial weights."""
    d = min(decay, (1 + step) / (10 + step))
    for a, b in zip(ema.parameters(), net.parameters(), strict=True):
        a.lerp_(b, 1 - d)
    for a, b in zip(ema.buffers(), net.buffers(), strict=True):
        a.copy_(b)


def bf16_is_fast(device: torch.device) -> bool:
    """Whether bf16 autocast speeds this device up: a GPU, or a CPU with bf16 instructions
    (AVX512-BF16 or AMX; elsewhere oneDNN emulates bf16 and the step gets slower). A preset's
    ``amp`` applies only where this holds; ``--amp`` asks for it anyway."""
    if device.type != "cpu":
        return True
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


class Autocast(torch.nn.Module):
    """A network whose forward runs in bfloat16 autocast and returns float32 (``--amp``). The step
    function never sees the difference; bf16 needs no loss scaling."""

    def __init__(self, net: torch.nn.Module, device_type: str):
        super().__init__()
        self.net, self.device_type = net, device_type

    def forward(self, *args):
        with torch.autocast(self.device_type, dtype=torch.bfloat16):
            return self.net(*args).float()


class Trainer:
    """The networks, optimisers and random streams of one run folder, and the loop that trains them.

    ``step_fn(nets, opts, x_gen, x_real, z, lambda_z) -> dict of floats`` is the ReDO step:
    ``redo_lite.step.train_step`` by default, or the one you wrote in notebook 08. With
    ``compile=True`` the step must back-propagate each of D's hinge terms right after its D call,
    as ``train_step`` does (see the note there); one that does not is stopped at its first step
    with a TrainingError that says so (``COMPILE_HINT``)."""

    def __init__(
        self,
        cfg: Config,
        data_dir,
        run_dir,
        seed: int | None = None,
        device: str | None = None,
        progress: bool = True,
        amp: bool = False,
        compile: bool = False,
        step_fn=train_step,
        tf32: bool = False,
    ):
        self.cfg, self.run, self.seed, self.step_fn = cfg, Path(run_dir), seed, step_fn
        if compile:  # a step that a compiled D cannot run is told what to change
            self.step_fn = _explained_for_compile(step_fn)
        self.world = int(os.environ.get("WORLD_SIZE", "1"))  # torchrun's processes
        self.rank = int(os.environ.get("RANK", "0"))
        self.main = self.rank == 0  # rank 0 alone writes files
        self.device = self._init_device(device, tf32)
        # bf16 autocast when asked here (--amp) or by the config (a preset that trains faster so)
        self.progress, self.compile = progress and self.main, compile
        self.amp = amp or (cfg.amp and bf16_is_fast(self.device))
        # channels_last: 15-35% faster convolutions on a CPU (measured), and the fast layout on GPUs
        self.memory_format = torch.channels_last
        self.train_data, self.val_data = self._load_data(Path(data_dir))
        self._class_names = _class_names(Path(data_dir), cfg.regions)  # for collapse messages
        self.log_path = self.run / "metrics.jsonl"
        self.attempt = self.restarts = self.step = self.total_steps = 0
        self.signs_in_a_row = 0  # evaluations in a row that showed a collapse (restart_patience)
        self.elapsed, self.best = 0.0, -math.inf
        self._budget, self._steps_cap = math.inf, cfg.steps  # this fit's limits (the bar's end)
        self._sums, self._count = {}, 0  # losses summed since the last log row
        # the run folder: ours only (its marker), locked, tied to this data and seed (runfolder.py)
        self.folder = open_run(self.run, main=self.main)
        with self.folder.released_on_error():
            self.seed = self.folder.record_inputs(data_dir, self._fingerprint(), seed)
            self.resumed = (self.run / "last.pt").exists()
            if self.resumed:
                self._resume()
            else:
                if self.main:
                    cfg.save(self.run / "config.json")
                    atomic_write_text(self.log_path, "")
                self._fresh()

    # ============================================================================================
    # The loop
    # ============================================================================================
    def fit(self, steps: int | None = None, minutes: float | None = None, callback=None) -> dict:
        """Train until step ``steps`` of the current attempt or ``minutes`` of wall time in total
        (restarts and earlier sessions of this run counted in). ``callback(trainer)`` runs after
        every evaluation (the notebooks' live plots); it may return True to end the fit there
        (last.pt is saved by then). Ctrl-C stops at the end of the current step and saves
        ``last.pt``: run again to resume."""
        cfg = self.cfg
        steps = cfg.steps if steps is None else steps
        budget = math.inf if minutes is None else 60 * minutes
        if self.step >= steps or self.elapsed >= budget:
            return self._finished(steps, budget)  # a finished run: nothing to do, log nothing
        bar = self._progress_bar(steps)
        self._budget, self._steps_cap = budget, steps
        self._clock = time.perf_counter()
        with _deferred_interrupt() as interrupted:
            while not interrupted():
                # 1. two independent batches of real images, and fresh noise for every region
                x_gen, x_real, z = self.draw()
                # 2. the ReDO step: F, the G_k and δ, then D (redo_lite/step.py, or yours)
                losses = self.step_fn(self.step_nets, self.opts, x_gen, x_real, z, cfg.lambda_z)
                # 3. count the step; the averaged F follows the live one; NaN stops the run
                self.after_step(losses, bar)
                done = self.step >= steps or self._time_up(budget)
                if self.step % cfg.log_every == 0:
                    self.log_losses(bar)  # 4. the mean losses since the last row
                if self.step % cfg.eval_every == 0 or done:
                    scores = self.validate()  # 5. validation IoU (or, unlabelled, region areas)
                    self.keep_best(scores)  # 6. best.pt: the best F on validation so far
                    if self.collapsed(scores):  # 7. a region lost early: rebuild, start again
                        self.restart(scores, bar, steps)
                    self.save()  # 8. last.pt, for an exact resume
                    if callback and callback(self) is True:
                        break  # the callback has seen enough (e.g. a benchmark's target)
                if done:
                    break
        bar.close()
        self._tick()  # the last evaluation's time counts too
        if interrupted():
            self.save()
            say(
                f"stopped at step {self.step} (interrupt); {self.run / 'last.pt'} is saved: train "
                "again with the same run folder to resume"
            )
        if interrupted():
            return self.summary(interrupted=True)
        return self.summary(finished=self.step >= steps or self.elapsed >= budget)

    # ============================================================================================
    # One level down: what each line of the loop does
    # ============================================================================================
    def draw(self):
        """x_gen (the images to redraw), x_real (D's real images) and z, from this run's own random
        stream (every process of a torchrun draws the same global batch and takes its slice)."""
        x_gen, x_real = self._batch(), self._batch()
        z = sample_z(self.cfg.batch, self.cfg.regions, self.cfg.z_dim, self.rng)
        return x_gen, x_real, self._slice(z).to(self.device)

    def after_step(self, losses: dict, bar) -> None:
        if self.F_ema is not None:  # the averaged F (f_ema): evaluated beside the live F
            ema_update(self.F_ema, self.nets["F"], self.cfg.f_ema, self.step)
        self.step += 1
        self.total_steps += 1
        self._tick()
        if math.isfinite(self._budget):  # the bar ends at the step this pace reaches in time
            pace = self.total_steps / max(self.elapsed, 1e-9)  # steps a second, evaluations in
            reach = self.step + int((self._budget - self.elapsed) * pace)
            bar.total = max(self.step, min(self._steps_cap, reach))
        bar.update(1)
        if self.world > 1:
            losses = self._global_mean(losses)
        bad = [k for k, v in losses.items() if not math.isfinite(v)]
        if bad:
            last = self.run / "last.pt"
            kept = (
                f"the last checkpoint, {last}, holds step {ckpt.load(last)['step']}"
                if last.exists()
                else "no checkpoint was written yet"
            )
            raise TrainingError(
                f"non-finite {', '.join(bad)} at step {self.step} (attempt "
                f"{self.attempt}); training stopped; {kept}"
            )
        for k, v in losses.items():
            self._sums[k] = self._sums.get(k, 0.0) + v
        self._count += 1

    def log_losses(self, bar) -> None:
        """One ``train`` row: the mean of each loss over the steps since the last row (fewer than
        ``log_every`` after a resume)."""
        means = {k: v / self._count for k, v in self._sums.items()}
        self.log(kind="train", **means)
        bar.set_postfix({k: f"{v:.3f}" for k, v in means.items()})
        self._sums, self._count = {}, 0

    def validate(self) -> dict:
        """Scores of this evaluation, logged. With labels: accuracy and IoU on the validation split
        (the live F, and the averaged one if any); without: the regions' areas on train images."""
        if self.val_data is None:
            x = self.train_data.batch(
                torch.arange(min(len(self.train_data), self.cfg.eval_images))
            )[0]
            pred, soft = predict(self.nets["F"], x, soft=True)
            scores = {
                "areas": region_areas(pred, self.cfg.regions).tolist(),
                "soft_areas": soft.tolist(),
            }
            self.log(kind="areas", **scores)
            return scores
        live = self._score(self.nets["F"])
        scores, self._candidates = live, [("live", self.nets["F"], live)]
        if self.F_ema is not None:
            avg = self._score(self.F_ema)
            self._candidates.insert(0, ("averaged", self.F_ema, avg))
            # the row shows the averaged F's scores; the collapse check watches the live F's areas
            scores = {
                **avg,
                "soft_areas": live["soft_areas"],
                "areas": live["areas"],
                "iou_live": live["iou"],
            }
        self.log(kind="eval", split="val", **scores)
        return scores

    def keep_best(self, scores: dict) -> None:
        """Model selection on validation (the paper's): the candidate F that scores best (the
        averaged one on a tie) goes to best.pt with G and D, if it beats every earlier one."""
        if self.val_data is None:
            return
        metric = self.cfg.select_metric
        source, F_best, best = max(self._candidates, key=lambda c: c[2][metric])
        if best[metric] <= self.best:
            return
        self.best = best[metric]
        if self.main:
            nets = {**self.nets, "F": F_best}
            ckpt.atomic_save(
                {
                    "nets": {k: v.state_dict() for k, v in nets.items()},
                    "step": self.step,
                    "attempt": self.attempt,
                    "F_source": source,
                    "metrics": best,
                    "config": self.cfg.to_dict(),
                },
                self.run / "best.pt",
            )

    def collapsed(self, scores: dict) -> bool:
        """The paper's restart rule (official ``--autoRestart``), checked at every evaluation from
        step ``restart_after`` to ``restart_before`` of an attempt (c2mnist-cpu: from its first
        evaluation, step 100): a region whose area is below ``restart_min_area`` means the run
        collapsed, once it is seen at ``restart_patience`` evaluations in a row (1: at once, the
        official rule; c2mnist-cpu: 2, since a region can dip below the threshold for one
        evaluation early on and recover; the first sign is logged and said). ``restart_on`` says
        which area: the mean soft mask (official) or the share of pixels won after argmax. With
        labelled validation images and ``restart_min_iou`` > 0 (not in the paper), a ground-truth
        class that no region covers (its IoU below that) is a collapse as well.
        ``collapse_signs`` words both."""
        cfg = self.cfg
        early = cfg.restart_after <= self.step <= cfg.restart_before
        if self.val_data is not None:  # the live F's scores: the F that trains on
            scores = self._candidates[-1][2]
        signs = collapse_signs(
            scores, cfg.restart_min_area, cfg.restart_on, cfg.restart_min_iou, self._class_names
        )
        if not (early and signs):
            self.signs_in_a_row = 0
            return False
        self.signs_in_a_row += 1
        self._collapse_reason = "; ".join(signs)
        if self.signs_in_a_row < cfg.restart_patience:  # seen, said, and watched at the next one
            self.log(kind="collapse_sign", reason=self._collapse_reason, seen=self.signs_in_a_row)
            if self.main:
                tqdm.write(
                    f"collapse sign at step {self.step}: {self._collapse_reason} (evaluation "
                    f"{self.signs_in_a_row} of {cfg.restart_patience} in a row that restarts the "
                    "run)",
                    file=sys.stderr,
                )
            return False
        if self.restarts >= cfg.max_restarts:
            self.log(
                kind="restart_gave_up",
                restarts=self.restarts,
                reason=f"{self._collapse_reason}"
                f" after {self.restarts} restarts; training on without restarting",
            )
            return False
        return True

    def restart(self, scores: dict, bar, steps: int) -> None:
        """Rebuild every network and optimiser with a new seed and start again at step 0 (the
        budget keeps counting). Logged, and said on screen."""
        self.restarts += 1
        self.signs_in_a_row = 0
        self.log(kind="restart", reason=self._collapse_reason, restarts=self.restarts)
        if self.main:
            tqdm.write(
                printable(
                    f"restart {self.restarts} of at most {self.cfg.max_restarts} at step "
                    f"{self.step}: {self._collapse_reason} (the run collapsed; training starts "
                    "again)"
                ),
                file=sys.stderr,
            )
        self.attempt += 1
        self.step = 0
        self._fresh()
        bar.reset(total=steps)

    def save(self) -> None:
        """last.pt: networks, optimisers, random streams, counters and the log's length."""
        if self.main:
            ckpt.atomic_save(self._state(), self.run / "last.pt")

    def summary(self, **extra) -> dict:
        return {
            "step": self.step,
            "attempt": self.attempt,
            "restarts": self.restarts,
            "minutes": self.elapsed / 60,
            "best": self.best,
            **extra,
        }

    def final_test(self, data_dir) -> dict | None:
        """The selected model (best.pt, else the current F) scored on the labelled images of the
        test split, logged as a ``kind: test`` row; None when there are none."""
        from .run import evaluate_run

        if not self.main:  # rank 0 writes best.pt; it alone scores it
            return None
        read = getattr(self, "_test", None)
        same = read is not None and read[0] == Path(data_dir).resolve()
        test = read[1] if same else labelled_split(Path(data_dir), "test", self.cfg)
        if test is None:
            return None
        m = evaluate_run(self.run, data_dir, "test", device=self.device, data=test)
        self.log(kind="test", **m)
        return m

    # ============================================================================================
    # Helpers: time, logs, batches, several processes
    # ============================================================================================
    def _progress_bar(self, steps: int):
        return tqdm(total=steps, initial=self.step, disable=not self.progress,
                    desc=f"train {self.run.name}", dynamic_ncols=True)  # fmt: skip

    def _tick(self) -> None:
        now = time.perf_counter()
        self.elapsed += now - self._clock
        self._clock = now

    def _finished(self, steps: int, budget: float) -> dict:
        what = (
            f"step {self.step} of {steps}"
            if self.step >= steps
            else f"{self.elapsed / 60:.1f} minutes"
        )
        if self.main:
            say(
                f"{self.run}: already trained to {what}; nothing to do (raise --steps or --minutes "
                "to train on)"
            )
        return self.summary(finished=True, already=True)  # nothing trained in this call

    def log(self, **row) -> None:
        if not self.main:
            return
        row = {
            "attempt": self.attempt,
            "step": self.step,
            "total_steps": self.total_steps,
            "minutes": round(self.elapsed / 60, 3),
            **row,
        }
        # strict JSON: a non-finite number is written as null; a failed write leaves no half row
        append_line(self.log_path, json_text(row))

    def close(self) -> None:
        """Let other processes train this run folder (the lock also goes when the process ends)."""
        self.folder.release()

    def _score(self, F) -> dict:
        m = evaluate(F, self.val_data)
        m.pop("per_image_iou")
        return m

    def _slice(self, t):
        """This process's share of a global batch of B: B // world images, one more on the first
        B % world processes (25 over 2 processes: 13 and 12; over 3: 9, 8, 8; over 4: 7, 6, 6, 6).
        The gradients and the logged losses are weighted by each share (``_share``), so that N
        processes step as one process on the whole batch."""
        base, extra = divmod(t.shape[0], self.world)
        start = self.rank * base + min(self.rank, extra)
        return t[start : start + base + (self.rank < extra)]

    def _share(self) -> float:
        """This process's part of the global batch, n_r / B: the weight of its mean losses and of
        its gradients in the sum over processes (Σ_r n_r/B · mean_r = the mean over all B)."""
        return len(self._slice(torch.empty(self.cfg.batch))) / self.cfg.batch

    def _time_up(self, budget: float) -> bool:
        """Whether this fit's time is spent. Under torchrun the answer is one for all processes:
        the slowest clock's (the elapsed times all-reduced with MAX), so that every process leaves
        the loop at the same step (each reading its own clock, one would wait forever for the
        others' next step)."""
        if self.world == 1 or not math.isfinite(budget):
            return self.elapsed >= budget
        import torch.distributed as dist

        t = torch.tensor([self.elapsed], dtype=torch.float64, device=self.device)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return t.item() >= budget

    def _batch(self):
        idx = self._slice(
            torch.randint(len(self.train_data), (self.cfg.batch,), generator=self.rng)
        )
        return self.train_data.batch(idx)[0].to(self.device, memory_format=self.memory_format)

    def _global_mean(self, losses: dict) -> dict:
        """The logged losses over the whole batch: each process's means weighted by its share and
        summed, reduced on this process's device (NCCL has no CPU all-reduce)."""
        import torch.distributed as dist

        vals = torch.tensor(list(losses.values()), dtype=torch.float64, device=self.device)
        dist.all_reduce(vals.mul_(self._share()))
        return dict(zip(losses, vals.tolist(), strict=True))

    def _init_device(self, device: str | None, tf32: bool) -> torch.device:
        """The device, and under torchrun the process group bound to this process's GPU."""
        if self.world > 1:
            import torch.distributed as dist

            if self.cfg.batch < self.world:  # a share of 0 images has no mean loss
                raise ValueError(
                    f"batch {self.cfg.batch} is smaller than the {self.world} processes: each "
                    "needs at least one image"
                )
            use_cuda = torch.cuda.is_available() and (device is None or device.startswith("cuda"))
            if use_cuda:
                local = int(os.environ.get("LOCAL_RANK", "0"))
                device = f"cuda:{local}"
                torch.cuda.set_device(local)  # before the group starts: NCCL binds to it
            if not dist.is_initialized():
                dist.init_process_group(
                    "nccl" if use_cuda else "gloo",
                    device_id=torch.device(device) if use_cuda else None,
                )
        dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        if dev.type == "cuda":
            torch.backends.cudnn.benchmark = True  # as the official code
            # fp32 means fp32 (the official run); TF32 matmuls and convolutions only when asked
            torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = tf32
        return dev

    def _load_data(self, root: Path):
        """The train split (images only: training needs no masks) and, when the data has a
        validation split with masks, the validation images that have one."""
        cfg = self.cfg
        train = ImageFolderData(root, "train", cfg.size, cfg.regions, masks="none")
        val = labelled_split(root, "val", cfg, limit=cfg.eval_images)
        if val is not None and val.holds and self.main:  # a fused folder: say what selects
            parts = ", ".join(f"{n} {p}" for p, n in val.holds.items())
            print(f"validation: {len(val)} labelled images of {root}/val: {parts}", file=sys.stderr)
        # the test split is read now as well: a bad file in it stops the run before it trains
        self._test = (root.resolve(), labelled_split(root, "test", cfg)) if self.main else None
        return train, val

    # ============================================================================================
    # Building and restoring
    # ============================================================================================
    def _fresh(self) -> None:
        """New networks, optimisers and random stream for this attempt (a restart rebuilds all)."""
        torch.manual_seed(self.seed * 1009 + self.attempt)
        nets = build_nets(self.cfg).items()
        self.nets = {k: v.to(self.device, memory_format=self.memory_format) for k, v in nets}
        self.opts = make_optimizers(self.cfg, self.nets)
        self.rng = torch.Generator().manual_seed(self.seed * 1009 + self.attempt)
        # the step runs the networks wrapped as asked (bf16, several processes, compiled); the
        # plain ones, which share their parameters, are what is saved
        self.step_nets = dict(self.nets)
        if self.amp:
            self.step_nets = {k: Autocast(v, self.device.type) for k, v in self.step_nets.items()}
        if self.world > 1:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.step_nets = {k: DDP(v, device_ids=ids) for k, v in self.step_nets.items()}
            for net in self.step_nets.values():  # gradients weighted by share, not averaged
                net.register_comm_hook(self._share(), _weighted_all_reduce)
        if self.compile:
            self.step_nets = {k: torch.compile(v) for k, v in self.step_nets.items()}
        self.F_ema = copy.deepcopy(self.nets["F"]).requires_grad_(False) if self.cfg.f_ema else None

    def _state(self) -> dict:
        return {
            "nets": {k: v.state_dict() for k, v in self.nets.items()},
            "opts": {k: v.state_dict() for k, v in self.opts.items()},
            "rng": self.rng.get_state(),
            "torch_rng": torch.get_rng_state(),
            "step": self.step,
            "attempt": self.attempt,
            "restarts": self.restarts,
            "signs_in_a_row": self.signs_in_a_row,
            "total_steps": self.total_steps,
            "elapsed": self.elapsed,
            "best": self.best,
            "seed": self.seed,
            "log_lines": self._log_lines(),
            "config": self.cfg.to_dict(),
            **({"F_ema": self.F_ema.state_dict()} if self.F_ema is not None else {}),
        }

    def _resume(self) -> None:
        path = self.run / "last.pt"
        state = ckpt.load(path)
        ckpt.require(state, RESUME_KEYS, path)
        ckpt.check_config(self.cfg, {"config": {}, **state}, path, hint="; use another --out")
        if state["seed"] != self.seed:  # a last.pt copied in from another run
            raise ckpt.CheckpointError(
                f"{path}: saved by a run with seed {state['seed']}, but this run folder records "
                f"seed {self.seed} ({self.run / 'redo_run.json'}); use another --out"
            )
        if self.main and not (self.run / "config.json").exists():
            self.cfg.save(self.run / "config.json")  # deleted: the checkpoint's settings restored
        self.attempt = state["attempt"]
        self._fresh()
        ckpt.load_nets(self.nets, state["nets"], path)
        if self.F_ema is not None:
            ckpt.load_nets({"F_ema": self.F_ema}, state, path)  # a missing one names the file
        for k, o in self.opts.items():
            o.load_state_dict(state["opts"][k])
        self.rng.set_state(state["rng"])
        torch.set_rng_state(state["torch_rng"])
        for k in ("step", "restarts", "total_steps", "elapsed", "best"):
            setattr(self, k, state[k])
        self.signs_in_a_row = state.get("signs_in_a_row", 0)  # (saved before restart_patience)
        if self.main:  # drop the log rows written after that checkpoint, but a final test score
            rows = (
                self.log_path.read_text().splitlines(keepends=True)
                if self.log_path.exists()
                else []
            )
            kept = rows[: state["log_lines"]] + [
                r for r in rows[state["log_lines"] :] if _is_test_row(r)
            ]  # (a test row is written after training ended: never part of a step cut short)
            if kept != rows:
                ckpt.atomic_write_text(self.log_path, "".join(kept))

    def _fingerprint(self) -> dict:
        """The data this run trains and selects on, for the run folder's record."""
        fp = {"train": self.train_data.fingerprint()}
        if self.val_data is not None:
            fp["val"] = self.val_data.fingerprint()
            if self.val_data.holds:  # a fused folder: how many images of each part
                fp["val"]["holds"] = self.val_data.holds
        return fp

    def _log_lines(self) -> int:
        return len(self.log_path.read_text().splitlines()) if self.log_path.exists() else 0


COMPILE_HINT = (
    "--compile: the step's backward found a tensor of D changed in place. A compiled D updates "
    "spectral norm's power-iteration vectors at every call, so a second D call before the "
    "backward of the first (one backward of hinge_d(D(x_real), D(fakes))) overwrites what the "
    "first call saved. Back-propagate each of D's terms right after its D call, as "
    "redo_lite/step.py does: hinge_d_real(D(x_real)).backward(), then "
    "hinge_d_fake(D(fakes)).backward() (the same gradient as one backward of the sum); or train "
    "without --compile"
)


def _explained_for_compile(step_fn):
    """``step_fn``, with the in-place error a compiled D gives a step that calls D twice before
    one backward turned into a TrainingError that says what to change (``COMPILE_HINT``)."""

    def step(*args):
        try:
            return step_fn(*args)
        except RuntimeError as e:
            if "modified by an inplace operation" not in str(e):
                raise
            raise TrainingError(f"{COMPILE_HINT} ({e})") from e

    return step


def _weighted_all_reduce(share: float, bucket):
    """DDP's gradient all-reduce with each process's gradients weighted by its share of the batch
    (n_r / B) instead of 1 / world: the global batch need not split evenly."""
    import torch.distributed as dist

    buf = bucket.buffer().mul_(share)
    return dist.all_reduce(buf, async_op=True).get_future().then(lambda f: f.value()[0])


def _class_names(root: Path, regions: int) -> list[str]:
    """The data's names of its labels (info.json "labels"), else "label k"."""
    try:
        labels = json.loads((root / "info.json").read_text()).get("labels", {})
    except (OSError, ValueError, AttributeError):
        labels = {}
    labels = labels if isinstance(labels, dict) else {}
    return [str(labels.get(str(k), f"label {k}")) for k in range(regions)]


def _is_test_row(line: str) -> bool:
    try:
        return json.loads(line).get("kind") == "test"
    except (ValueError, AttributeError):
        return False


# what a resume reads from last.pt (a file without them is named, not a KeyError)
RESUME_KEYS = ("nets", "opts", "rng", "torch_rng", "step", "attempt", "restarts", "total_steps")
RESUME_KEYS += ("elapsed", "best", "seed", "log_lines")


@contextlib.contextmanager
def _deferred_interrupt():
    """Ctrl-C (SIGINT) or SIGTERM (a scheduler, ``timeout``, ``kill``) during the loop stops it at
    the end of the current step instead of in the middle of one (a half-applied optimiser step
    cannot be resumed), and last.pt is saved. A second one interrupts at once. Yields a function
    that says whether an interrupt came."""
    hit = []
    signals = (signal.SIGINT, signal.SIGTERM)
    previous = {s: signal.getsignal(s) for s in signals}
    previous[signal.SIGINT] = previous[signal.SIGINT] or signal.default_int_handler
    previous[signal.SIGTERM] = previous[signal.SIGTERM] or signal.SIG_DFL

    def handler(signum, frame):
        hit.append(signum)
        signal.signal(signum, previous[signum])

    try:
        for s in signals:
            signal.signal(s, handler)
    except ValueError:  # not the main thread: interrupts behave as usual
        previous = {}
    try:
        yield lambda: bool(hit)
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
