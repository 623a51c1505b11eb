"""Notebook 08 (training): one training step, run on the tiny preset's model with its
optimiser steps counted.

Each exercise: its reference, its seeded inputs, its outputs' names and its typical mistakes,
registered with :func:`course.registry.register`."""

from __future__ import annotations

import torch

from redo_lite import nets
from redo_lite.losses import hinge_d, hinge_g, z_loss

from ..cases import gen, tiny_config
from ..registry import Exercise, Mistake, register


# ---------------------------------------------------------------------------------------------
# 08 · the training step (run once on a tiny model; optimiser steps are counted)
# ---------------------------------------------------------------------------------------------
def _grads(net) -> list:
    return [None if p.grad is None else p.grad.clone() for p in net.parameters()]


def _moved(net, before) -> bool:
    """Did F's or G's gradients change after their own step (D's loss flowing into them)?"""
    for i, p in enumerate(net.parameters()):
        if p.grad is None or not p.grad.any():
            continue
        if before is None or before[i] is None or not torch.equal(p.grad, before[i]):
            return True
    return False


LR = 0.01  # the harness's SGD learning rate


def step_harness(step_fn):
    """One step of ``step_fn`` on a fresh tiny model whose every ``.grad`` holds seeded junk (as
    a previous step would leave it): its losses, how often each optimiser stepped, whether D's
    loss sent gradients into F or G, and how the step moved every weight. The optimisers are
    plain SGD, so each network's update is -LR times the gradient it was stepped with (Adam's
    first step, about lr times the gradient's sign, would hide a wrong gradient in its rounding)."""

    def go(x_gen, x_real, z):
        torch.manual_seed(0)
        model = nets.build_nets(tiny_config())
        opts = {k: torch.optim.SGD(model[k].parameters(), lr=LR) for k in "FGZD"}
        junk = torch.Generator().manual_seed(99)
        for k in "FGZD":  # gradients left over from an earlier step: the step must clear them
            for p in model[k].parameters():
                p.grad = torch.randn(p.shape, generator=junk)
        before = {k: [p.detach().clone() for p in model[k].parameters()] for k in "FGZD"}
        steps = {k: 0 for k in "FGZD"}
        after_own_step, leaked = {}, []

        def counting(key, opt):
            step = opt.step

            def counted(*a, **kw):
                steps[key] += 1
                if key in "FG":
                    after_own_step[key] = _grads(model[key])
                if key == "D":
                    leaked.append(any(_moved(model[j], after_own_step.get(j)) for j in "FG"))
                return step(*a, **kw)

            opt.step = counted

        for k, o in opts.items():
            counting(k, o)
        out = step_fn(model, opts, x_gen, x_real, z, 5.0)
        if not isinstance(out, dict):
            out = {k: out for k in ("loss_g", "loss_z", "loss_d")}
        updates = {
            f"{k} update": {
                n: p.detach() - p0
                for (n, p), p0 in zip(model[k].named_parameters(), before[k], strict=True)
            }
            for k in "FGZD"
        }
        return {
            **{k: out.get(k, None) for k in ("loss_g", "loss_z", "loss_d")},
            "optimiser steps": dict(steps),
            "D's loss reached F or G": any(leaked),
            **updates,
        }

    return go


def train_step_variant(
    d_in_part1=False,
    recompute=True,
    no_grad=True,
    z_in_backward=True,
    swap_d=False,
    clear_d=True,
    zero_first=True,
):
    """The training step with one thing changed (the default is the reference's step)."""
    from redo_lite.process import assemble, redraw_all

    def step(nets_, opts, x_gen, x_real, z, lambda_z):
        F, G, D, Z = (nets_[k] for k in "FGDZ")
        for o in opts.values() if zero_first else ():
            o.zero_grad(set_to_none=True)
        masks = F(x_gen)
        drawn = G(masks, z)
        fakes = redraw_all(x_gen, masks, drawn).flatten(0, 1)
        loss_g = hinge_g(D(fakes))
        loss_zz = z_loss(Z(assemble(drawn)), z, lambda_z)
        (loss_g + loss_zz if z_in_backward else loss_g).backward()
        for k in "FGDZ" if d_in_part1 else "FGZ":
            opts[k].step()
        if clear_d:
            opts["D"].zero_grad(set_to_none=True)
        if recompute:
            with torch.set_grad_enabled(not no_grad):
                masks = F(x_gen)
                fakes = redraw_all(x_gen, masks, G(masks, z)).flatten(0, 1)
        else:
            fakes = fakes.detach()
        real_scores, fake_scores = D(x_real), D(fakes)
        loss_d = hinge_d(fake_scores, real_scores) if swap_d else hinge_d(real_scores, fake_scores)
        loss_d.backward()
        opts["D"].step()
        return {"loss_g": loss_g.item(), "loss_z": loss_zz.item(), "loss_d": loss_d.item()}

    return step


def _reference_train_step(nets_, opts, x_gen, x_real, z, lambda_z):
    from redo_lite.train import train_step

    return train_step(nets_, opts, x_gen, x_real, z, lambda_z)


register(
    Exercise(
        name="train_step",
        package="redo_lite.step.train_step",
        notebook="08_training",
        reference=_reference_train_step,
        inputs=(
            lambda: torch.rand(4, 3, 16, 16, generator=gen(12)) * 2 - 1,
            lambda: torch.rand(4, 3, 16, 16, generator=gen(13)) * 2 - 1,
            lambda: torch.randn(4, 3, 4, generator=gen(14)),
        ),
        atol=1e-6,
        rtol=1e-4,
        wrap=step_harness,
        reasoning=True,
        mistakes=(
            Mistake(
                "D's optimiser stepped in part 1: D then moved along the gradient of the "
                "generators' loss (which wants D fooled); part 1 steps only F, G and delta",
                train_step_variant(d_in_part1=True),
            ),
            Mistake(
                "D was trained on the composites made before F and G stepped: recompute them "
                "with the updated F and G (same x, same z), as the official code does",
                train_step_variant(recompute=False),
            ),
            Mistake(
                "the composites for D were recomputed with gradients on, so D's loss flowed "
                "back into F and G: recompute them under torch.no_grad()",
                train_step_variant(no_grad=False),
            ),
            Mistake(
                "delta's loss was not back-propagated: the generator side minimises "
                "loss_g + loss_z together (delta did not move, and G missed loss_z's gradient)",
                train_step_variant(z_in_backward=False),
            ),
            Mistake(
                "hinge_d's arguments are swapped: it takes (scores of real images, scores of "
                "redrawn ones)",
                train_step_variant(swap_d=True),
            ),
            Mistake(
                "D's gradients from part 1 were not cleared before its own backward: the "
                "gradient of the generators' loss with respect to D's weights (which points "
                "the wrong way for D) was added to L_D's",
                train_step_variant(clear_d=False),
            ),
            Mistake(
                "the gradients were not cleared at the start of part 1: F, G and delta stepped "
                "along their new gradient plus whatever the previous step left in .grad "
                "(PyTorch adds to .grad, it never replaces it); zero every optimiser first",
                train_step_variant(zero_first=False),
            ),
        ),
    )
)
