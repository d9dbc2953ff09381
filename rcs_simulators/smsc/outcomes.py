"""The outcome mix: which receipt each submitted part gets (pure)."""

from __future__ import annotations

import random
from dataclasses import dataclass

# Receipt stat words (SMPP 3.4 Appendix B) and message_state values.
STATES = {
    "delivered": ("DELIVRD", 2),
    "undelivered": ("UNDELIV", 5),
    "expired": ("EXPIRED", 3),
    "rejected": ("REJECTD", 8),
}


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: str  # delivered | undelivered | expired | rejected
    error_code: int  # goes into the receipt's err: field (Rapporto's extended code)

    @property
    def stat(self) -> str:
        return STATES[self.kind][0]

    @property
    def message_state(self) -> int:
        return STATES[self.kind][1]


_DEFAULT_ERRORS = {"delivered": 0, "undelivered": 1, "expired": 7, "rejected": 10}


@dataclass(frozen=True, slots=True)
class OutcomeMix:
    """Weights like ``delivered=90,undelivered:2=5,expired=3,rejected:13=2``.

    ``kind:code`` sets the extended error code carried in the receipt's ``err:`` field.
    """

    choices: tuple[Outcome, ...]
    weights: tuple[float, ...]

    @classmethod
    def parse(cls, spec: str) -> OutcomeMix:
        choices: list[Outcome] = []
        weights: list[float] = []
        for item in filter(None, (p.strip() for p in spec.split(","))):
            name, _, weight = item.partition("=")
            kind, _, code = name.partition(":")
            if kind not in STATES:
                raise ValueError(f"outcome {kind!r} in {spec!r}: use one of {', '.join(STATES)}")
            try:
                w = float(weight or "1")
                err = int(code) if code else _DEFAULT_ERRORS[kind]
            except ValueError as exc:
                raise ValueError(f"bad outcome item {item!r}: expected kind[:code]=weight") from exc
            if w < 0:
                raise ValueError(f"negative weight in {item!r}")
            choices.append(Outcome(kind, err))
            weights.append(w)
        if not choices or sum(weights) <= 0:
            raise ValueError(f"outcome mix {spec!r} has no positive weight")
        return cls(tuple(choices), tuple(weights))

    def pick(self, rng: random.Random) -> Outcome:
        return rng.choices(self.choices, self.weights)[0]
