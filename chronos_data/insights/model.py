"""What every insight is: one finding about a moment (or a course), with its evidence."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = ["KINDS", "Insight", "Kind"]

Kind = Literal["confusion", "dropoff", "content_gap", "concept_order", "course_split"]
KINDS: tuple[Kind, ...] = ("confusion", "dropoff", "content_gap", "concept_order", "course_split")


@dataclass(frozen=True)
class Insight:
    """One finding, ready to show and to rank ("what should I fix first").

    ``title`` is the one sentence a creator reads first, in course context where there is one
    ("32 % of viewings of lesson 4 end at 06:10, while explaining X"). ``video_id`` and ``second``
    name the moment it is about (None for findings about no single moment); ``passage`` is what is
    said there. ``evidence`` holds the counts behind it (JSON-serialisable). ``score`` orders
    insights across kinds: higher is more urgent.
    """

    kind: Kind
    title: str
    score: float
    video_id: uuid.UUID | None = None
    video_title: str | None = None
    second: float | None = None
    passage: str | None = None
    course_id: uuid.UUID | None = None
    course_title: str | None = None
    lesson: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    #: A stable id for the same finding across runs (content gaps use it for done/dismissed).
    key: str | None = None
    #: Where the moment opens outside Chronos (YouTube or Loom at the second), when it can.
    url: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The form ``python -m chronos_data insights --json`` prints."""
        data = asdict(self)
        for name in ("video_id", "course_id"):
            data[name] = str(data[name]) if data[name] is not None else None
        return data
