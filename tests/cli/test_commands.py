"""The command-line entry points parse their arguments and fail clearly."""

import subprocess
import sys

import pytest

from mercury.bench import available
from mercury.cli import SUBCOMMANDS, main


def test_help_lists_every_subcommand(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in SUBCOMMANDS)


def test_unknown_subcommand_is_an_error(capsys):
    assert main(["frobnicate"]) == 2
    assert "unknown command" in capsys.readouterr().err


def test_every_subcommand_has_help():
    for name in SUBCOMMANDS:
        run = subprocess.run(
            [sys.executable, "-m", "mercury.cli", name, "--help"], capture_output=True, text=True
        )
        assert run.returncode == 0, (name, run.stderr)
        assert "usage" in run.stdout.lower()


def test_bench_finds_the_repository_benchmarks(capsys):
    assert {"lsp_latency", "debounce"} <= set(available())
    assert main(["bench", "no-such-benchmark"]) == 2


def test_complete_reports_an_unknown_model_clearly(capsys):
    assert main(["complete", "--model", "no-such-model", "--prefix", "x"]) == 2
    assert "available models" in capsys.readouterr().err


def test_mercury_lsp_help():
    run = subprocess.run([sys.executable, "-m", "mercury.lsp.cli", "--help"], capture_output=True, text=True)
    assert run.returncode == 0 and "--model" in run.stdout


def test_bad_input_files_get_a_message_not_a_traceback(capsys):
    with pytest.raises(SystemExit) as done:
        main(["complete", "--file", "/nonexistent/file.py"])
    assert done.value.code == 2 and "cannot read" in capsys.readouterr().err
    assert (
        main(["eval", "--model", "coder-mini", "--corpus", "/nonexistent", "--sets", "heldout-single-line"])
        == 2
    )
    assert "no held-out" in capsys.readouterr().err
