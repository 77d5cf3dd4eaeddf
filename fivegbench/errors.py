"""The small error hierarchy. The CLI prints each as one line; tracebacks only with --debug."""

from __future__ import annotations


class FivegbenchError(Exception):
    """Base of every error fivegbench raises on purpose."""


class PlanError(FivegbenchError):
    """A plan (or bench) file is invalid. Carries where: file, line, column and key path."""

    def __init__(self, file: str, line: int | None, column: int | None, path: str, message: str) -> None:
        self.file = file
        self.line = line
        self.column = column
        self.path = path
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        key = f" {self.path}:" if self.path else ""
        return f"{where}:{key} {self.message}"


class BenchError(FivegbenchError):
    """The bench description is invalid or an instrument cannot be reached."""


class InstrumentError(FivegbenchError):
    """An instrument refused a command or answered something we cannot use."""

    def __init__(self, role: str, command: str, code: int | None, message: str) -> None:
        self.role = role
        self.command = command
        self.code = code
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        code = f" (error {self.code})" if self.code is not None else ""
        return f"{self.role}: {self.command!s}: {self.message}{code}"


class ConnectionLost(InstrumentError):
    """The link to an instrument failed (refused, reset, broken pipe, timed out, serial error).

    Raised by the transport seam for every kind of transport error; the runner reopens the
    session and retries the measurement point (:mod:`fivegbench.recovery`)."""


class SafeStateError(FivegbenchError):
    """The bench's safe state could not be confirmed: the bench may be unsafe."""


class ResultsError(FivegbenchError):
    """A results file (journal, io.log, run.log, record) cannot be written: the run stops."""
