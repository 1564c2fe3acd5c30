"""The execution sandbox kills runaway programs and passes correct ones (mercury.sandbox)."""

from __future__ import annotations

import time

from mercury.sandbox import Limits, outputs_match, run_python

FAST = Limits(cpu_s=1, wall_s=3.0, memory_mb=256)


def test_a_correct_program_passes():
    result = run_python("print(sum(map(int, input().split())))", "2 3", FAST)
    assert result.status == "ok" and result.stdout.strip() == "5"


def test_an_infinite_loop_is_killed_by_the_cpu_limit():
    start = time.monotonic()
    assert run_python("while True:\n    pass\n", "", FAST).status == "timeout"
    assert time.monotonic() - start < 3.0  # the CPU limit fired before the wall timeout


def test_a_sleeping_program_is_killed_by_the_wall_timeout():
    result = run_python("import time\ntime.sleep(30)\n", "", Limits(cpu_s=5, wall_s=0.5))
    assert result.status == "timeout"


def test_a_memory_hog_fails():
    assert run_python("x = bytearray(2 * 1024 ** 3)\n", "", FAST).status == "memory"


def test_network_is_unreachable():
    program = "import socket\nsocket.create_connection(('127.0.0.1', 9))\n"
    result = run_python(program, "", FAST)
    assert result.status == "error" and "OSError" in result.stderr


def test_a_failing_assert_is_an_error():
    assert run_python("assert 1 == 2\n", "", FAST).status == "error"


def test_outputs_match_like_codeforces():
    assert outputs_match("YES\n1 2\n", "Yes 1  2")
    assert outputs_match("0.3333333", "0.33333333")
    assert not outputs_match("1 2", "1 2 3")
