"""The attention layout: the training mask, causality by perturbation, cached == uncached."""

import torch
from mercury.denoiser.model import Denoiser, ModelConfig
from mercury.denoiser.objective import block_diffusion_mask


def tiny_model(seed: int = 0) -> Denoiser:
    torch.manual_seed(seed)
    return Denoiser(ModelConfig(vocab_size=64, d_model=32, n_layer=2, n_head=2, block_length=2)).eval()


def test_block_diffusion_mask_matches_hand_drawn_two_block_toy():
    """Clean stream of 4 (middle starts at 2, so 2 middle blocks of L=2) and a noisy copy of 4."""
    mask = block_diffusion_mask(4, torch.tensor([0]), 4, 2)[0, 0].int()
    # rows: clean c0..c3, noisy n0..n3 (n0,n1 = block 0 at clean positions 0,1; n2,n3 = block 1)
    expected = torch.tensor(
        [
            # c0 c1 c2 c3 n0 n1 n2 n3
            [1, 0, 0, 0, 0, 0, 0, 0],
            [1, 1, 0, 0, 0, 0, 0, 0],
            [1, 1, 1, 0, 0, 0, 0, 0],
            [1, 1, 1, 1, 0, 0, 0, 0],
            [0, 0, 0, 0, 1, 1, 0, 0],  # block 0 starts at clean position 0: sees no clean token
            [0, 0, 0, 0, 1, 1, 0, 0],
            [1, 1, 0, 0, 0, 0, 1, 1],  # block 1 sees clean tokens before position 2
            [1, 1, 0, 0, 0, 0, 1, 1],
        ]
    )
    assert torch.equal(mask, expected)


def test_mask_offsets_blocks_by_each_examples_middle_start():
    mask = block_diffusion_mask(5, torch.tensor([3]), 2, 2)[0, 0]
    assert mask[5, :3].all() and not mask[5, 3:5].any()  # noisy block 0 sees the 3 context tokens only


def _uncached_canvas_logits(model, clean, canvas):
    """Reference: one full forward over [clean ; canvas] with an explicit mask."""
    n, L = clean.shape[1], canvas.shape[1]
    ids = torch.cat((clean, canvas), dim=1)
    pos = torch.arange(n + L)[None]
    q, k = torch.arange(n + L)[:, None], torch.arange(n + L)[None, :]
    mask = ((k <= q) | (q >= n))[None, None]
    return model.logits(model.hidden_states(ids, pos, mask))[:, n:]


def test_cached_steps_equal_uncached_forward():
    model = tiny_model()
    clean = torch.randint(6, 64, (1, 9))
    canvas = torch.randint(6, 64, (1, 2))
    with torch.no_grad():
        reference = _uncached_canvas_logits(model, clean, canvas)
        _, cache = model.extend(None, clean[:, :5], None)  # encode part of the context first
        hidden, cache = model.extend(cache, clean[:, 5:], canvas)  # rest of context + canvas in one step
        cached = model.logits(hidden[:, 4:])
        assert cache.length == 9
        hidden2, _ = model.extend(cache, clean[:, :0], canvas)  # a later step: canvas only
        assert torch.allclose(cached, reference, atol=1e-4)
        assert torch.allclose(model.logits(hidden2), reference, atol=1e-4)


def test_later_clean_tokens_and_canvas_do_not_change_earlier_outputs():
    model = tiny_model()
    ids = torch.randint(6, 64, (1, 8))
    pos = torch.arange(8)[None]
    mask = torch.ones(8, 8, dtype=torch.bool).tril()[None, None]
    with torch.no_grad():
        base = model.hidden_states(ids, pos, mask)
        changed = ids.clone()
        changed[0, 6] = (changed[0, 6] + 1) % 64
        after = model.hidden_states(changed, pos, mask)
        assert torch.allclose(base[:, :6], after[:, :6], atol=1e-6)
        assert not torch.allclose(base[:, 6:], after[:, 6:], atol=1e-6)
        # the clean rows of a cached step never see the canvas
        h1, _ = model.extend(None, ids, torch.tensor([[7, 8]]))
        h2, _ = model.extend(None, ids, torch.tensor([[9, 10]]))
        assert torch.allclose(h1[:, :8], h2[:, :8], atol=1e-6)


def test_noisy_block_ignores_other_blocks_and_later_clean_tokens():
    model = tiny_model()
    n, L, M = 6, 2, 4
    start = torch.tensor([2])
    mask = block_diffusion_mask(n, start, M, L)
    ids = torch.randint(6, 64, (1, n + M))
    pos = torch.cat((torch.arange(n), 2 + torch.arange(M)))[None]
    with torch.no_grad():
        base = model.hidden_states(ids, pos, mask)
        other = ids.clone()
        other[0, n + 2] = (other[0, n + 2] + 1) % 64  # noisy block 1
        other[0, 3] = (other[0, 3] + 1) % 64  # clean token inside block 0's own span (position 3)
        after = model.hidden_states(other, pos, mask)
        assert torch.allclose(base[:, n : n + 2], after[:, n : n + 2], atol=1e-6)  # noisy block 0 unchanged


def test_changing_the_suffix_changes_the_canvas_output():
    """The suffix sits at the start of the clean stream (SPM), so the canvas sees it."""
    model = tiny_model()
    clean = torch.randint(6, 64, (1, 8))
    canvas = torch.full((1, 2), 1)
    other = clean.clone()
    other[0, 1] = (other[0, 1] + 1) % 64
    with torch.no_grad():
        a, _ = model.extend(None, clean, canvas)
        b, _ = model.extend(None, other, canvas)
    assert not torch.allclose(a[:, 8:], b[:, 8:], atol=1e-6)
