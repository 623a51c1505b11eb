import torch

from redo_lite.losses import hinge_d, hinge_g, z_loss
from redo_lite.process import assemble, compose, redraw_all, redraw_region


def test_compose_is_the_masked_sum():
    masks = torch.tensor([[[[1.0, 0.25]], [[0.0, 0.75]]]])  # B=1, n=2, H=1, W=2
    layers = torch.stack([torch.full((1, 3, 1, 2), 2.0), torch.full((1, 3, 1, 2), -1.0)], 1)
    out = compose(masks, layers)
    torch.testing.assert_close(out[0, :, 0], torch.tensor([[2.0, 0.5 - 0.75]] * 3))


def test_redraw_keeps_input_pixels_outside_the_region():
    torch.manual_seed(0)
    image = torch.rand(2, 3, 8, 8) * 2 - 1
    masks = torch.zeros(2, 3, 8, 8)
    masks[:, 0, :4], masks[:, 1, 4:, :4], masks[:, 2, 4:, 4:] = 1, 1, 1
    drawn = torch.rand(2, 3, 3, 8, 8) * masks[:, :, None]  # generators multiply by their mask
    out = redraw_all(image, masks, drawn)
    for k in range(3):
        outside = masks[:, k : k + 1].expand(-1, 3, -1, -1) == 0
        assert torch.equal(out[:, k][outside], image[outside])
        inside = ~outside
        assert torch.equal(out[:, k][inside], drawn[:, k][inside])
        torch.testing.assert_close(
            redraw_region(image, masks[:, k : k + 1], drawn[:, k]), out[:, k]
        )


def test_assemble_has_no_real_pixels():
    drawn = torch.randn(2, 3, 3, 4, 4)
    torch.testing.assert_close(assemble(drawn), drawn[:, 0] + drawn[:, 1] + drawn[:, 2])


def test_hinge_losses_on_hand_computed_values():
    real = torch.tensor([2.0, 0.5, -1.0])  # relu(1 - r) = 0, 0.5, 2   -> mean 2.5/3
    fake = torch.tensor([-2.0, 0.0, 1.0, -0.5])  # relu(1 + f) = 0, 1, 2, 0.5 -> mean 3.5/4
    torch.testing.assert_close(hinge_d(real, fake), torch.tensor(2.5 / 3 + 3.5 / 4))
    torch.testing.assert_close(hinge_g(fake), torch.tensor(0.375))


def test_z_loss_is_lambda_times_the_mean_square():
    z = torch.zeros(2, 3, 4)
    pred = torch.ones(2, 3, 4)
    pred[0, 0, 0] = 3.0  # squares: 23 ones and one 9 -> mean 32/24
    torch.testing.assert_close(z_loss(pred, z, 5.0), torch.tensor(5.0 * 32 / 24))
