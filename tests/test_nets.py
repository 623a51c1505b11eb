import torch
from conftest import tiny_config

from redo_lite.config import PRESETS, get_preset
from redo_lite.nets import (
    Discriminator,
    MaskNet,
    RegionGenerators,
    ZEncoder,
    build_nets,
    count_parameters,
)


def test_shapes_every_network():
    for cfg in (
        tiny_config(),
        get_preset("c2mnist-cpu"),
        tiny_config(size=32, regions=2, g_attention_at=16, d_attention_at=8),
    ):
        x = torch.randn(2, 3, cfg.size, cfg.size)
        m = MaskNet(cfg)(x)
        assert m.shape == (2, cfg.regions, cfg.size, cfg.size)
        torch.testing.assert_close(m.sum(1), torch.ones(2, cfg.size, cfg.size))
        assert (m >= 0).all()
        z = torch.randn(2, cfg.regions, cfg.z_dim)
        g = RegionGenerators(cfg)(m, z)
        assert g.shape == (2, cfg.regions, 3, cfg.size, cfg.size)
        assert Discriminator(cfg)(x).shape == (2,)
        assert ZEncoder(cfg)(x).shape == (2, cfg.regions, cfg.z_dim)


def test_two_regions_are_complements():
    cfg = tiny_config(regions=2)
    m = MaskNet(cfg)(torch.randn(2, 3, 16, 16))
    torch.testing.assert_close(m[:, 1], 1 - m[:, 0])


def test_generator_output_is_zero_outside_its_mask_and_bounded():
    cfg = tiny_config()
    masks = torch.zeros(2, 3, 16, 16)
    masks[:, 0, :8], masks[:, 1, 8:, :8], masks[:, 2, 8:, 8:] = 1, 1, 1
    g = RegionGenerators(cfg)(masks, torch.randn(2, 3, cfg.z_dim))
    assert g.abs().max() <= 1
    assert (g[:, 0, :, 8:] == 0).all() and (g[:, 1, :, :8] == 0).all()
    assert g[:, 0, :, :8].abs().sum() > 0


def test_generator_depends_on_z():
    cfg = tiny_config()
    G = RegionGenerators(cfg)
    m = torch.full((1, 3, 16, 16), 1 / 3)
    z = torch.randn(1, 3, cfg.z_dim)
    a, b = G(m, z), G(m, z + 1)
    assert not torch.allclose(a, b)


def test_hard_input_generators_cannot_paint_by_mask_level():
    """Two soft masks with the same argmax but other levels: with g_hard_input the generators
    paint the same picture (tanh part) and only the final product with the soft mask differs."""
    torch.manual_seed(0)
    logits = torch.randn(2, 3, 16, 16)
    soft, softer = torch.softmax(logits, 1), torch.softmax(logits / 3, 1)
    assert torch.equal(soft.argmax(1), softer.argmax(1))
    z = torch.randn(2, 3, 4)
    hard = RegionGenerators(tiny_config(g_hard_input=True)).eval()
    torch.testing.assert_close(
        hard(soft, z) / soft[:, :, None], hard(softer, z) / softer[:, :, None]
    )
    plain = RegionGenerators(tiny_config()).eval()
    assert not torch.allclose(
        plain(soft, z) / soft[:, :, None], plain(softer, z) / softer[:, :, None], atol=1e-3
    )


def test_spectral_norm_bounds_largest_singular_value():
    cfg = tiny_config()
    D = Discriminator(cfg)
    x = torch.randn(4, 3, 16, 16)
    for _ in range(20):  # power iterations converge in train mode
        D(x)
    D.eval()
    checked = 0
    for mod in D.modules():
        if isinstance(mod, torch.nn.Conv2d) and hasattr(mod, "parametrizations"):
            w = mod.weight.detach().flatten(1)
            assert torch.linalg.matrix_norm(w, ord=2) <= 1.0 + 1e-3
            assert (
                torch.linalg.matrix_norm(
                    mod.parametrizations.weight.original.detach().flatten(1), ord=2
                )
                > 0
            )
            checked += 1
    assert checked >= 6


def test_orthogonal_init_reaches_spectrally_normalised_weights():
    cfg = tiny_config(init_gain=0.8)
    D = Discriminator(cfg)
    for mod in D.modules():
        if isinstance(mod, torch.nn.Conv2d) and hasattr(mod, "parametrizations"):
            w = mod.parametrizations.weight.original.detach().flatten(1)
            s = torch.linalg.svdvals(w)
            torch.testing.assert_close(
                s, torch.full_like(s, 0.8), atol=1e-4, rtol=0
            )  # orthogonal x 0.8


def test_spectral_norm_is_only_where_the_paper_puts_it():
    nets = build_nets(tiny_config())

    def sn(m):
        return any(hasattr(x, "parametrizations") for x in m.modules())

    assert not sn(nets["F"])  # F: weight decay instead
    assert sn(nets["G"]) and sn(nets["D"]) and sn(nets["Z"])
    assert not hasattr(nets["D"].head, "parametrizations")  # final linear layers are not SN
    assert not hasattr(nets["Z"].head, "parametrizations")


def test_ppm_can_be_switched_off():
    cfg = tiny_config(f_ppm_bins=())
    assert MaskNet(cfg)(torch.randn(1, 3, 16, 16)).shape == (1, 3, 16, 16)


def test_flowers_paper_matches_the_official_parameter_counts():
    # The official code's networks at Flowers' settings: F 0.275 M, G 15.9 M (2 regions, ch=32),
    # D 38.4 M, delta 38.5 M.
    counts = count_parameters(build_nets(get_preset("flowers-paper")))
    assert round(counts["F"] / 1e6, 3) == 0.275
    assert round(counts["G"] / 1e6, 1) == 15.9
    assert round(counts["D"] / 1e6, 1) == 38.4
    assert round(counts["Z"] / 1e6, 1) == 38.5


def test_describe_prints_the_reference_counts_for_lfw_paper():
    import json
    import subprocess
    import sys

    # The official code at LFW's settings: G 61.9 M at ch=64 (2 regions); D, delta, F as for Flowers
    out = json.loads(
        subprocess.run(
            [sys.executable, "-m", "redo_lite", "describe", "--preset", "lfw-paper"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )["parameters"]
    assert round(out["G"] / 1e6, 1) == 61.9 and round(out["D"] / 1e6, 1) == 38.4
    assert round(out["Z"] / 1e6, 1) == 38.5 and round(out["F"] / 1e6, 3) == 0.275


def test_cub_paper_has_the_flowers_architecture():
    def arch(c):
        skip = ("preset", "eval_images", "lambda_z")
        return {k: v for k, v in c.to_dict().items() if k not in skip}

    assert arch(get_preset("cub-paper")) == arch(get_preset("flowers-paper"))
    assert get_preset("lfw-paper").lambda_z == 15.0 and get_preset("flowers-paper").lambda_z == 5.0


def test_presets_round_trip():
    for name in PRESETS:
        cfg = get_preset(name)
        assert type(cfg).from_dict(cfg.to_dict()) == cfg
