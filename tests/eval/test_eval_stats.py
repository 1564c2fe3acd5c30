"""The intervals and paired tests `mercury eval` reports beside its figures."""

import pytest

from mercury import eval_stats
from mercury.eval_metrics import aggregate


def test_wilson_interval_matches_the_textbook_values():
    low, high = eval_stats.wilson_interval(5, 10)
    assert (round(low, 4), round(high, 4)) == (0.2366, 0.7634)
    low, high = eval_stats.wilson_interval(0, 10)
    assert low == 0.0 and round(high, 4) == 0.2775  # no success still leaves room above zero
    assert eval_stats.wilson_interval(0, 0) is None


def test_mcnemar_is_an_exact_binomial_test_of_the_discordant_tasks():
    assert eval_stats.mcnemar_p(0, 0) == 1.0
    assert eval_stats.mcnemar_p(3, 3) == 1.0
    assert eval_stats.mcnemar_p(0, 6) == pytest.approx(2 / 64)
    assert eval_stats.mcnemar_p(9, 1) == pytest.approx(2 * 11 / 1024)
    assert eval_stats.mcnemar_p(12, 9) == eval_stats.mcnemar_p(9, 12) > 0.5


def test_bootstrap_interval_holds_the_mean_and_is_reproducible():
    assert eval_stats.bootstrap_interval([0.25] * 7) == (0.25, 0.25)
    diffs = [0.0] * 90 + [1.0] * 10
    low, high = eval_stats.bootstrap_interval(diffs)
    assert low < 0.1 < high and 0.0 < low and high < 0.2
    assert eval_stats.bootstrap_interval(diffs) == (low, high)
    assert eval_stats.bootstrap_interval([]) is None


def test_clustered_mcnemar_reduces_to_mcnemar_and_widens_with_clustering():
    # One task per source: the chi-square McNemar, (b - c)^2 / (b + c) = 2 here, p = 0.1573.
    singles = [(1, 0)] * 6 + [(0, 1)] * 2
    assert eval_stats.clustered_mcnemar_p(singles) == pytest.approx(0.1573, abs=1e-4)
    # The same discordant tasks in two sources, all of one kind each: 16 / (36 + 4) = 0.4, p = 0.5271,
    # one source against another.
    assert eval_stats.clustered_mcnemar_p([(6, 0), (0, 2)]) == pytest.approx(0.5271, abs=1e-4)
    assert eval_stats.clustered_mcnemar_p([(0, 0), (2, 2)]) == 1.0


def test_bootstrap_over_sources_widens_the_interval_of_clustered_tasks():
    # 100 tasks in 10 sources: the model is right on every task of one source and on none elsewhere.
    diffs = [1.0 if i < 10 else 0.0 for i in range(100)]
    sources = [f"file{i // 10}" for i in range(100)]
    by_task = eval_stats.bootstrap_interval(diffs)
    by_source = eval_stats.bootstrap_interval(diffs, sources)
    assert by_source[0] <= 0.0 < by_task[0]  # the one good file may be left out of a resample
    assert by_source[1] - by_source[0] > by_task[1] - by_task[0]
    # Each task its own source: the plain bootstrap, draw for draw.
    assert eval_stats.bootstrap_interval(diffs, [str(i) for i in range(100)]) == pytest.approx(by_task)


def test_paired_binary_clusters_only_where_a_source_repeats():
    pairs = [(False, True)] * 10 + [(False, False)] * 90
    plain = eval_stats.paired_binary(pairs)
    assert plain == eval_stats.paired_binary(pairs, [str(i) for i in range(100)])
    assert plain["p_value"] < 0.01
    clustered = eval_stats.paired_binary(pairs, [f"file{i // 10}" for i in range(100)])
    assert clustered["p_value"] > 0.3 and clustered["interval"][0] <= 0.0
    assert (clustered["only_model"], clustered["difference"]) == (10, 0.1)


def _row(task_id, em, es, passed=None, source=None):
    row = {"task_id": task_id, "em": em, "es": es, "passed": passed}
    return row if source is None else {**row, "source": source}


def test_compare_rows_pairs_tasks_by_id():
    baseline = [_row("a", True, 1.0, True), _row("b", False, 0.5, None), _row("c", True, 1.0, False)]
    model = [_row("c", False, 0.0, True), _row("a", True, 1.0, True), _row("z", True, 1.0, True)]
    c = eval_stats.compare_rows(baseline, model)
    assert c["n"] == 2  # z has no baseline, b no model row
    em = c["exact_match"]
    assert (em["only_baseline"], em["only_model"], em["difference"]) == (1, 0, -0.5)
    assert c["edit_similarity"]["difference"] == -0.5
    assert c["pass_at_1"]["n"] == 2 and c["pass_at_1"]["only_model"] == 1
    assert eval_stats.compare_rows(baseline, [_row("q", True, 1.0)]) == {"n": 0}


def test_compare_rows_counts_and_clusters_by_source():
    baseline = [_row(f"t{i}", False, 0.0, source=f"f{i // 5}") for i in range(20)]
    model = [_row(f"t{i}", i < 5, 1.0 if i < 5 else 0.0, source=f"f{i // 5}") for i in range(20)]
    c = eval_stats.compare_rows(baseline, model)
    assert (c["n"], c["sources"]) == (20, 4)
    assert c["exact_match"]["p_value"] > 0.3  # five wins, all from one file
    unclustered = eval_stats.compare_rows(
        [{**r, "source": r["task_id"]} for r in baseline], [{**r, "source": r["task_id"]} for r in model]
    )
    assert unclustered["sources"] == 20 and unclustered["exact_match"]["p_value"] < 0.07


def test_aggregate_reports_the_exact_match_interval():
    rows = [
        {
            "em": i < 5,
            "es": 0.5,
            "passed": None,
            "syntax_ok": True,
            "forward_passes": 1,
            "tokens": 1,
            "elapsed_ms": 1.0,
            "empty": False,
        }
        for i in range(10)
    ]
    assert aggregate(rows)["exact_match_interval"] == [0.2366, 0.7634]
