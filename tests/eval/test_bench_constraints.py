"""bench/constraints.py on a fake engine: pairing, aggregation, the table and the command line."""

from __future__ import annotations

import json
from pathlib import Path

import bench_scripts
import pytest
from mercury.denoiser.api import CompletionRequest, CompletionResult
from mercury.syntax import constraint_for

from mercury import evaluate

SETS = ("heldout-single-line", "heldout-go-multi-line", "heldout-rust-single-line", "humaneval-x-line-js")


@pytest.fixture(scope="module")
def bench():
    return bench_scripts.load("constraints")


class FakeEngine:
    """Constrained: the reference. Unconstrained: the reference with a stray ')(' that breaks the
    file (unless the line is a comment). Records every request. The constraint factory is the real
    one (the bench asks it whether it would refuse the reference)."""

    constraints = staticmethod(constraint_for)

    def __init__(self, references: dict[str, str]) -> None:
        self.references = references
        self.requests: list[CompletionRequest] = []

    def complete(self, request: CompletionRequest) -> CompletionResult:
        self.requests.append(request)
        reference = self.references[request.prefix]
        text = reference if request.constrained else reference + " )("
        return CompletionResult(text=text, stop_reason="eom", steps=2, forward_passes=2, tokens=3, vetoed=1)


def _config(corpus: Path, eval_data: Path, limit: int = 3) -> evaluate.EvalConfig:
    return evaluate.EvalConfig(sets=SETS, limit=limit, corpus=str(corpus), eval_data=str(eval_data))


def _engine(cfg: evaluate.EvalConfig) -> FakeEngine:
    tasks = [t for name in cfg.sets for t in evaluate.build_set(name, cfg)]
    return FakeEngine({evaluate.make_request(t, cfg).prefix: t.middle for t in tasks})


@pytest.fixture
def no_compilers(monkeypatch):
    """Keep the tests fast: only Python programs run (pass@1 of the other sets is None)."""
    monkeypatch.setattr(evaluate, "can_run", lambda language: language == "python")


def test_both_modes_run_every_task_in_alternating_order(
    bench, fake_corpus_multi, fake_eval_data_multi, no_compilers
):
    cfg = _config(fake_corpus_multi, fake_eval_data_multi)
    engine = _engine(cfg)
    report = bench.run_bench(engine, cfg)
    n_tasks = sum(len(p) for p in report["pairs"].values())
    assert len(engine.requests) == 2 * n_tasks + 2  # plus one warm-up pair
    timed = engine.requests[2:]
    firsts = [timed[i].constrained for i in range(0, len(timed), 2)]
    seconds = [timed[i + 1].constrained for i in range(0, len(timed), 2)]
    assert all(a != b for a, b in zip(firsts, seconds, strict=True))  # each task in both modes
    assert firsts[:2] == [False, True]  # alternating within a set
    assert all(r.language in ("python", "go", "rust", "javascript") for r in engine.requests)
    for pairs in report["pairs"].values():
        for pair in pairs:
            assert pair["unconstrained"]["task_id"] == pair["constrained"]["task_id"]


def test_summary_compares_the_modes(bench, fake_corpus_multi, fake_eval_data_multi, no_compilers):
    cfg = _config(fake_corpus_multi, fake_eval_data_multi)
    report = bench.run_bench(_engine(cfg), cfg)
    rows = {(r["set"], r["kind"]): r for r in report["summary"]}
    assert set(rows) == {
        ("heldout-single-line", "single-line"),
        ("heldout-go-multi-line", "multi-line"),
        ("heldout-rust-single-line", "single-line"),
        ("humaneval-x-line-js", "single-line"),
        ("all", "single-line"),
        ("all", "multi-line"),
    }
    for row in rows.values():
        on, off = row["constrained"], row["unconstrained"]
        assert on["parseable"] == on["no_new_errors"] == 1.0 and on["exact_match"] == 1.0
        assert off["exact_match"] == 0.0 and on["vetoed_per_completion"] == 1.0
        assert off["parseable"] < 1.0
        assert on["edit_similarity"] == 1.0 > off["edit_similarity"]
        paired = row["exact_match_paired"]  # the constraint gains every exact match here
        assert paired["only_model"] == row["n"] and paired["only_baseline"] == 0
        assert row["added_ms_median"] is not None and row["added_pct"] is not None
    # removing a block body leaves a file that parses, so the stray ')(' is a new error
    assert rows[("heldout-go-multi-line", "multi-line")]["unconstrained"]["no_new_errors"] < 1.0
    assert (
        rows[("all", "single-line")]["n"] == 9
        and rows[("heldout-go-multi-line", "multi-line")]["language"] == "go"
    )
    js = rows[("humaneval-x-line-js", "single-line")]  # node is "missing": pass@1 is not measured
    assert js["constrained"]["pass_at_1"] is None and js["unconstrained"]["n_executed"] == 0
    assert all(0.0 <= row["reference_refused"] <= 1.0 for row in rows.values())


def test_references_table_counts_refusals_per_set(bench, fake_corpus_multi, fake_eval_data_multi):
    cfg = _config(fake_corpus_multi, fake_eval_data_multi)
    table = bench.references_table(_engine(cfg), cfg)
    rows = [
        line for line in table.splitlines() if line.startswith("| heldout") or line.startswith("| humaneval")
    ]
    assert len(rows) == len(SETS) and all(line.count("|") == 5 for line in rows)


