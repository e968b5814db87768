"""Problems are data: a stable code, a path inside the bag (or the input), a message."""
from __future__ import annotations

from dataclasses import asdict, dataclass

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    code: str
    path: str
    message: str
    severity: str = ERROR

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{where}{self.message}"

    def to_dict(self) -> dict:
        return asdict(self)


class ArchiverError(Exception):
    """An input or usage problem that stops one unit of work (one report, one bag).

    Carries the path it concerns so the CLI can print one line naming it.
    """

    def __init__(self, path: str, message: str, code: str = "INPUT"):
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message
        self.code = code
