"""The post-processing bracket scan: how many open blocks a line of code below shows to have ended."""

from __future__ import annotations

import pytest
from mercury.lsp.brackets import scan_lenient

GO = "func f() {\n\tfor _, x := range xs {\n\t\tif x {\n\t\t\trun()\n"


@pytest.mark.parametrize(
    ("below", "ended"),
    [
        ("\t\t\tmore()", 0),  # the body goes on
        ("\t\t}", 0),  # the `if`'s own closer comes next: the file closes it
        ("\t\t// a comment as deep as the `if`", 1),  # only its closer may stand there
        ("\t}", 1),  # the loop's closer: the `if` ended before it
        ("\treturn", 2),  # the `if` and the loop
        ("func g() {", 3),  # everything
    ],
)
def test_a_line_below_ends_the_blocks_opened_on_deeper_lines(below: str, ended: int) -> None:
    assert scan_lenient(GO, "go").ended_by(below) == ended


def test_a_python_list_ends_before_a_line_as_shallow_as_its_own():
    state = scan_lenient("NAMES = [\n    'a',\n", "python")
    assert (state.ended_by("print(NAMES)"), state.ended_by("    'b',"), state.ended_by("]")) == (1, 0, 0)
