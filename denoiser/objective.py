"""Training objectives: block diffusion over every middle block in one pass, and the AR baseline.

Sequence layout, suffix-prefix-middle (Bavarian et al. 2022, arXiv 2207.14255):
    <suf> SUFFIX <pre> PREFIX <mid> MIDDLE <eom> [<eom> fill to a multiple of L]
With the suffix first, typing at the cursor only appends to the clean stream, so its cache survives.

Block diffusion (BD3-LM, arXiv 2503.09573): the network sees [x_0 ; x_t], the clean sequence followed
by a noised copy of the middle. Noisy block b attends to the clean stream before block b and to itself;
the clean stream is token-causal. Every middle block is supervised in one forward pass. Each block has
its own mask rate t ~ U(eps, 1) and the masked cross-entropy is weighted 1/t when asked (the MDLM ELBO,
Sahoo et al. 2024, arXiv 2406.07524). A next-token loss on the clean stream (the "hybrid") multiplies
the supervised tokens per second on a CPU; `ar_weight` sets its share.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .model import Denoiser
from .tokenizer import CodeTokenizer


@dataclass
class FimExample:
    prefix_ids: list[int]
    suffix_ids: list[int]
    middle_ids: list[int]  # without <eom>


@dataclass
class Batch:
    ids: torch.Tensor  # (B, N + M): clean stream, then the noised middles (diffusion only)
    positions: torch.Tensor  # (B, N + M)
    mask: torch.Tensor  # (B, 1, N + M, N + M) bool, True = may attend
    diff_rows: torch.Tensor  # (K,) flat indices into B*(N+M) of masked noisy positions
    diff_targets: torch.Tensor  # (K,)
    diff_weights: torch.Tensor  # (K,)
    ar_rows: torch.Tensor  # (J,) flat indices of clean positions that predict the next token
    ar_targets: torch.Tensor  # (J,)
    n_middle_tokens: int  # real middle tokens (normalises the 1/t-weighted loss)


def context_ids(tok: CodeTokenizer, prefix_ids: list[int], suffix_ids: list[int]) -> list[int]:
    """The clean stream before the middle: <suf> S <pre> P <mid>."""
    return [tok.suf_id, *suffix_ids, tok.pre_id, *prefix_ids, tok.mid_id]


def padded_middle(tok: CodeTokenizer, middle_ids: list[int], block_length: int) -> list[int]:
    """MIDDLE <eom>, filled with <eom> up to a multiple of L: every position past the end says "ended"."""
    ids = [*middle_ids, tok.eom_id]
    return ids + [tok.eom_id] * (-len(ids) % block_length)


def block_diffusion_mask(
    n_clean: int, middle_starts: torch.Tensor, n_noisy: int, block_length: int
) -> torch.Tensor:
    """Mask (B, 1, N + M, N + M) over [x_0 ; x_t] from query and key indices alone.

    Three sub-masks OR-ed (after BD3-LM's block_diff_mask): the clean stream is token-causal; noisy
    block b sees clean keys before its own start; noisy block b sees itself, bidirectionally.
    """
    T = n_clean + n_noisy
    q = torch.arange(T)[:, None]
    k = torch.arange(T)[None, :]
    q_noisy, k_noisy = q >= n_clean, k >= n_clean
    q_block = (q - n_clean).clamp(min=0) // block_length  # (T, 1)
    k_block = (k - n_clean).clamp(min=0) // block_length
    clean_causal = ~q_noisy & ~k_noisy & (k <= q)
    same_block = q_noisy & k_noisy & (q_block == k_block)
    block_start = middle_starts[:, None, None] + q_block[None] * block_length  # (B, T, 1)
    sees_clean_before = q_noisy[None] & ~k_noisy[None] & (k[None] < block_start)
    return (clean_causal[None] | same_block[None] | sees_clean_before)[:, None]


def build_batch(
    examples: list[FimExample],
    tok: CodeTokenizer,
    block_length: int,
    objective: str,
    generator: torch.Generator,
    eps: float = 0.05,
    weight_by_t: bool = False,
) -> Batch:
    """Clean streams, noised middles, mask and targets for a list of FIM examples."""
    streams, starts, middles, true_ends = [], [], [], []
    for ex in examples:
        ctx = context_ids(tok, ex.prefix_ids, ex.suffix_ids)
        mid = (
            padded_middle(tok, ex.middle_ids, block_length)
            if objective == "diffusion"
            else [*ex.middle_ids, tok.eom_id]
        )
        streams.append(ctx + mid)
        starts.append(len(ctx))
        middles.append(mid)
        true_ends.append(len(ctx) + len(ex.middle_ids))  # index of the first <eom>
    B, N = len(examples), max(len(s) for s in streams)
    M = max(len(m) for m in middles) if objective == "diffusion" else 0
    clean = torch.full((B, N), tok.pad_id, dtype=torch.long)
    for i, s in enumerate(streams):
        clean[i, : len(s)] = torch.tensor(s)
    ar_rows, ar_targets = _ar_targets(clean, true_ends, N + M)
    if objective == "ar":
        positions = torch.arange(N).expand(B, N)
        mask = torch.ones(N, N, dtype=torch.bool).tril()[None, None].expand(B, 1, N, N)
        empty = torch.zeros(0, dtype=torch.long)
        return Batch(clean, positions, mask, empty, empty, empty.float(), ar_rows, ar_targets, 0)
    return _diffusion_batch(
        clean, middles, starts, ar_rows, ar_targets, tok, block_length, generator, eps, weight_by_t
    )


def _ar_targets(
    clean: torch.Tensor, true_ends: list[int], row_stride: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Next-token targets for every clean position up to and including the first <eom>."""
    rows, targets = [], []
    for b, end in enumerate(true_ends):
        idx = torch.arange(end)  # position i predicts token i + 1, the last target is <eom>
        rows.append(b * row_stride + idx)
        targets.append(clean[b, 1 : end + 1])
    return torch.cat(rows), torch.cat(targets)


def _diffusion_batch(
    clean, middles, starts, ar_rows, ar_targets, tok, L, generator, eps, weight_by_t
) -> Batch:
    B, N = clean.shape
    M = max(len(m) for m in middles)
    x0 = torch.full((B, M), tok.eom_id, dtype=torch.long)
    valid = torch.zeros(B, M, dtype=torch.bool)
    for i, m in enumerate(middles):
        x0[i, : len(m)] = torch.tensor(m)
        valid[i, : len(m)] = True
    t = eps + (1 - eps) * torch.rand(B, M // L, generator=generator)  # one mask rate per block
    t_tok = t.repeat_interleave(L, dim=1)  # (B, M)
    masked = (torch.rand(B, M, generator=generator) < t_tok) & valid
    xt = torch.where(masked, torch.full_like(x0, tok.mask_id), x0)
    starts_t = torch.tensor(starts)
    ids = torch.cat((clean, xt), dim=1)
    positions = torch.cat((torch.arange(N).expand(B, N), starts_t[:, None] + torch.arange(M)[None]), dim=1)
    mask = block_diffusion_mask(N, starts_t, M, L)
    flat = (torch.arange(B)[:, None] * (N + M) + N + torch.arange(M)[None])[masked]
    weights = (1.0 / t_tok[masked]) if weight_by_t else torch.ones(int(masked.sum()))
    n_middle = sum(len(m) for m in middles)
    return Batch(ids, positions, mask, flat, x0[masked], weights, ar_rows, ar_targets, n_middle)


def loss(
    model: Denoiser, batch: Batch, mask_id: int, ar_weight: float, weight_by_t: bool
) -> tuple[torch.Tensor, dict]:
    """Masked diffusion cross-entropy (+ ar_weight * next-token cross-entropy). Returns loss and counts."""
    hidden = model.hidden_states(batch.ids, batch.positions, batch.mask)
    flat = hidden.reshape(-1, hidden.shape[-1])
    stats = {"diff_tokens": len(batch.diff_rows), "ar_tokens": len(batch.ar_rows)}
    total = hidden.new_zeros(())
    if len(batch.diff_rows):
        logits = model.logits(flat[batch.diff_rows]).float()
        logits[:, mask_id] = float("-inf")  # SUBS: never predict <mask>
        ce = F.cross_entropy(logits, batch.diff_targets, reduction="none")
        denom = batch.n_middle_tokens if weight_by_t else len(batch.diff_rows)
        diff = (ce * batch.diff_weights).sum() / max(1, denom)
        total = total + diff
        stats["diff_loss"] = float(ce.detach().mean())
    if ar_weight > 0 and len(batch.ar_rows):
        ar = F.cross_entropy(model.logits(flat[batch.ar_rows]).float(), batch.ar_targets)
        total = total + ar_weight * ar
        stats["ar_loss"] = float(ar.detach())
    return total, stats
