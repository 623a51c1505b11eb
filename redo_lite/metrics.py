r"""Pixel accuracy and IoU under the best permutation of predicted regions.

ReDO is unsupervised: nothing says which predicted region is "the flower" or "the odd digit", so
every score is taken under the assignment of predicted regions to ground-truth regions that
matches best. Two conventions, both reported:

* **per image** (the official code): each image picks its own best permutation, separately for
  accuracy and for IoU. Lenient.
* **one permutation for the split** (the TF2 reproduction): a single assignment for all images,
  the one with the highest mean IoU (for ``acc_split``, the one with the highest accuracy).
  Strict: the regions must mean the same thing everywhere.

Label 0 of a ground-truth map is the background; ``iou`` is the mean IoU over the object regions
(labels 1..n-1). For n=2 that is the foreground IoU the paper reports; for colored-2-MNIST it is
the mean over the two digits. A region whose union is empty in an image is left out of that
image's mean.
"""

from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F_


def overlap_counts(pred: torch.Tensor, gt: torch.Tensor, n: int) -> torch.Tensor:
    """inter[b, p, g] = number of pixels predicted p with ground truth g. pred, gt: B,H,W ints."""
    p = F_.one_hot(pred.flatten(1).long(), n).float()  # B, HW, n
    g = F_.one_hot(gt.flatten(1).long(), n).float()
    return p.transpose(1, 2) @ g  # B, n, n


def permutation_tables(pred: torch.Tensor, gt: torch.Tensor, n: int):
    """For every permutation perm (perm[g] = predicted region assigned to GT region g):
    accuracy (B, P) and per-GT-region IoU (B, P, n; NaN where the union is empty)."""
    if pred.shape != gt.shape:
        raise ValueError(
            f"prediction {tuple(pred.shape)} and ground truth {tuple(gt.shape)} differ in shape"
        )
    inter = overlap_counts(pred, gt, n)
    area_p, area_g = inter.sum(2), inter.sum(1)  # B, n (pred areas), B, n (gt areas)
    perms = list(itertools.permutations(range(n)))
    idx = torch.tensor(perms)  # P, n
    g_idx = torch.arange(n).expand_as(idx)
    i = inter[:, idx, g_idx]  # B, P, n
    union = area_p[:, idx] + area_g[:, None, :] - i
    iou = torch.where(union > 0, i / union.clamp(min=1), torch.full_like(i, float("nan")))
    acc = i.sum(2) / pred[0].numel()
    return perms, acc, iou


def score(pred: torch.Tensor, gt: torch.Tensor, n: int) -> dict:
    """Accuracy and object IoU of predicted label maps against ground-truth label maps."""
    perms, acc, iou = permutation_tables(pred, gt, n)
    obj = iou[:, :, 1:].nanmean(2)  # B, P: mean IoU over object regions
    obj_filled = torch.nan_to_num(obj, nan=-1.0)
    best_iou = obj_filled.argmax(1)
    per_image_iou = obj.gather(1, best_iou[:, None]).squeeze(1)
    split_p = torch.nan_to_num(obj, nan=0.0).mean(0).argmax().item()
    return {
        "images": int(pred.shape[0]),
        "acc": acc.max(1).values.mean().item(),
        "iou": per_image_iou.nanmean().item(),
        "acc_split": acc.mean(0).max().item(),  # its own best permutation, as per image
        "iou_split": obj[:, split_p].nanmean().item(),
        "iou_split_regions": iou[:, split_p].nanmean(0).tolist(),
        "permutation": list(perms[split_p]),
        "per_image_iou": per_image_iou.tolist(),
    }


def rename_to_truth(pred: torch.Tensor, gt: torch.Tensor, n: int) -> torch.Tensor:
    """Predicted label maps renamed with each image's own best permutation (by object IoU, as
    ``score`` chooses it), so that label g means the truth's region g: for pictures that compare
    colours. pred, gt: B,H,W ints -> B,H,W."""
    perms, _, iou = permutation_tables(pred, gt, n)
    best = iou[:, :, 1:].nanmean(2).nan_to_num(-1).argmax(1)  # B
    # perm[g] = predicted region given to true region g; its inverse maps a prediction to g
    inverse = torch.tensor([[p.index(k) for k in range(n)] for p in perms])  # P, n
    return inverse[best].gather(1, pred.flatten(1).long()).view_as(pred)


def region_areas(pred: torch.Tensor, n: int) -> torch.Tensor:
    """Share of pixels each predicted region wins after argmax (n,). A region that keeps a faint
    soft mask but wins almost no pixel is a collapse the soft area does not show."""
    return torch.bincount(pred.flatten().long(), minlength=n).float() / pred.numel()
