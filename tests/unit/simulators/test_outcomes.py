from __future__ import annotations

import random
from collections import Counter

import pytest

from rcs_simulators.smsc.outcomes import OutcomeMix


def test_mix_draws_each_outcome_by_weight_with_its_error_code() -> None:
    mix = OutcomeMix.parse("delivered=90, undelivered:2=5,expired=3,rejected:13=2")
    rng = random.Random(1)
    drawn = Counter((o.kind, o.error_code, o.stat) for o in (mix.pick(rng) for _ in range(10_000)))
    assert drawn[("undelivered", 2, "UNDELIV")] > 300
    assert drawn[("rejected", 13, "REJECTD")] > 100
    assert drawn[("expired", 7, "EXPIRED")] > 200
    assert 8_500 < drawn[("delivered", 0, "DELIVRD")] < 9_500


@pytest.mark.parametrize("spec", ["", "lost=1", "delivered=-1", "delivered=x", "undelivered:x=1"])
def test_bad_mix_is_refused_with_the_reason(spec: str) -> None:
    with pytest.raises(ValueError, match=r"outcome|weight"):
        OutcomeMix.parse(spec)
