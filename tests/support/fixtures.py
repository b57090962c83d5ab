"""Fixtures more than one tier uses; each tier's conftest imports the ones it needs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from switchyard.services.deps import Deps


@pytest.fixture
def clock(deps: Deps, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``clock(minutes)``: the engine's time moves that far ahead of the real one (tests move it
    instead of waiting for real minutes)."""
    real = deps.clock
    ahead = [timedelta(0)]
    monkeypatch.setattr(deps, "clock", lambda: real() + ahead[0])

    def move(minutes: float) -> None:
        ahead[0] += timedelta(minutes=minutes)

    return move
