r"""The training loop of ReDO — one generator step, then one discriminator step.

Per step (as the official code does it, which the authors confirmed over Algorithm 1):

1. **F, G_k, delta step.** Masks :math:`M = F(I)`; every region redrawn with fresh
   :math:`z \sim \mathcal N(0, I)`, giving B·n composites :math:`\hat I_k`;
   :math:`\mathcal L = -\mathrm{mean}\,D(\hat I) + \lambda_z \mathrm{mean}((\delta(\sum_k G_k) - z)^2)`.
2. **D step**, on composites *recomputed* with the updated F and G (same batch, same z), against
   a second, independent real batch: :math:`\mathcal L_D` = hinge.

Adam with β=(0, 0.9) everywhere, a learning rate for F of its own, weight decay on F only.
Every ``eval_every`` steps: validation scores, the best model kept (``best.pt``), a collapse check
(a region that wins almost no pixel → rebuild everything and start again, while early), and
``last.pt`` written atomically for an exact resume.
"""

from __future__ import annotations

import copy
import json
import math
import os
import time
from pathlib import Path

import torch
from tqdm.auto import tqdm

from . import checkpoint as ckpt
from .config import Config
from .data import DataError, ImageFolderData, has_labelled_split
from .files import append_line
from .losses import hinge_d, hinge_g, mask_impurity, ramp, z_loss
from .metrics import region_areas, score
from .nets import build_nets, one_hot
from .process import assemble, redraw_all, sample_z
from .runfolder import open_run

RESUME_KEYS = ("nets", "opts", "rng", "torch_rng", "step", "attempt", "restarts", "total_steps")
RESUME_KEYS += ("elapsed", "best", "seed", "log_lines")


class TrainingError(RuntimeError):
    pass


@torch.no_grad()
def ema_update(ema: torch.nn.Module, net: torch.nn.Module, decay: float, step: int) -> None:
    r"""Exponential moving average of a network's weights, :math:`\bar\theta \leftarrow d\,\bar\theta
    + (1-d)\,\theta`, with :math:`d = \min(\text{decay}, \frac{1+t}{10+t})` so that the first
    steps are not averaged with the initial weights (not in the paper; ``Config.f_ema``)."""
    d = min(decay, (1 + step) / (10 + step))
    for a, b in zip(ema.parameters(), net.parameters()):
        a.lerp_(b, 1 - d)
    for a, b in zip(ema.buffers(), net.buffers()):
        a.copy_(b)


def make_optimizers(cfg: Config, nets: dict) -> dict:
    adam = lambda net, lr, wd=0.0: torch.optim.Adam(
        net.parameters(), lr=lr, betas=cfg.betas, weight_decay=wd
    )
    return {
        "F": adam(nets["F"], cfg.lr_f, cfg.wd_f),  # coupled weight decay, F only (official)
        "G": adam(nets["G"], cfg.lr_g),
        "D": adam(nets["D"], cfg.lr_d),
        "Z": adam(nets["Z"], cfg.lr_z),
    }


@torch.no_grad()
def predict(F: torch.nn.Module, images: torch.Tensor, batch: int = 100, soft: bool = False):
    """Hard label maps (argmax over the soft masks) for images in [-1, 1]: N,S,S int64; with
    ``soft=True`` also the mean soft mask of each region over the images (n,)."""
    dev = next(F.parameters()).device
    labels, soft_sum = [], 0.0
    for i in range(0, len(images), batch):
        m = F(images[i : i + batch].to(dev))
        labels.append(m.argmax(1).cpu())
        soft_sum = soft_sum + m.sum((0, 2, 3)).cpu()
    labels = torch.cat(labels)
    return (labels, soft_sum / labels[0].numel() / len(images)) if soft else labels


def evaluate(F: torch.nn.Module, data: ImageFolderData, limit: int | None = None) -> dict:
    """Accuracy / IoU (best permutation), the share of pixels each region wins after argmax
    (``areas``) and each region's mean soft mask (``soft_areas``)."""
    if data.masks is None:
        raise DataError(f"{data.root}/masks: no ground-truth masks to evaluate against")
    n = min(limit or len(data), len(data))
    x, gt = data.batch(torch.arange(n))
    pred, soft = predict(F, x, soft=True)
    out = score(pred, gt, data.regions)
    out["areas"] = region_areas(pred, data.regions).tolist()
    out["soft_areas"] = soft.tolist()
    return out


def straight_through(masks: torch.Tensor) -> torch.Tensor:
    """One-hot argmax masks in the forward pass, the soft masks' gradient in the backward pass."""
    return masks + (one_hot(masks) - masks).detach()


