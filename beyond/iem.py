r"""IEM: segmentation by Inpainting Error Maximisation, learning-free, next to ReDO.

Savarese, Kim, Maire, Shakhnarovich, McAllester, "Information-Theoretic Segmentation by
Inpainting Error Maximization", CVPR 2021, https://arxiv.org/abs/2012.07287.

ReDO calls a region an object when it can be *redrawn* on its own and the image still looks real.
IEM turns the idea around: a region is an object when the *rest of the image cannot predict it*.
The two sides of a good object/background split are hard to guess from each other; move the
boundary into the object and the background's inpainter sees object pixels next door and guesses
the lost ones well.

Nothing is learned. The inpainter is fixed: a Gaussian blur that averages only the known pixels
(normalised convolution),

.. math::  \phi(X, \bar M) = \frac{K_\sigma * (\bar M \odot X)}{K_\sigma * \bar M}

and each image's label map is improved greedily, on its own, for a fixed number of iterations:

1. masks :math:`M_k` (one-hot, k = 1..n) from the label map; the objective is the inpainting error
   of every region predicted from all the others, each normalised by the region's area, minus a
   small penalty on the colour spread inside the regions (the paper's regulariser),

   .. math::  \mathcal L(M) = \sum_k \frac{\lVert M_k \odot (X - \phi(X, 1 - M_k)) \rVert_1}
              {\lVert M_k \rVert_1} \;-\; \lambda \sum_k \lVert M_k \odot (X - \mu_k) \rVert_2^2

2. its gradient with respect to the masks says, for every pixel, which region gains most from it
   (moving pixel p from region a to b changes :math:`\mathcal L` by about
   :math:`g_{b,p} - g_{a,p}`); a pixel on a boundary moves to the neighbouring region with the
   largest gain, when that gain is positive;
3. a 3x3 majority vote smooths the label map (each pixel takes the label most of its 3x3
   neighbourhood holds; a tie keeps the pixel's own label).

The paper's recipe at 128 px: 150 iterations, sigma 5, lambda 0.001, the start a centred square
(margin size/5). ``iem`` scales it to the image: iterations and sigma with the side (the boundary
moves one pixel an iteration), lambda inversely with the pixel count (the spread is a sum over
pixels, the errors are means: at 32 px the paper's balance needs 16 times the lambda).

For n = 2 this is the paper's algorithm, with three small differences: its smoothing keeps a
pixel in the object when 4 of its 9 neighbours are (the majority here treats the regions alike,
which n > 2 needs); its inpainter is a sigma-5 blur applied twice with an 11-tap kernel (here one
blur, kernel +-2 sigma); it keeps far pixels defined with a 1e-8 epsilon (here the known pixels'
mean colour with weight ``prior``, which also keeps the gradient bounded). For n > 2 the objective
is the paper's general form (each region inpainted from the union of the others) and the start is
the centred square cut into n - 1 vertical strips, one per object region.

Images B,3,H,W in [-1, 1] -> label maps B,H,W, as in :mod:`beyond.baselines`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F_
from torchvision.transforms.functional import gaussian_blur


def blur_matrix(n: int, sigma: float, device=None) -> torch.Tensor:
    """The n x n matrix of a 1-D Gaussian blur (kernel +-2 sigma, reflected at the border): the blur
    of each column of the identity, by torchvision's ``gaussian_blur``."""
    k = 2 * min(max(1, round(2 * sigma)), n - 1) + 1
    return gaussian_blur(torch.eye(n, device=device)[None], [1, k], [sigma, sigma])[0]


def blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian blur of every channel of x (...,H,W). A blur is linear and separable, so it is
    two matrix products, A_H X A_W^T: the same result as ``gaussian_blur(x)``, ten times faster
    on a CPU than its grouped convolution."""
    h, w = x.shape[-2:]
    return blur_matrix(h, sigma, x.device) @ x @ blur_matrix(w, sigma, x.device).T


def inpaint(
    x: torch.Tensor, known: torch.Tensor, sigma: float, prior: float = 1e-2
) -> torch.Tensor:
    """The fixed inpainter phi: predict every pixel from the known pixels around it.

    x: B,C,H,W images; known: B,n,H,W, one map per region (1 where a pixel may be used).
    Returns B,n,C,H,W: for each map, a blur of the known pixels divided by the blur of the map, so
    unknown pixels count for nothing. ``prior`` adds the mean colour of the known pixels with that
    weight: a pixel with no known pixel in reach is predicted as that mean, and the ratio's
    gradient stays bounded where the blurred map is nearly 0."""
    xk = x[:, None] * known[:, :, None]  # M_bar . X: B, n, C, H, W
    mean = xk.sum((3, 4), keepdim=True) / known.sum((2, 3))[..., None, None, None].clamp(min=1)
    # phi(X, M_bar) = (K * (M_bar . X) + prior mean) / (K * M_bar + prior)
    num = blur(xk, sigma) + prior * mean
    den = blur(known, sigma)[:, :, None] + prior
    return num / den


def inpainting_error(x: torch.Tensor, masks: torch.Tensor, sigma: float) -> torch.Tensor:
    """IEM's objective: how badly each region is predicted from the rest of the image.

    x: B,C,H,W images in [0, 1]; masks: B,n,H,W (one-hot over n). Returns B values:
    sum over regions k of ( L1 error of phi(X, 1 - M_k) inside M_k, mean over channels )
    divided by the area of M_k."""
    # 1. the pixels each region is inpainted from: every pixel outside it
    known = 1 - masks
    # 2. phi(X, 1 - M_k) for every region k: B, n, C, H, W
    pred = inpaint(x, known, sigma)
    # 3. the L1 error at every pixel, mean over the colour channels: B, n, H, W
    err = (x[:, None] - pred).abs().mean(2)
    # 4. each region's error, counted inside the region only, over the region's area
    area = masks.sum((2, 3)).clamp(min=1)  # B, n (an empty region counts as one pixel)
    per_region = (masks * err).sum((2, 3)) / area
    # 5. one value per image
    return per_region.sum(1)


def colour_spread(x: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """The paper's regulariser: sum_k || M_k . (X - mu_k) ||_2^2, mu_k the mean colour of region k.
    x: B,C,H,W; masks: B,n,H,W. Returns B values."""
    area = masks.sum((2, 3)).clamp(min=1)[:, :, None]  # B, n, 1
    mu = torch.einsum("bnhw,bchw->bnc", masks, x) / area  # B, n, C
    sq = ((x[:, None] - mu[..., None, None]) ** 2).sum(2)  # B, n, H, W
    return (masks * sq).sum((1, 2, 3))


def start_labels(b: int, h: int, w: int, regions: int, device=None) -> torch.Tensor:
    """The paper's start: a centred square (margin size/5) is the object. With n > 2 regions the
    square is cut into n - 1 vertical strips, labels 1..n-1."""
    labels = torch.zeros(b, h, w, dtype=torch.long, device=device)
    top, left = h // 5, w // 5
    cols = torch.arange(w - 2 * left, device=device)
    strips = 1 + cols * (regions - 1) // len(cols)  # 1..n-1 across the square
    labels[:, top : h - top, left : w - left] = strips
    return labels


def neighbours(masks: torch.Tensor) -> torch.Tensor:
    """How many pixels of each region every 3x3 neighbourhood holds (pixels outside the image
    count for nothing). masks: B,n,H,W one-hot -> B,n,H,W counts. A 3x3 sum is separable too:
    two products with a tridiagonal matrix of ones."""
    h, w = masks.shape[-2:]
    i, j = torch.arange(h, device=masks.device), torch.arange(w, device=masks.device)
    band = lambda a: ((a[:, None] - a).abs() <= 1).float()  # noqa: E731
    return band(i) @ masks @ band(j)


def majority(labels: torch.Tensor, regions: int) -> torch.Tensor:
    """3x3 majority vote: each pixel takes the label most of its neighbourhood holds; a tie keeps
    the pixel's own label."""
    onehot = F_.one_hot(labels, regions).permute(0, 3, 1, 2).float()
    return (neighbours(onehot) + 0.5 * onehot).max(1).indices  # +0.5 breaks ties, nothing else


def greedy_step(
    x: torch.Tensor,
    labels: torch.Tensor,
    regions: int,
    sigma: float,
    lam: float,
    error_fn=inpainting_error,
) -> torch.Tensor:
    """One IEM update of label maps B,H,W: every boundary pixel moves to the neighbouring region
    whose objective gains most from it (by the gradient), if that gain is positive."""
    masks = F_.one_hot(labels, regions).permute(0, 3, 1, 2).float().requires_grad_()
    error = error_fn(x, masks, sigma)
    if error.shape != labels.shape[:1]:
        raise ValueError(
            f"{getattr(error_fn, '__name__', 'error_fn')} must return one value per image "
            f"({labels.shape[0]},), got {tuple(error.shape)}"
        )
    # L(M) = sum_k ||M_k.(X - phi(X, 1 - M_k))||_1 / ||M_k||_1  -  lambda sum_k ||M_k.(X - mu_k)||^2
    objective = error - lam * colour_spread(x, masks)
    (g,) = torch.autograd.grad(objective.sum(), masks)  # B, n, H, W
    # a pixel may only join a region present in its 3x3 neighbourhood (its own included)
    g = g.masked_fill(neighbours(masks.detach()) == 0, float("-inf"))
    best = g.max(1)
    gain = best.values - g.gather(1, labels[:, None])[:, 0]
    # a gain under 1e-4 / pixels is float rounding (a flat 32 px image shows 3e-10), not a signal
    return torch.where(gain > 1e-4 / labels[0].numel(), best.indices, labels)


def iem(
    images: torch.Tensor,
    regions: int = 2,
    iters: int | None = None,
    sigma: float | None = None,
    lam: float | None = None,
    smooth: bool = True,
    error_fn=inpainting_error,
    history: list | None = None,
) -> torch.Tensor:
    """Segment images B,3,H,W in [-1, 1] into label maps B,H,W (0..regions-1) with IEM.

    Defaults: the paper's recipe at 128 px, scaled to the image: ``iters`` 150 * H/128, ``sigma``
    5 * H/128, ``lam`` 0.001 * 128^2/(H*W). ``smooth``: the 3x3 majority vote after each update
    (it erases strokes one or two pixels wide). ``error_fn``: the objective, ``inpainting_error``
    or a replacement with its signature. Stops early when no label changes. ``history``, if given,
    receives the label maps after every iteration."""
    if images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f"images must be B,3,H,W, got {tuple(images.shape)}")
    if regions < 2:
        raise ValueError(f"regions must be at least 2, got {regions}")
    b, _, h, w = images.shape
    iters = round(150 * h / 128) if iters is None else iters
    sigma = 5 * h / 128 if sigma is None else sigma
    lam = 1e-3 * 128**2 / (h * w) if lam is None else lam
    x = (images.clamp(-1, 1) + 1) / 2  # the paper's pixel scale, [0, 1]
    labels = majority(start_labels(b, h, w, regions, images.device), regions)
    for _ in range(iters):
        new = greedy_step(x, labels, regions, sigma, lam, error_fn)
        new = majority(new, regions) if smooth else new
        if history is not None:
            history.append(new)
        if torch.equal(new, labels):
            break
        labels = new
    return labels
