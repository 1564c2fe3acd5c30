"""bench/training_curve.py: the held-out curves read from a (continued) training log, and the plot."""

import json

import bench_scripts

training_curve = bench_scripts.load("training_curve")
heldout_curve, main = training_curve.heldout_curve, training_curve.main


def write_log(path):
    rows = [
        {"step": 50, "elapsed_s": 60, "loss": 9.0},  # a training record: no held-out loss
        {"step": 250, "elapsed_s": 120, "heldout_loss": 7.0},  # before the diffusion part was logged
        {"step": 500, "elapsed_s": 600, "heldout_loss": 13.0, "heldout_diff_loss": 4.2},
        {"step": 400, "elapsed_s": 300, "heldout_loss": 6.5},  # appended out of order
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_curves_are_sorted_by_time_and_pick_their_part(tmp_path):
    log = write_log(tmp_path / "coder-mini.log.jsonl")
    assert heldout_curve(log) == ([2.0, 5.0, 10.0], [7.0, 6.5, 13.0])
    assert heldout_curve(log, "heldout_diff_loss") == ([10.0], [4.2])


def test_plot_is_written(tmp_path):
    log = write_log(tmp_path / "coder-mini.log.jsonl")
    out = tmp_path / "curve.png"
    assert main([str(log), "--out", str(out)]) == 0
    assert out.read_bytes().startswith(b"\x89PNG")