def redraw_batch(nets: dict, x: torch.Tensor, z: torch.Tensor, hard: bool = False):
    """Masks M = F(x), every region redrawn: (masks B,n,H,W; drawn B,n,3,H,W; composites B*n,3,H,W)."""
    masks = nets["F"](x)
    if hard:
        masks = straight_through(masks)
    drawn = nets["G"](masks, z)  # already times the masks
    return masks, drawn, redraw_all(x, masks, drawn).flatten(0, 1)


def train_step(
    nets: dict,
    opts: dict,
    x_gen,
    x_real,
    z,
    lambda_z: float,
    hard: bool = False,
    amp: bool = False,
    lambda_m: float = 0.0,
) -> dict:
    """One ReDO step: F, G_k and delta first, then D on recomputed composites. ``amp``: forward
    passes in bfloat16 autocast (no loss scaling needed with bf16). ``lambda_m``: weight on the
    masks' impurity (0 in the paper)."""
    D, Z = nets["D"], nets["Z"]
    autocast = lambda: torch.autocast(x_gen.device.type, dtype=torch.bfloat16, enabled=amp)
    # 1. F, G_k and delta: fool D, and let delta recover z from the fully redrawn image
    for o in opts.values():
        o.zero_grad(set_to_none=True)
    with autocast():
        masks, drawn, fakes = redraw_batch(nets, x_gen, z, hard)
        loss_adv = hinge_g(D(fakes).float())
        loss_z = z_loss(Z(assemble(drawn)).float(), z, lambda_z)
        impurity = mask_impurity(masks.float())
    (loss_adv + loss_z + lambda_m * impurity).backward()
    for k in "FGZ":
        opts[k].step()
    # 2. D: real batch against composites recomputed with the updated F and G (same x, same z)
    opts["D"].zero_grad(set_to_none=True)
    with torch.no_grad(), autocast():
        fakes = redraw_batch(nets, x_gen, z, hard)[2]
    with autocast():
        loss_d = hinge_d(D(x_real).float(), D(fakes).float())
    loss_d.backward()
    opts["D"].step()
    return {
        "loss_g": loss_adv.item(),
        "loss_z": loss_z.item(),
        "loss_d": loss_d.item(),
        "impurity": impurity.item(),
        "soft_area_min": masks.mean((0, 2, 3)).min().item(),
    }


