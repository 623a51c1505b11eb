r"""The joint bilateral filter (Tomasi and Manduchi 1998; joint: Kopf et al. 2007), the one piece of
image processing outside the paper that the package uses: ``segment`` enlarges F's masks with it
(``guided_upsample``) and self-training filters F's masks with it (``colour_filter``, in
``beyond.selftrain``). A pixel takes the masks of its neighbours that look like it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F_


@torch.no_grad()
def bilateral_weight(space, colour, sigma_space: float, sigma_colour: float) -> torch.Tensor:
    """The joint bilateral filter's weight of a neighbour q for a pixel p, from their squared
    distance in pixels and in colour: exp(-|p - q|² / 2σ_s²) · (exp(-|I(p) - I(q)|² / 2σ_c²) + ε).
    ε keeps a plain spatial blend where no neighbour's colour is close."""
    return torch.exp(-space / (2 * sigma_space**2)) * (
        torch.exp(-colour / (2 * sigma_colour**2)) + 1e-6
    )


def guided_upsample(
    soft: torch.Tensor,
    small: torch.Tensor,
    big: torch.Tensor,
    radius: int = 2,
    sigma_space: float = 1.0,
    sigma_colour: float = 0.1,
    rows: int = 64,
) -> torch.Tensor:
    r"""Joint bilateral upsampling (Kopf et al., 2007): soft masks (n,h,w) of the small image
    (3,h,w) to the size of the big one (3,H,W), both in [0, 1], guided by the big image's colours.

    :math:`\tilde m(p) = \frac{1}{k_p}\sum_{q} m(q)\, e^{-\|p_\downarrow - q\|^2 / 2\sigma_s^2}
    \,(e^{-\|I(p) - I_\downarrow(q)\|^2 / 2\sigma_c^2} + \epsilon)`, over the small image's pixels q
    within ``radius`` of p's place :math:`p_\downarrow` in it (distances in small pixels). A pixel
    takes the masks of the nearby small pixels that look like it, so an edge lands where the big
    image has it, not on the small image's grid. :math:`\epsilon` keeps a plain spatial blend
    where no neighbour's colour is close."""
    n, h, w = soft.shape
    H, W = big.shape[1:]
    # padded once; each tile reads the neighbours of its own pixels only
    soft_p = F_.pad(soft[None], (radius,) * 4, mode="replicate")[0]
    small_p = F_.pad(small[None], (radius,) * 4, mode="replicate")[0]
    ys = (torch.arange(H) + 0.5) * h / H - 0.5  # p's place in the small image (pixel centres)
    xs = (torch.arange(W) + 0.5) * w / W - 0.5
    iy, ix = ys.round().clamp(0, h - 1).long(), xs.round().clamp(0, w - 1).long()
    cols = max(1, rows * 256 // min(H, rows))  # a tile of about rows x 256 pixels
    out = torch.empty(n, H, W)
    for r0 in range(0, H, rows):  # a tile at a time: memory bounded whatever the image's shape
        r = slice(r0, min(H, r0 + rows))
        for c0 in range(0, W, cols):
            c = slice(c0, min(W, c0 + cols))
            num, den = 0.0, 0.0
            for dy in range(-radius, radius + 1):  # the small pixels q near p's place
                qy = iy[r] + dy
                for dx in range(-radius, radius + 1):
                    qx = ix[c] + dx
                    m = soft_p[:, qy + radius][:, :, qx + radius]  # n, rows, cols
                    col = small_p[:, qy + radius][:, :, qx + radius]  # 3, rows, cols
                    space = (qy - ys[r])[:, None] ** 2 + (qx - xs[c])[None] ** 2
                    colour = ((col - big[:, r, c]) ** 2).sum(0)
                    weight = bilateral_weight(space, colour, sigma_space, sigma_colour)
                    num, den = num + m * weight, den + weight
            out[:, r, c] = num / den
    return out


@torch.no_grad()
def colour_filter(
    soft: torch.Tensor,
    rgb: torch.Tensor,
    passes: int = 1,
    radius: int = 2,
    sigma_space: float = 1.0,
    sigma_colour: float = 0.1,
) -> torch.Tensor:
    r"""The joint bilateral filter of ``guided_upsample`` at the image's own size, for a batch
    (soft masks B,n,H,W; colours B,3,H,W in [0, 1]), applied ``passes`` times. One pass moves an
    edge by at most ``radius`` pixels; repeated, the masks spread through each area of like colour
    and stop at colour edges (a dense CRF's mean-field steps do the same, Krähenbühl and Koltun
    2011). The weights depend on the colours only, so they are computed once."""
    b, n, h, w = soft.shape
    k = 2 * radius + 1

    def unfold(t):  # B,C,H,W -> B,C,k*k,H,W: each pixel's neighbourhood
        t = F_.pad(t, (radius,) * 4, mode="replicate")
        return F_.unfold(t, k).view(b, -1, k * k, h, w)

    d = torch.arange(-radius, radius + 1).float()
    space = (d.repeat_interleave(k) ** 2 + d.repeat(k) ** 2).view(k * k, 1, 1)
    colour = ((unfold(rgb) - rgb[:, :, None]) ** 2).sum(1)  # B,k*k,H,W
    # w(p, q) = exp(-|p - q|² / 2σ_s²) · (exp(-|I(p) - I(q)|² / 2σ_c²) + ε)
    weight = bilateral_weight(space, colour, sigma_space, sigma_colour)
    weight = (weight / weight.sum(1, keepdim=True))[:, None]  # B,1,k*k,H,W, summing to 1
    out = soft.float()
    for _ in range(passes):
        # M~(p) = Σ_q w(p, q) M(q) / Σ_q w(p, q)
        out = (unfold(out) * weight).sum(2)
    return out
