"""The execution sandbox kills runaway programs and passes correct ones (mercury.sandbox)."""

from __future__ import annotations

import time

import pytest

from mercury.sandbox import Limits, can_run, outputs_match, run_program, run_python

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


# One passing and one failing program per compiled or interpreted language other than Python;
# each test is skipped where its toolchain is not installed.
PROGRAMS = {
    "javascript": ("console.assert(1 + 1 === 2)\n", "console.assert(1 + 1 === 3)\n"),
    "cpp": (
        "#include<cassert>\nint main(){ assert(1 + 1 == 2); }\n",
        "#include<cassert>\nint main(){ assert(1 + 1 == 3); }\n",
    ),
    "java": (
        "public class Main { public static void main(String[] a) { if (1 + 1 != 2) throw new Error(); } }\n",
        "public class Main { public static void main(String[] a) { if (1 + 1 != 3) throw new Error(); } }\n",
    ),
    "rust": (
        "fn main() {}\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn t() { assert_eq!(1 + 1, 2); }\n}\n",
        "fn main() {}\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn t() { assert_eq!(1 + 1, 3); }\n}\n",
    ),
}


@pytest.mark.parametrize("language", sorted(PROGRAMS))
def test_other_languages_build_and_run(language):
    if not can_run(language):
        pytest.skip(f"no {language} toolchain here")
    good, bad = PROGRAMS[language]
    assert run_program(language, good).status == "ok"
    assert run_program(language, bad).status == "error"
    assert run_program(language, good.replace("1 + 1", "1 +* 1")).status in ("build-error", "error")


def test_a_language_without_toolchain_is_not_run():
    assert not can_run("cobol") and can_run("python")
    with pytest.raises(LookupError):
        run_program("cobol", "DISPLAY 'HI'.")
