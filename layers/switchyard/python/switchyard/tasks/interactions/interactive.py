"""An interactive audience's cycle (docs/interactions.md, "Interactive audience").

Each cycle selects the records its rules match that no earlier cycle of this instance targeted
(the earlier cycles' records are kept in one Parquet file, ``targeted.parquet``), writes this
cycle's audience to a file of its own, and hands its activities a ``history_part`` so their
offer history is written in chunks of their own: earlier cycles' history is kept.
"""

from __future__ import annotations

from typing import Any

from switchyard.domain.interactions.activities import InteractiveAudience
from switchyard.tasks.interactions.audiences import run_batch_audience
from switchyard.tasks.interactions.context import RUN_PARTS, ActivityContext, slug

# the cycles an interactive audience's output lists (its ``cycle`` number and ``targeted`` count
# cover all of them)
CYCLES_KEPT = 96


def cycle_folder(space: str, instance_id: int, name: str) -> str:
    return f"interactions/{space}/{instance_id}/{slug(name)}"


def run_interactive_audience(
    a: InteractiveAudience, ctx: ActivityContext, previous: dict[str, Any], cycle: dict[str, Any]
) -> dict[str, Any]:
    """One cycle. ``cycle``: the gate's ``number`` of this cycle and the earlier ``cycles``,
    ``targeted`` and ``targeted_location`` (the activity's output of the last cycle)."""
    number = int(cycle.get("number") or 1)
    cycles = [dict(c) for c in cycle.get("cycles") or []]
    folder = cycle_folder(str(ctx.space), ctx.instance_id, a.name)
    targeted_key = f"{folder}/targeted.parquet"
    out = run_batch_audience(
        a,
        ctx,
        previous,
        out_key=f"{folder}/cycle_{number:05d}.parquet",
        exclude_key=str(cycle["targeted_location"]) if cycles and cycle.get("targeted_location") else None,
        targeted_key=targeted_key,
    )
    earlier = int(cycle.get("targeted") or 0) if cycles else 0
    n = int(out["records"])
    cycles.append({"cycle": number, "at": ctx.now.isoformat(), "records": n, "location": out["location"]})
    cycles = cycles[-CYCLES_KEPT:]  # the run's item stays small however long the branch runs
    return {
        **out,
        "cycle": number,
        "cycles": cycles,
        "targeted": earlier + n,
        "excluded_already_targeted": earlier,
        "targeted_location": targeted_key,
        "history_part": (number - 1) * RUN_PARTS,
        # the branch's later activities' counts over the earlier cycles (cumulative bubbles)
        "branch_totals": dict(cycle.get("branch_totals") or {}),
    }
