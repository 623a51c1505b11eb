import torch

from redo_lite.losses import area_floor_loss, hinge_d, hinge_g, z_loss
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


def test_area_floor_counts_a_faint_tint_as_no_pixels_and_pushes_it_back():
    # region 2 holds a tenth of the soft mask everywhere (a tint) but wins no pixel after argmax
    masks = torch.zeros(2, 3, 8, 8)
    masks[:, 0, :, :4], masks[:, 1, :, :4] = 0.8, 0.1
    masks[:, 0, :, 4:], masks[:, 1, :, 4:] = 0.1, 0.8
    masks[:, 2] = 0.1
    masks.requires_grad_(True)
    loss = area_floor_loss(masks, floor=0.05, weight=10.0)
    # regions 0 and 1 win half the pixels each; region 2 about nothing: 10 * (0.05 - ~0)
    assert abs(loss.item() - 0.5) < 1e-3
    loss.backward()
    # descending the loss raises region 2's mask (the gradient on it is negative) ...
    assert (masks.grad[:, 2] < 0).all()
    # ... and a split that gives every region its floor costs nothing
    fair = torch.full((2, 3, 8, 8), 1 / 3)
    fair[:, 0, :3], fair[:, 1, 3:6], fair[:, 2, 6:] = 0.9, 0.9, 0.9
    assert area_floor_loss(fair / fair.sum(1, keepdim=True), 0.05, 10.0).item() == 0.0
