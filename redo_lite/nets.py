r"""The four networks of ReDO, in one file you can read top to bottom.

Paper: Chen, Artières, Denoyer, "Unsupervised Object Segmentation by Redrawing", NeurIPS 2019,
https://arxiv.org/abs/1905.13539, §4 and the supplementary material. Official code:
github.com/mickaelChen/ReDO, ``models.py``; where the paper's text and that file differ, the file
is followed (it produced the paper's numbers), and the notes below say where.

* ``MaskNet`` — F, the mask network: image -> n soft masks that sum to 1 at every pixel (Eq. 2's
  composition step). A PSPNet-style encoder-decoder trained from scratch (paper §4).
* ``RegionGenerators`` — one generator G_k per region: (mask M^k, noise z_k) -> new pixels,
  already multiplied by M^k (Eq. 5's drawing step; ``tanh(.) * M^k`` in the official code).
* ``Discriminator`` — D: image -> one realness score (Eq. 4, hinge loss). SAGAN-style (paper §4).
* ``ZEncoder`` — δ: fully redrawn image -> all n noise vectors (Eq. 7, information conservation).

Sizes come from :class:`redo_lite.config.Config`; at ``flowers-paper`` they are the official
128 px networks (parameter counts checked in tests/test_nets.py; docs/faithful.md lists every
choice). Spectral norm is PyTorch's own (``torch.nn.utils.parametrizations.spectral_norm``) on every
conv of G_k, D and δ (paper §4: "for all networks except for the mask provider F"); orthogonal init
with gain 0.8 (paper, supplementary: "worked best when initialized with a gain at 0.8") is applied
to the raw weight *before* spectral norm wraps it, so that it really reaches those layers.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F_
from torch.nn.utils.parametrizations import spectral_norm

from .config import Config


# ---------------------------------------------------------------------------------------------
# Layer helpers: every conv / linear is orthogonally initialised where it is made.
# ---------------------------------------------------------------------------------------------
def conv(cin, cout, k, gain, stride=1, padding=None, bias=True, sn=False):
    layer = nn.Conv2d(cin, cout, k, stride, k // 2 if padding is None else padding, bias=bias)
    nn.init.orthogonal_(layer.weight, gain=gain)
    return spectral_norm(layer) if sn else layer


def linear(cin, cout, gain, sn=False):
    layer = nn.Linear(cin, cout)
    nn.init.orthogonal_(layer.weight, gain=gain)
    return spectral_norm(layer) if sn else layer


def upsample(x):
    return F_.interpolate(x, scale_factor=2, mode="nearest")


# ---------------------------------------------------------------------------------------------
# F: the mask network (PSPNet-style, trained from scratch, instance norm, no spectral norm)
# ---------------------------------------------------------------------------------------------
class ResBlock(nn.Module):
    """conv-IN-ReLU-conv, add the input, then IN-ReLU (post-activation, as the official F)."""

    def __init__(self, c, gain):
        super().__init__()
        self.body = nn.Sequential(
            conv(c, c, 3, gain, bias=False),
            nn.InstanceNorm2d(c, affine=True),
            nn.ReLU(),
            conv(c, c, 3, gain),
        )
        self.post = nn.Sequential(nn.InstanceNorm2d(c, affine=True), nn.ReLU())

    def forward(self, x):
        return self.post(x + self.body(x))


class PyramidPooling(nn.Module):
    """Pyramid Pooling Module: pool the features at several scales, squeeze each to one channel,
    upsample back and concatenate. It lets every pixel see the whole image (global context)."""

    def __init__(self, c, bins, gain):
        super().__init__()
        self.bins = tuple(bins)
        self.convs = nn.ModuleList(conv(c, 1, 1, gain) for _ in self.bins)

    def forward(self, x):
        size = x.shape[-1]
        outs = [x]
        for b, c in zip(self.bins, self.convs, strict=True):
            k = size // b  # official pools (32,16,10,5) on 32x32 features
            pooled = F_.avg_pool2d(x, k, k) if k > 1 else x
            outs.append(
                F_.interpolate(c(pooled), size=x.shape[-2:], mode="bilinear", align_corners=False)
            )
        return torch.cat(outs, 1)


class MaskNet(nn.Module):
    """F: image in [-1,1] -> n soft masks M^1..M^n in [0, 1] that sum to 1 at every pixel (paper
    §3.3: "F output soft masks in [0,1] instead of binary masks"). For n = 2 one logit l and the
    masks (σ(l/T), 1 - σ(l/T)); for n > 2 a softmax over n logits (official ``models.py``)."""

    def __init__(self, cfg: Config):
        super().__init__()
        g, c, n = cfg.init_gain, cfg.f_channels, cfg.regions
        widths = [c // 2 ** (cfg.f_downs - i) for i in range(cfg.f_downs + 1)]  # e.g. 16, 32, 64
        layers = [
            nn.ReflectionPad2d(3),
            conv(3, widths[0], 7, g, padding=0, bias=False),
            nn.InstanceNorm2d(widths[0], affine=True),
            nn.ReLU(),
        ]
        for a, b in zip(widths[:-1], widths[1:], strict=True):
            layers += [
                conv(a, b, 3, g, stride=2, bias=False),
                nn.InstanceNorm2d(b, affine=True),
                nn.ReLU(),
            ]
        layers += [ResBlock(c, g) for _ in range(cfg.f_res_blocks)]
        self.encoder = nn.Sequential(*layers)
        self.ppm = PyramidPooling(c, cfg.f_ppm_bins, g) if cfg.f_ppm_bins else nn.Identity()
        ch = c + len(cfg.f_ppm_bins)
        ups = []
        for _ in range(cfg.f_downs):  # 68 -> 34 -> 17
            ups += [
                nn.Upsample(scale_factor=2, mode="nearest"),
                conv(ch, ch // 2, 3, g, bias=False),
                nn.InstanceNorm2d(ch // 2, affine=True),
                nn.ReLU(),
            ]
            ch //= 2
        self.decoder = nn.Sequential(
            *ups, nn.ReflectionPad2d(3), conv(ch, 1 if n == 2 else n, 7, g, padding=0)
        )
        self.n, self.temperature = n, cfg.temperature

    def forward(self, x):
        logits = self.decoder(self.ppm(self.encoder(x))) / self.temperature
        if self.n == 2:
            # Eq. 2, composition step, n = 2: M^1 = σ(l/T), M^2 = 1 - M^1
            m = torch.sigmoid(logits)
            return torch.cat([m, 1 - m], 1)
        # Eq. 2, composition step: M^k = softmax_k(l/T), so that Σ_k M^k = 1 at every pixel
        return torch.softmax(logits, 1)


# ---------------------------------------------------------------------------------------------
# Self-attention (SAGAN), used by G and D when the config places it
# ---------------------------------------------------------------------------------------------
class SelfAttention(nn.Module):
    """SAGAN self-attention (paper §4: "in G_k and D to handle non-local relations"): x + γ·o,
    with queries at full resolution, keys and values max-pooled by 2, and γ initialised to 0 so
    the block starts as the identity."""

    def __init__(self, c, gain):
        super().__init__()
        self.q = conv(c, c // 8, 1, gain, bias=False, sn=True)
        self.k = conv(c, c // 8, 1, gain, bias=False, sn=True)
        self.v = conv(c, c // 2, 1, gain, bias=False, sn=True)
        self.o = conv(c // 2, c, 1, gain, bias=False, sn=True)
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, x):
        b, c, h, w = x.shape
        q = self.q(x).flatten(2)  # B, C/8, HW
        k = F_.max_pool2d(self.k(x), 2).flatten(2)  # B, C/8, HW/4
        v = F_.max_pool2d(self.v(x), 2).flatten(2)  # B, C/2, HW/4
        attn = torch.softmax(q.transpose(1, 2) @ k, dim=-1)  # B, HW, HW/4
        o = (v @ attn.transpose(1, 2)).view(b, c // 2, h, w)
        return x + self.gamma * self.o(o)


# ---------------------------------------------------------------------------------------------
# G_k: a region generator (SAGAN-style residual up-blocks, conditional instance norm, mask input)
# ---------------------------------------------------------------------------------------------
class CondInstanceNorm(nn.Module):
    """Conditional instance norm: IN(x)·γ(z) + β(z), with γ and β plain 1x1 convs on z (no "+1",
    no spectral norm). The paper (§4) says conditional *batch* norm; the official ``models.py``
    uses instance norm, followed here."""

    def __init__(self, c, z_dim, gain):
        super().__init__()
        self.norm = nn.InstanceNorm2d(c, affine=False)
        self.gamma = conv(z_dim, c, 1, gain)
        self.beta = conv(z_dim, c, 1, gain)

    def forward(self, x, z):  # z: B, z_dim, 1, 1
        # conditional norm (paper §4): IN(x) · γ(z_k) + β(z_k), z_k sets each region's style
        return self.norm(x) * self.gamma(z) + self.beta(z)


class GenBlock(nn.Module):
    """Residual up-block. The region's mask, average-pooled to this block's input size, is
    concatenated after the first conditional norm, before the upsample."""

    def __init__(self, cin, cout, z_dim, gain):
        super().__init__()
        self.n1, self.n2 = CondInstanceNorm(cin, z_dim, gain), CondInstanceNorm(cout, z_dim, gain)
        self.c1 = conv(cin + 1, cout, 3, gain, bias=False, sn=True)
        self.c2 = conv(cout, cout, 3, gain, sn=True)
        self.skip = conv(cin, cout, 1, gain, sn=True)

    def forward(self, x, m, z):
        mk = F_.adaptive_avg_pool2d(m, x.shape[-2:])
        h = self.c1(upsample(torch.cat([F_.relu(self.n1(x, z)), mk], 1)))
        h = self.c2(F_.relu(self.n2(h, z)))
        return h + self.skip(upsample(x))


class Generator(nn.Module):
    """One G_k: z -> dense 4x4 seed -> up-blocks (mask fed to each) -> RGB, times the mask."""

    def __init__(self, cfg: Config):
        super().__init__()
        g, ch, zd = cfg.init_gain, cfg.g_channels, cfg.z_dim
        mults = [2**i for i in range(cfg.g_blocks)][::-1]  # 16, 8, 4, 2, 1 at 128 px
        chans = [mults[0] * ch] + [m * ch for m in mults]  # 16ch,16ch,8ch,4ch,2ch,ch
        self.c0 = chans[0]
        self.dense = linear(zd, 4 * 4 * chans[0], g)
        self.blocks = nn.ModuleList(
            GenBlock(a, b, zd, g) for a, b in zip(chans[:-1], chans[1:], strict=True)
        )
        self.attn_index = None
        if cfg.g_attention_at:  # before the block whose input is that size (64 at 128 px)
            self.attn_index = (
                cfg.g_attention_at // 4
            ).bit_length() - 1  # input of block i: 4 * 2**i
            self.attn = SelfAttention(chans[self.attn_index], g)
        self.out_norm = CondInstanceNorm(ch, zd, g)
        self.out = conv(ch + 1, 3, 3, g, sn=True)

    def forward(self, m, z, seen=None):  # m: B,1,H,W  z: B,z_dim
        """``seen``: the mask the blocks are fed, when it is not ``m`` itself (``g_hard_input``)."""
        seen = m if seen is None else seen
        z = z[:, :, None, None]
        x = self.dense(z.flatten(1)).view(-1, self.c0, 4, 4)
        for i, block in enumerate(self.blocks):
            if i == self.attn_index:
                x = self.attn(x)
            x = block(x, seen, z)
        x = torch.cat([F_.relu(self.out_norm(x, z)), seen], 1)
        # Eq. 5, drawing step, masked once here: G_k(M^k, z_k) = tanh(·) ⊙ M^k
        return torch.tanh(self.out(x)) * m


def one_hot(masks: torch.Tensor) -> torch.Tensor:
    """The argmax of soft masks B,n,H,W as one-hot masks (no gradient)."""
    return F_.one_hot(masks.argmax(1), masks.shape[1]).permute(0, 3, 1, 2).to(masks.dtype)


class RegionGenerators(nn.Module):
    """n independent generators; region k gets mask channel k and its own z_k."""

    def __init__(self, cfg: Config):
        super().__init__()
        self.gens = nn.ModuleList(Generator(cfg) for _ in range(cfg.regions))
        self.z_dim, self.hard_input = cfg.z_dim, cfg.g_hard_input

    def forward(self, masks, z):  # masks: B,n,H,W  z: B,n,z_dim -> B,n,3,H,W
        # g_hard_input (not in the paper): the blocks see one-hot masks, so a generator cannot paint
        # by mask *level* (a soft mask of 0.7 on the background and 1.0 on a digit); the output is
        # still multiplied by the soft mask, which carries F's gradient
        seen = one_hot(masks.detach()) if self.hard_input else masks
        return torch.stack(
            [g(masks[:, k : k + 1], z[:, k], seen[:, k : k + 1]) for k, g in enumerate(self.gens)],
            1,
        )


# ---------------------------------------------------------------------------------------------
# D and delta: the same spectrally-normalised residual trunk, sum pooling, a linear head
# ---------------------------------------------------------------------------------------------
class DiscBlock(nn.Module):
    """ReLU-conv-ReLU-conv (-avgpool), plus a shortcut (avgpool then 1x1 conv when the shape
    changes). The first block has no leading ReLU (it sees the image)."""

    def __init__(self, cin, cout, gain, down=True, first=False):
        super().__init__()
        self.first, self.down = first, down
        self.c1 = conv(cin, cout, 3, gain, sn=True)
        self.c2 = conv(cout, cout, 3, gain, sn=True)
        self.skip = conv(cin, cout, 1, gain, sn=True) if (cin != cout or down) else None

    def forward(self, x):
        h = x if self.first else F_.relu(x)
        h = self.c2(F_.relu(self.c1(h)))
        if self.down:
            h, x = F_.avg_pool2d(h, 2), F_.avg_pool2d(x, 2)
        return h + (self.skip(x) if self.skip is not None else x)


class Trunk(nn.Module):
    """size -> 4x4 in residual down-blocks (channels c, 2c, 4c, ...), one more block at 4x4,
    then sum over H and W — no ReLU before the pooling."""

    def __init__(self, cfg: Config, attention_at: int):
        super().__init__()
        g, c = cfg.init_gain, cfg.d_channels
        n_down = cfg.g_blocks  # 128 -> 4: five blocks
        chans = [c * 2**i for i in range(n_down)]  # 64 ... 1024 at 128 px
        layers, res = [DiscBlock(3, chans[0], g, first=True)], cfg.size // 2
        if attention_at == res:
            layers.append(SelfAttention(chans[0], g))
        for a, b in zip(chans[:-1], chans[1:], strict=True):
            layers.append(DiscBlock(a, b, g))
            res //= 2
            if attention_at == res:
                layers.append(SelfAttention(b, g))
        layers.append(DiscBlock(chans[-1], chans[-1], g, down=False))
        self.body = nn.Sequential(*layers)
        self.out_channels = chans[-1]

    def forward(self, x):
        return self.body(x).sum(dim=(2, 3))


class Discriminator(nn.Module):
    """D: image -> one score per image (the final linear layer is not spectrally normalised)."""

    def __init__(self, cfg: Config):
        super().__init__()
        self.trunk = Trunk(cfg, cfg.d_attention_at)
        self.head = linear(self.trunk.out_channels, 1, cfg.init_gain)

    def forward(self, x):
        # D(I): one unbounded score per image, fed to the hinge losses of Eq. 4
        return self.head(self.trunk(x)).squeeze(1)


class ZEncoder(nn.Module):
    """δ: the fully generated image Σ_k G_k(M^k, z_k) -> all n codes. One trunk for every region
    and one linear head for all of them (paper §4: "All parameters of the different δ_k functions
    are shared except for their last layers"). The official code feeds it the fully generated
    image rather than the composite of Algorithm 1, followed here."""

    def __init__(self, cfg: Config):
        super().__init__()
        self.trunk = Trunk(cfg, attention_at=0)  # no attention (official)
        self.head = linear(self.trunk.out_channels, cfg.regions * cfg.z_dim, cfg.init_gain)
        self.n, self.z_dim = cfg.regions, cfg.z_dim

    def forward(self, x):
        # δ(Σ_k G_k(M^k, z_k)) ≈ (z_1, ..., z_n), the prediction Eq. 7's L_z compares with z
        return self.head(self.trunk(x)).view(-1, self.n, self.z_dim)


def build_nets(cfg: Config) -> dict[str, nn.Module]:
    """The four networks, freshly initialised, keyed as they are saved in checkpoints."""
    return {
        "F": MaskNet(cfg),
        "G": RegionGenerators(cfg),
        "D": Discriminator(cfg),
        "Z": ZEncoder(cfg),
    }


def count_parameters(nets: dict[str, nn.Module]) -> dict[str, int]:
    return {k: sum(p.numel() for p in v.parameters()) for k, v in nets.items()}
