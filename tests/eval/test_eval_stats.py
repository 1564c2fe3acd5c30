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


def _row(task_id, em, es, passed=None):
    return {"task_id": task_id, "em": em, "es": es, "passed": passed}


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
