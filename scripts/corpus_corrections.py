"""Write the corpus review of November 2026 as correction records.

A deployment that replayed the v1 corpus (tests/data/corpus-v1.jsonl) holds its 48 acts
in the log; editing the corpus file would not reach it (the same ids are duplicates).
So the review is published as records: each reviewed act as a correction of its v1
record (``corrects``; its id gets the suffix ``.r1``) and the act v1 missed as a new one.
Replayed after v1, they give the state and alerts of the reviewed corpus.

    python scripts/corpus_corrections.py > replay/corrections/2026-11-corpus-review.jsonl
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from replay.loader import bundled_corpus, load_paths

SUFFIX = ".r1"


def main() -> None:
    now = datetime(2026, 11, 25, tzinfo=UTC)
    root = Path(__file__).resolve().parent.parent
    v1 = load_paths([root / "tests/data/corpus-v1.jsonl"], now=now).events
    old = {i.event.event_id for i in v1}
    for item in load_paths([bundled_corpus()], now=now).events:
        data = json.loads(item.event.model_dump_json(exclude_defaults=True))
        if item.event.event_id in old:
            event_id = item.event.event_id
            data = {**data, "event_id": event_id + SUFFIX, "corrects": event_id}
        data["recorded_at"] = "2026-11-24T00:00:00Z"
        sys.stdout.write(json.dumps(data, ensure_ascii=False, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
