"""What an act weighs in tension, besides its Goldstein weight: who acts, whether the
act took place, and which acts start or end an armed conflict (docs/TENSION.md)."""

from __future__ import annotations

from typing import Final

from schemas.events import Mode

__all__ = ["ACTOR_WEIGHTS", "FORCE_ROOTS", "MODE_WEIGHTS", "TRUCE_CODES"]

#: Weight of an act by the kind of body that acts; states and their organs count fully.
ACTOR_WEIGHTS: Final = {
    "head_of_state": 1.0,
    "government": 1.0,
    "foreign_ministry": 1.0,
    "envoy": 1.0,
    "military": 1.0,
    "state": 1.0,
    "legislator": 0.5,
    "state_body": 0.5,
    "state_media": 0.5,
    "media": 0.25,
    "civil_society": 0.25,
    "business": 0.25,
}

#: How much an act weighs by whether it took place (``Mode``): an announced, threatened or
#: demanded act says something about the relation, but less than the act itself; a
#: denial weighs nothing (the act it denies is not in the log).
MODE_WEIGHTS: Final = {
    Mode.DONE: 1.0,
    Mode.ANNOUNCED: 0.5,
    Mode.THREATENED: 0.5,
    Mode.DEMANDED: 0.5,
    Mode.DENIED: 0.0,
}

#: Uses of force that put a pair in armed conflict (CAMEO roots 19 fight, 20 mass violence)
#: and the codes that end it (0871 truce or ceasefire, 0874 retreat or surrender).
FORCE_ROOTS: Final = ("19", "20")
TRUCE_CODES: Final = ("0871", "0874")