class Trainer:
    """Holds the networks, optimisers and RNG of one run folder, and trains them."""

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
    ):
        self.cfg, self.run, self.seed = cfg, Path(run_dir), seed
        # several processes (torchrun): each takes a slice of every global batch; rank 0 writes files
        self.world, self.rank = (
            int(os.environ.get("WORLD_SIZE", "1")),
            int(os.environ.get("RANK", "0")),
        )
        self.main = self.rank == 0
        if self.world > 1:
            if cfg.batch % self.world:
                raise ValueError(f"batch {cfg.batch} does not split over {self.world} processes")
            import torch.distributed as dist

            if not dist.is_initialized():
                dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
            if torch.cuda.is_available() and device is None:
                device = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.progress, self.amp, self.compile = progress and self.main, amp, compile
        # channels_last: 15-35% faster convolutions on this CPU (measured), and the fast layout on GPUs
        self.memory_format = torch.channels_last
        self.train_data = ImageFolderData(data_dir, "train", cfg.size, cfg.regions)
        self.val_data = None
        if has_labelled_split(data_dir, "val"):  # scored on validation when it has masks
            self.val_data = ImageFolderData(
                data_dir, "val", cfg.size, cfg.regions, need_masks=True, limit=cfg.eval_images
            )
        # the run folder: ours only (marker), locked, tied to this data and seed (runfolder.py)
        self.folder = open_run(self.run, main=self.main)
        with self.folder.released_on_error():
            fingerprint = {"train": self.train_data.fingerprint()}
            if self.val_data is not None:
                fingerprint["val"] = self.val_data.fingerprint()
            self.seed = (
                self.folder.record_inputs(data_dir, fingerprint, seed) if self.main else seed or 0
            )
            self.log_path = self.run / "metrics.jsonl"
            self.attempt = self.restarts = self.step = self.total_steps = 0
            self.elapsed, self.best = 0.0, -math.inf
            self.resumed = (self.run / "last.pt").exists()
            if self.resumed:
                self._resume()
            else:
                if self.main:
                    cfg.save(self.run / "config.json")
                    self.log_path.write_text("")
                self._fresh()

    # --- building and restoring -----------------------------------------------------------------
    def _fresh(self):
        """New networks, optimisers and RNG for this attempt (a restart rebuilds all of them)."""
        torch.manual_seed(self.seed * 1009 + self.attempt)
        self.nets = {
            k: v.to(self.device, memory_format=self.memory_format)
            for k, v in build_nets(self.cfg).items()
        }
        self.opts = make_optimizers(self.cfg, self.nets)
        self.rng = torch.Generator().manual_seed(self.seed * 1009 + self.attempt)
        # the step runs DDP-wrapped and/or compiled modules where asked; the plain ones (same parameters) are saved
        self.step_nets = dict(self.nets)
        if self.world > 1:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.step_nets = {k: DDP(v, device_ids=ids) for k, v in self.step_nets.items()}
        if self.compile:
            self.step_nets = {k: torch.compile(v) for k, v in self.step_nets.items()}
        # the averaged F (cfg.f_ema > 0): evaluated beside the live F, and the one of the two that scores
        # better on validation goes to best.pt
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
            "total_steps": self.total_steps,
            "elapsed": self.elapsed,
            "best": self.best,
            "seed": self.seed,
            "log_lines": self._log_lines(),
            "config": self.cfg.to_dict(),
            **({"F_ema": self.F_ema.state_dict()} if self.F_ema is not None else {}),
        }

    def _resume(self):
        path = self.run / "last.pt"
        state = ckpt.load(path)
        ckpt.require(state, RESUME_KEYS, path)
        ckpt.check_config(self.cfg, {"config": {}, **state}, path, hint="; use another --out")
        if self.main and not (self.run / "config.json").exists():
            self.cfg.save(self.run / "config.json")  # deleted: the checkpoint's settings restored
        if self.main and state["seed"] != self.seed:  # a last.pt copied in from another run
            raise ckpt.CheckpointError(
                f"{path}: saved by a run with seed {state['seed']}, but this run folder records "
                f"seed {self.seed} ({self.run / 'redo_run.json'}); use another --out"
            )
        self.attempt, self.seed = state["attempt"], state["seed"]
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
        if self.main:
            lines = (
                self.log_path.read_text().splitlines(keepends=True)
                if self.log_path.exists()
                else []
            )
            ckpt.atomic_write_text(
                self.log_path, "".join(lines[: state["log_lines"]])
            )  # drop rows after it

    def _log_lines(self) -> int:
        return len(self.log_path.read_text().splitlines()) if self.log_path.exists() else 0

    def log(self, **row):
        if not self.main:
            return
        row = {
            "attempt": self.attempt,
            "step": self.step,
            "total_steps": self.total_steps,
            "minutes": round(self.elapsed / 60, 3),
            **row,
        }
        append_line(self.log_path, json.dumps(row))

    def close(self):
        """Let other processes train this run folder (the lock is also dropped at exit)."""
        if self.main:
            self.folder.release()

    def save(self):
        if self.main:
            ckpt.atomic_save(self._state(), self.run / "last.pt")

    # --- one training step ------------------------------------------------------------------------
    def _slice(self, t):
        """This process's share of a global batch (every process draws the same global batch)."""
        b = t.shape[0] // self.world
        return t[self.rank * b : (self.rank + 1) * b]

    def _batch(self):
        idx = self._slice(
            torch.randint(len(self.train_data), (self.cfg.batch,), generator=self.rng)
        )
        return self.train_data.batch(idx)[0].to(self.device, memory_format=self.memory_format)

    def train_step(self) -> dict:
        cfg = self.cfg
        x_gen, x_real = self._batch(), self._batch()  # two independent real batches
        z = self._slice(sample_z(cfg.batch, cfg.regions, cfg.z_dim, self.rng)).to(self.device)
        lambda_m = cfg.impurity_weight * ramp(self.step, cfg.impurity_start, cfg.impurity_full)
        out = train_step(
            self.step_nets,
            self.opts,
            x_gen,
            x_real,
            z,
            cfg.lambda_z,
            cfg.hard_masks,
            self.amp,
            lambda_m,
        )
        if self.F_ema is not None:
            ema_update(self.F_ema, self.nets["F"], cfg.f_ema, self.step)
        if self.world > 1:  # log the global-batch means
            import torch.distributed as dist

            vals = torch.tensor(list(out.values()), dtype=torch.float64)
            dist.all_reduce(vals)
            out = dict(zip(out, (vals / self.world).tolist()))
        bad = [k for k, v in out.items() if not math.isfinite(v)]
        if bad:
            raise TrainingError(
                f"non-finite {', '.join(bad)} at step {self.step} (attempt {self.attempt}); "
                f"stopped. The last good checkpoint is kept at {self.run / 'last.pt'}"
            )
        return out

    # --- evaluation, model selection, collapse restart ---------------------------------------------
    def checkpoint_and_evaluate(self) -> bool:
        """Evaluate, keep the best, check for collapse. Returns True if the run restarted."""
        if self.val_data is not None:
            m = evaluate(self.nets["F"], self.val_data)
            m.pop("per_image_iou")
            candidates = [("live", self.nets["F"], m)]
            if self.F_ema is not None:  # the averaged F is a candidate too
                avg = evaluate(self.F_ema, self.val_data)
                avg.pop("per_image_iou")
                candidates.insert(0, ("averaged", self.F_ema, avg))
                # the row shows the averaged F's scores; the restart check still watches the live F
                m = {
                    **avg,
                    "soft_areas": m["soft_areas"],
                    "areas": m["areas"],
                    "iou_live": m["iou"],
                }
            self.log(kind="eval", split="val", **m)
            # model selection: the candidate F that scores best on validation (the averaged one on a tie)
            source, F_best, scores = max(candidates, key=lambda c: c[2][self.cfg.select_metric])
            if scores[self.cfg.select_metric] > self.best:
                self.best = scores[self.cfg.select_metric]
                if self.main:
                    chosen = {**self.nets, "F": F_best}
                    ckpt.atomic_save(
                        {
                            "nets": {k: v.state_dict() for k, v in chosen.items()},
                            "step": self.step,
                            "attempt": self.attempt,
                            "F_source": source,
                            "metrics": scores,
                            "config": self.cfg.to_dict(),
                        },
                        self.run / "best.pt",
                    )
        else:  # no labels: watch the areas on train images
            x = self.train_data.batch(
                torch.arange(min(len(self.train_data), self.cfg.eval_images))
            )[0]
            pred, soft = predict(self.nets["F"], x, soft=True)
            m = {
                "areas": region_areas(pred, self.cfg.regions).tolist(),
                "soft_areas": soft.tolist(),
            }
            self.log(kind="areas", **m)
        areas = m["soft_areas" if self.cfg.restart_on == "soft" else "areas"]
        if (
            self.cfg.restart_min_area > 0
            and self.cfg.restart_after <= self.step <= self.cfg.restart_before
            and min(areas) < self.cfg.restart_min_area
        ):
            if self.restarts < self.cfg.max_restarts:
                self.restarts += 1
                self.log(
                    kind="restart",
                    reason=f"{self.cfg.restart_on} region area {min(areas):.4f} < {self.cfg.restart_min_area}",
                    restarts=self.restarts,
                )
                self.attempt += 1
                self.step = 0
                self._fresh()
                self.save()
                return True
            self.log(
                kind="restart_gave_up",
                restarts=self.restarts,
                reason=f"collapse after {self.restarts} restarts; training on without restarting",
            )
        self.save()
        return False

    def final_test(self, data_dir) -> dict | None:
        """The selected model (best.pt, else the current F) scored on the test split, logged as a
        ``kind: test`` row; None when the data has no labelled test split."""
        from .run import evaluate_run

        if not self.main:  # rank 0 writes best.pt; it alone scores it
            return None
        if not has_labelled_split(data_dir, "test"):
            return None
        m = evaluate_run(self.run, data_dir, "test")  # best.pt, else last.pt
        self.log(kind="test", **m)
        return m

    def fit(self, steps: int | None = None, minutes: float | None = None, callback=None) -> dict:
        """Train until ``steps`` (of the current attempt) or ``minutes`` of wall time in total
        (restarts and earlier sessions of this run counted in). ``callback(trainer)`` is called
        after every evaluation (live plots in the notebooks)."""
        steps = self.cfg.steps if steps is None else steps
        budget = math.inf if minutes is None else minutes * 60
        for net in self.nets.values():
            net.train()
        bar = tqdm(
            total=steps,
            initial=self.step,
            disable=not self.progress,
            desc=f"train {self.run.name}",
            dynamic_ncols=True,
        )
        acc, n_acc, t_last = {}, 0, time.perf_counter()
        while self.step < steps and self.elapsed < budget:
            out = self.train_step()
            self.step += 1
            self.total_steps += 1
            now = time.perf_counter()
            self.elapsed += now - t_last
            t_last = now
            for k, v in out.items():
                acc[k] = acc.get(k, 0.0) + v
            n_acc += 1
            bar.update(1)
            if self.step % self.cfg.log_every == 0:  # the mean over the steps since the last row
                self.log(
                    kind="train", **{k: v / n_acc for k, v in acc.items()}
                )  # (fewer after a resume)
                bar.set_postfix({k: f"{v / n_acc:.3f}" for k, v in acc.items()})
                acc, n_acc = {}, 0
            if self.step % self.cfg.eval_every == 0:
                if self.checkpoint_and_evaluate():  # evaluation time counts in the budget
                    bar.reset(total=steps)
                if callback:
                    callback(self)
        self.elapsed += time.perf_counter() - t_last
        if self.step % self.cfg.eval_every:  # the final state is evaluated too
            self.checkpoint_and_evaluate()
            if callback:
                callback(self)
        bar.close()
        return {
            "step": self.step,
            "attempt": self.attempt,
            "restarts": self.restarts,
            "minutes": self.elapsed / 60,
            "best": self.best,
        }
