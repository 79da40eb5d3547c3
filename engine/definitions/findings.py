"""What the checker says about a definition file: one `Finding` per problem."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True, order=True)
class Finding:
    """One problem, located at the offending node (1-based line and column)."""

    file: str
    line: int
    column: int
    severity: Severity
    code: str
    message: str

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def __str__(self) -> str:
        return (
            f"{self.file}:{self.line}:{self.column}: "
            f"{self.severity.value} {self.code}: {self.message}"
        )

    def as_dict(self) -> dict:
        d = asdict(self)
        d["severity"] = self.severity.value
        return d


class DefinitionError(Exception):
    """Definitions could not be loaded; ``findings`` says why (errors first)."""

    def __init__(self, findings: list[Finding]):
        self.findings = sorted(findings, key=lambda f: (not f.is_error, f))
        errors = [f for f in self.findings if f.is_error]
        head = "\n".join(str(f) for f in errors[:20])
        more = f"\n... and {len(errors) - 20} more" if len(errors) > 20 else ""
        super().__init__(f"{len(errors)} error(s) in workflow definitions:\n{head}{more}")