def test_server_requests_hold_the_whole_file_within_the_budgets(
    bench, fake_corpus_multi, fake_eval_data_multi
):
    cfg = _config(fake_corpus_multi, fake_eval_data_multi)
    task = next(t for t in evaluate.build_set("heldout-go-multi-line", cfg) if t.prefix)
    request = bench.server_request(task, cfg, bench._counter(object()), (4096, 4096))
    assert task.prefix.endswith(request.prefix) and task.suffix.startswith(request.suffix)
    assert request.language == "go" and not request.prefix_cut
    table = bench.references_table(_engine(cfg), cfg, server_tokens=(64, 64))
    assert table.count("| heldout") == 3


def test_quote_probes_count_accepted_middles_that_break_the_file(
    bench, fake_corpus_multi, fake_eval_data_multi
):
    cfg = _config(fake_corpus_multi, fake_eval_data_multi)

    class AcceptsAll:
        def accepts(self, middle: str) -> bool:
            return True

    engine = type("E", (), {"constraints": staticmethod(lambda request: AcceptsAll())})()
    rows = {
        line.split(" | ")[0][2:]: line.split(" | ")
        for line in bench.quote_probe_table(engine, cfg).splitlines()
    }
    probes, accepted, broken = (int(cell) for cell in rows["heldout-single-line"][1:4])
    assert probes == accepted > 0 and 0 < broken <= accepted  # a stray quote before code breaks it
    real = bench.quote_probe_table(_engine(cfg), cfg)
    assert all(line.split(" | ")[3] == "0" for line in real.splitlines()[2:])  # the real constraint


def test_a_refused_reference_is_counted(bench):
    class RefusesAll:
        def accepts(self, middle: str) -> bool:
            return False

    engine = type("E", (), {"constraints": staticmethod(lambda request: RefusesAll())})()
    request = CompletionRequest(prefix="x = ", suffix="\n", language="python")
    assert bench.reference_refused(engine, request, "1") is True
    assert bench.reference_refused(type("E", (), {"constraints": None})(), request, "1") is None


def test_added_time_is_paired_per_task(bench):
    def row(ms: float) -> dict:
        scores = {"em": True, "es": 1.0, "passed": None, "syntax_ok": True, "empty": False}
        return {**scores, "forward_passes": 1, "tokens": 1, "elapsed_ms": ms, "vetoed": 0}

    pairs = [{"unconstrained": row(u), "constrained": row(c)} for u, c in [(10, 11), (20, 22), (10, 16)]]
    summary = bench.summarize("s", "python", "single-line", pairs)
    assert summary["added_ms_median"] == 2.0 and summary["added_ms_mean"] == 3.0
    assert summary["added_pct"] == 22.5  # (49 / 3) / (40 / 3) - 1
    assert summary["unconstrained"]["median_ms"] == 10 and summary["constrained"]["mean_ms"] == 16.3
    assert (
        summary["exact_match_paired"]["only_baseline"] == 0
        and summary["exact_match_paired"]["p_value"] == 1.0
    )


def test_markdown_table(bench, fake_corpus_multi, fake_eval_data_multi, no_compilers):
    cfg = _config(fake_corpus_multi, fake_eval_data_multi, limit=1)
    report = bench.run_bench(_engine(cfg), cfg)
    table = bench.markdown(report, "fake", "python bench/constraints.py --limit 1")
    lines = table.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("| language"))
    assert lines[header + 1].startswith("|---")
    body = [line for line in lines[header + 2 :] if line.startswith("| ")]
    assert len(body) == len(report["summary"]) == 6
    assert all(line.count("|") == lines[header].count("|") for line in body)
    assert any(line.startswith("| all | multi-line | all | 1 | ") for line in body)
    assert "`python bench/constraints.py --limit 1`" in table


def test_main_writes_json_and_markdown(bench, fake_corpus_multi, fake_eval_data_multi, tmp_path, monkeypatch):
    monkeypatch.setattr(evaluate, "can_run", lambda language: language == "python")
    cfg = _config(fake_corpus_multi, fake_eval_data_multi, limit=1)
    engine = _engine(cfg)
    monkeypatch.setattr(evaluate, "load_engine", lambda *args, **kwargs: engine)
    out = tmp_path / "out" / "constraints.json"
    argv = ["--model", "fake", "--limit", "1", "--out", str(out), "--sets", *SETS]
    argv += ["--corpus", str(fake_corpus_multi), "--eval-data", str(fake_eval_data_multi)]
    assert bench.main(argv) == 0
    report = json.loads(out.read_text())
    assert report["model"] == "fake" and len(report["summary"]) == 6
    assert out.with_suffix(".md").read_text().count("\n| ") == 7  # header and six rows


def test_no_new_errors_compares_with_the_original_file_too(bench):
    """Cut inside `'__main__'`, the file without the line has one ERROR (an open string swallows
    the rest) and the original file two: an answer with two is no worse than the original."""
    from mercury.eval_tasks import FimTask

    prefix = "x = 1\nif __name__ == '__m"
    suffix = "\n    print(1)\nprint(2 +)\nprint(3 +)\n"
    task = FimTask("t", "t", "python", prefix, suffix, "ain__':", False)
    request = CompletionRequest(prefix=prefix, suffix=suffix, language="python")
    assert bench.no_new_errors(task, request, "al__':")  # as many as the original file
    assert not bench.no_new_errors(task, request, "ain__ +:")  # more than either
