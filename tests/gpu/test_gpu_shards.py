"""Model folders in shards: what the GPU run returns (files under 16 MiB) loads like one file."""

import _gpu_bench  # noqa: F401 (bench.gpu becomes importable)
import pytest
import torch
from mercury.denoiser.model import Denoiser, ModelConfig, weight_files
from safetensors.torch import load_file

from bench.gpu import coder_small


def tiny() -> Denoiser:
    torch.manual_seed(0)
    return Denoiser(ModelConfig(vocab_size=64, d_model=16, n_layer=2, n_head=2, block_length=4))


def test_shards_round_trip_in_bf16(tmp_path):
    model = tiny()
    files = model.save(tmp_path, dtype=torch.bfloat16, max_shard_bytes=1500)
    assert len(files) > 2 and [p.name for p in files] == [p.name for p in weight_files(tmp_path)]
    assert files[0].name == f"model-00001-of-{len(files):05d}.safetensors"
    for path in files:  # under the limit, or one tensor larger than the limit alone
        state = load_file(str(path))
        nbytes = sum(t.numel() * t.element_size() for t in state.values())
        assert nbytes <= 1500 or len(state) == 1
    loaded = Denoiser.load(tmp_path)
    for name, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], value.to(torch.bfloat16).float())


def test_one_file_when_no_limit_and_stale_layouts_are_removed(tmp_path):
    model = tiny()
    model.save(tmp_path, max_shard_bytes=1500)
    model.save(tmp_path)
    assert [p.name for p in weight_files(tmp_path)] == ["model.safetensors"]
    assert not list(tmp_path.glob("model-*-of-*.safetensors"))
    model.save(tmp_path, max_shard_bytes=1500)
    assert not (tmp_path / "model.safetensors").exists()


def test_an_incomplete_shard_set_does_not_load(tmp_path):
    files = tiny().save(tmp_path, max_shard_bytes=1500)
    files[1].unlink()
    with pytest.raises(FileNotFoundError, match="not a set"):
        Denoiser.load(tmp_path)
    for f in files:
        f.unlink(missing_ok=True)
    with pytest.raises(FileNotFoundError, match="no model.safetensors"):
        Denoiser.load(tmp_path)


def test_the_gpu_plans_model_comes_back_in_4_shards_under_16_mib(tmp_path):
    plan = coder_small.gpu_plan(540)
    files = Denoiser(ModelConfig(**plan.model)).save(tmp_path, torch.bfloat16, plan.shard_bytes)
    assert len(files) <= plan.max_shards and all(f.stat().st_size < 16 * 2**20 for f in files)
    assert sum(f.stat().st_size for f in files) < 60 * 2**20  # 4 MiB left of 64 for tokenizer and logs
