"""Errors of the local stack."""

from __future__ import annotations

from gaitstream.exceptions import GaitstreamError


class StackError(GaitstreamError):
    """A stack step failed; ``step`` names it and ``log_file`` points at the evidence."""

    def __init__(self, message: str, *, step: str, log_file: str | None = None) -> None:
        super().__init__(message)
        self.step = step
        self.log_file = log_file

    def __str__(self) -> str:
        text = f"{self.args[0]} (step={self.step}"
        if self.log_file:
            text += f" log={self.log_file}"
        return text + ")"


class MissingToolError(StackError):
    """A tool the first-time setup needs (java, mvn, go, cargo, pkg-config, cc) is not on PATH."""

    def __init__(self, tool: str, *, needed_for: str) -> None:
        super().__init__(f"missing tool '{tool}', needed to {needed_for}; install it and run again", step="check-tools")
        self.tool = tool
