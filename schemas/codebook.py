"""The CAMEO codebook with Goldstein weights, and the project's action vocabulary.

The codebook is pinned: every record names it in its ``scale`` field, and the weights
come from one table only (the Phoenix pipeline's, see ``data/cameo_goldstein.csv``).
"""

from __future__ import annotations

import csv
from enum import StrEnum
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Final, Literal

__all__ = [
    "ACTION_CAMEO",
    "SCALE",
    "Action",
    "Scale",
    "cameo_codes",
    "cameo_label",
    "goldstein",
]

#: The name of the pinned table, carried in every record.
Scale = Literal["cameo-goldstein-phoenix"]
SCALE: Final[Scale] = "cameo-goldstein-phoenix"


class Action(StrEnum):
    """The project's own vocabulary of diplomatic acts; each maps to CAMEO codes."""

    SUMMON_ENVOY = "summon_envoy"
    PROTEST_NOTE = "protest_note"
    DEMAND = "demand"
    ACCUSE = "accuse"
    CRITICIZE = "criticize"
    THREATEN = "threaten"
    REJECT = "reject"
    REFUSE_RECOGNITION = "refuse_recognition"
    RECOGNISE = "recognise"
    RECOGNISE_BREAKAWAY = "recognise_breakaway"
    PRAISE = "praise"
    APPEAL = "appeal"
    CONSULT = "consult"
    OFFER_MEDIATION = "offer_mediation"
    AID = "aid"
    ENTRY_BAN = "entry_ban"
    ECONOMIC_PRESSURE = "economic_pressure"
    MILITARY_ACTION = "military_action"
    DE_ESCALATE = "de_escalate"
    PROTEST_RALLY = "protest_rally"
    STATEMENT = "statement"
    SUMMONS_CLOSED = "summons_closed"
    ENVOY_ACCREDITED = "envoy_accredited"
    ENVOY_DEPARTED = "envoy_departed"
    ENVOY_RETURNED = "envoy_returned"
    ENVOY_REPLACEMENT_REQUESTED = "envoy_replacement_requested"
    ENVOY_RECALLED = "envoy_recalled"
    ENVOY_EXPELLED = "envoy_expelled"
    ENVOY_REPLACED = "envoy_replaced"


# The CAMEO codes each action may carry; the first is its default. Coding notes that
# matter (../shared/reference/README.md): a summons to hear a complaint is 110, not 040;
# a protest note 114; recall or expulsion 161; a demand 10x; a leaders' call 041.
# CAMEO has no code for refusing recognition (nearest: 12x reject), nor for an envoy's
# movements, a summons case being closed or a new envoy taking office: those take the
# neutral 010 or the cooperative 050 so that they weigh what they are, not more.
ACTION_CAMEO: Final = MappingProxyType(
    {
        Action.SUMMON_ENVOY: ("110",),
        Action.PROTEST_NOTE: ("114",),
        Action.DEMAND: ("100", "101", "1011", "104", "1041", "1044", "106"),
        Action.ACCUSE: ("112", "1121", "1122", "1123", "1124", "1125"),
        Action.CRITICIZE: ("111", "110", "012"),
        Action.THREATEN: ("130", "131", "1312", "132", "136", "137", "138"),
        Action.REJECT: ("120", "121", "1211", "1212", "122", "123", "124", "125", "128"),
        Action.REFUSE_RECOGNITION: ("120",),
        Action.RECOGNISE: ("054",),
        # Recognising a breakaway part of the target defies the target: 128, not 054.
        Action.RECOGNISE_BREAKAWAY: ("128",),
        Action.PRAISE: ("051", "018", "019"),
        Action.APPEAL: ("020", "021", "0212", "022", "0233", "027"),
        Action.CONSULT: ("040", "041", "042", "043", "046"),
        Action.OFFER_MEDIATION: ("039",),
        Action.AID: ("070", "071", "072", "073", "074", "033"),
        Action.ENTRY_BAN: ("172", "132"),
        Action.ECONOMIC_PRESSURE: ("163", "1621", "1312", "1211"),
        Action.MILITARY_ACTION: (
            "190",
            "191",
            "192",
            "193",
            "194",
            "195",
            "1951",
            "200",
            "1712",
            "180",
        ),
        # A truce, ceasefire, retreat or demobilisation: ends an armed conflict (tension).
        Action.DE_ESCALATE: ("087", "0871", "0872", "0873", "0874"),
        Action.PROTEST_RALLY: ("141", "113"),
        Action.STATEMENT: ("010", "012", "013", "018", "019"),
        Action.SUMMONS_CLOSED: ("010",),
        Action.ENVOY_ACCREDITED: ("050",),
        Action.ENVOY_DEPARTED: ("010",),
        Action.ENVOY_RETURNED: ("010",),
        Action.ENVOY_REPLACEMENT_REQUESTED: ("161", "020"),
        Action.ENVOY_RECALLED: ("161",),
        Action.ENVOY_EXPELLED: ("161", "166", "174"),
        Action.ENVOY_REPLACED: ("050",),
    }
)


@cache
def _table() -> dict[str, tuple[str, float]]:
    text = resources.files("schemas").joinpath("data/cameo_goldstein.csv").read_text("utf-8")
    rows = csv.DictReader(text.splitlines())
    return {r["cameo_code"]: (r["description"], float(r["goldstein"])) for r in rows}


@cache
def cameo_codes() -> frozenset[str]:
    """Return every code of the pinned codebook."""
    return frozenset(_table())


def cameo_label(code: str) -> str:
    """Return what a CAMEO code names, in lower case (``114``: ``complain officially``);
    ``KeyError`` for an unknown code."""
    return _table()[code][0].lower()


def goldstein(code: str) -> float:
    """Return the Goldstein weight of a CAMEO code; ``KeyError`` for an unknown code."""
    return _table()[code][1]


def _check_vocabulary() -> None:
    missing = {c for codes in ACTION_CAMEO.values() for c in codes} - cameo_codes()
    if missing or set(ACTION_CAMEO) != set(Action):
        raise RuntimeError(f"action vocabulary out of step with the codebook: {missing}")


_check_vocabulary()
