"""Reading offer history back in the local runtime: one instance's records page by page, and
one record looked up by unpacking an instance's history (what the offer-history API does).

Writes ``--records`` record ids (with one detail column) for one activity through the
repository's write path, then prints records/s for reading them all in pages of ``--page``, and
the time to find one record. Asserts nothing.

Usage: ``.venv/bin/python bench/offer_history_reads.py [--records 1000000] [--page 1000]``.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import UTC, datetime

os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")

from switchyard.data.interactions.offer_history_reads import Position
from switchyard.local.runtime import LocalRuntime
from switchyard.services.deps import get_deps


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--page", type=int, default=1000)
    args = parser.parse_args()
    with LocalRuntime():
        history = get_deps().interactions.history
        records = get_deps().interactions.records
        ids = [f"c{i:08d}" for i in range(args.records)]
        at = datetime.now(UTC)
        started = time.perf_counter()
        for part, first in enumerate(range(0, len(ids), 10_000)):
            chunk = ids[first : first + 10_000]
            history.write(
                "sandbox",
                1,
                "Offer",
                chunk,
                offer_code="O",
                channel="email",
                control=False,
                at=at,
                details=[{"email": f"{c}@example.com"} for c in chunk],
                part=part,
            )
        print(f"written  {args.records:>10,} records in {time.perf_counter() - started:7.1f} s")
        started = time.perf_counter()
        seen, position, pages = 0, Position(), 0
        while position is not None:
            after: Position | None = None
            page = 0
            for record in records.records("sandbox", 1, "Offer", position):
                if page == args.page:
                    after = record.position
                    break
                page += 1
            seen, position, pages = seen + page, after, pages + 1
        spent = time.perf_counter() - started
        print(
            f"paged    {seen:>10,} records in {spent:7.1f} s = {seen / spent:>10,.0f} records/s "
            f"({pages} pages of {args.page})"
        )
        started = time.perf_counter()
        found = list(records.records("sandbox", 1, "Offer", Position(), ids[len(ids) // 2]))
        print(f"one record found ({len(found)}) in {time.perf_counter() - started:7.2f} s")


if __name__ == "__main__":
    main()
