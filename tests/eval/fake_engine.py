"""A model-free engine for evaluation tests: answers from a table keyed by how the prefix ends."""

from __future__ import annotations

from mercury.denoiser.api import CompletionRequest, CompletionResult


class EchoEngine:
    """Answers `answers[end]` when the prefix ends with `end`, else `fallback`; records every request.

    Every answer reports 2 forward passes for 4 tokens, so forward passes per token is exactly 0.5.
    """

    def __init__(self, answers: dict[str, str] | None = None, fallback: str = "") -> None:
        self.answers, self.fallback = answers or {}, fallback
        self.requests: list[CompletionRequest] = []

    def complete(self, request: CompletionRequest) -> CompletionResult:
        self.requests.append(request)
        text = next((t for end, t in self.answers.items() if request.prefix.endswith(end)), self.fallback)
        return CompletionResult(text=text, stop_reason="eom", steps=1, forward_passes=2, tokens=4)
