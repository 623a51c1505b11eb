r"""One ReDO training step: F, the G_k and δ first, then D (the paper's Algorithm 1).

Paper: M. Chen, T. Artières, L. Denoyer, "Unsupervised Object Segmentation by Redrawing",
NeurIPS 2019, https://arxiv.org/abs/1905.13539, §3.3 and Algorithm 1. Equation numbers are those
of docs/equations.md (the paper prints its equations unnumbered; they are numbered there in the
order §3 displays them).

Where the official code (github.com/mickaelChen/ReDO, ``train.py``) differs from Algorithm 1, the
code is followed, as the authors confirmed it is what produced the paper's numbers:

* every region is redrawn at each step (B·n composites), instead of one region i ~ U(n);
* δ reads the fully generated image Σ_k G_k(M^k, z_k), not the composite, and predicts all z_k;
* the D step recomputes the composites with the F and G_k just updated (same images, same z) and
  compares them with a second, independent batch of real images.

This file holds the step and nothing else; ``redo_lite/train.py`` is the loop around it.
"""

from __future__ import annotations

import torch

from .losses import hinge_d_fake, hinge_d_real, hinge_g, z_loss
from .process import assemble, redraw_all


def make_optimizers(cfg, nets: dict) -> dict:
    """Adam with β = (0, 0.9) for every network (official code); F has its own learning rate and
    the only weight decay (Adam's coupled ``weight_decay``, as the official code)."""

    def adam(net, lr, weight_decay=0.0):
        return torch.optim.Adam(net.parameters(), lr=lr, betas=cfg.betas, weight_decay=weight_decay)

    return {
        "F": adam(nets["F"], cfg.lr_f, cfg.wd_f),
        "G": adam(nets["G"], cfg.lr_g),
        "D": adam(nets["D"], cfg.lr_d),
        "Z": adam(nets["Z"], cfg.lr_z),
    }


def redraw(nets: dict, x: torch.Tensor, z: torch.Tensor):
    """Masks and every region redrawn: (masks B,n,H,W; drawn B,n,3,H,W; composites B·n,3,H,W)."""
    # Eq. 5, composition step: M^1..M^n <- F(I)
    masks = nets["F"](x)
    # Eq. 5, drawing step: V^k <- G_k(M^k, z_k), already multiplied by M^k (tanh(.) ⊙ M^k)
    drawn = nets["G"](masks, z)
    # Eq. 5, assembling step, once per region: Î_k = G_k(M^k, z_k) + (1 - M^k) ⊙ I
    composites = redraw_all(x, masks, drawn).flatten(0, 1)
    return masks, drawn, composites


def train_step(nets: dict, opts: dict, x_gen, x_real, z, lambda_z: float) -> dict:
    """One step of Algorithm 1 on a batch ``x_gen`` to redraw, a batch ``x_real`` of real images
    and noise ``z`` (B,n,z_dim). ``nets``/``opts`` are keyed "F", "G", "D", "Z" (δ). Returns the
    three losses as floats."""
    F, G, D, Z = (nets[k] for k in "FGDZ")

    # --- GeneratorUpdate (Algorithm 1, lines 1-9): F, every G_k and δ ---------------------------
    for opt in opts.values():
        opt.zero_grad(set_to_none=True)
    masks, drawn, fakes = redraw(nets, x_gen, z)
    # Eq. 7, first term (hinge form, Eq. 4): L_G = -E[D(Î)]   (Algorithm 1, line 7)
    loss_g = hinge_g(D(fakes))
    # Eq. 7, second term: λ_z · mean((δ(Σ_k G_k(M^k, z_k)) - z)²)   (Algorithm 1, line 6)
    loss_z = z_loss(Z(assemble(drawn)), z, lambda_z)
    # Algorithm 1, lines 8-9: update F and the G_k with ∇(L_G + L_z), δ with ∇L_z (D is not stepped
    # here: its gradients from this pass are cleared before its own step)
    (loss_g + loss_z).backward()
    for k in "FGZ":
        opts[k].step()

    # --- DiscriminatorUpdate (Algorithm 1, lines 10-16): D alone ---------------------------------
    opts["D"].zero_grad(set_to_none=True)
    # Algorithm 1, line 14: Î from the F and G_k just updated (official code: same x, same z)
    with torch.no_grad():
        fakes = redraw(nets, x_gen, z)[2]
    # Eq. 4, D's hinge loss: L_D = E[max(0, 1 - D(I))] + E[max(0, 1 + D(Î))]   (line 15).
    # Each term is back-propagated right after its D call: the same gradient as one backward of
    # the sum, and spectral norm's power iteration in the second call then cannot overwrite what
    # the first call saved for its backward (which a torch.compile'd D would otherwise trip on).
    loss_real = hinge_d_real(D(x_real))
    loss_real.backward()
    loss_fake = hinge_d_fake(D(fakes))
    loss_fake.backward()
    # Algorithm 1, line 16
    opts["D"].step()
    return {
        "loss_g": loss_g.item(),
        "loss_z": loss_z.item(),
        "loss_d": (loss_real + loss_fake).item(),
    }
