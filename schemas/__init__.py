"""Records of the Dipwatch log: pure pydantic models and the CAMEO codebook.

Nothing here imports Kafka or Faust.
"""

from schemas.alerts import Alert, Severity, alert_id
from schemas.codebook import ACTION_CAMEO, SCALE, Action, goldstein
from schemas.codec import decode_alert, decode_event, encode_alert, encode_event, parse_event
from schemas.errors import DipwatchError, InvalidRecord
from schemas.events import (
    DiplomaticEvent,
    Envoy,
    Party,
    PartyKind,
    Source,
    derive_event_id,
    dyad_of,
)

__all__ = [
    "ACTION_CAMEO",
    "SCALE",
    "Action",
    "Alert",
    "DiplomaticEvent",
    "DipwatchError",
    "Envoy",
    "InvalidRecord",
    "Party",
    "PartyKind",
    "Severity",
    "Source",
    "alert_id",
    "decode_alert",
    "decode_event",
    "derive_event_id",
    "dyad_of",
    "encode_alert",
    "encode_event",
    "goldstein",
    "parse_event",
]
