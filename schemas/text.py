"""Text that is safe to store and to print: no control or bidirectional-override characters.

A name or summary holding an ESC sequence rewrites the terminal of whoever prints it
(``dipwatch alerts`` did); a right-to-left override makes a line read other than it is.
Records refuse them (:data:`CleanText`); readers that print text from a topic, which
anyone with write access may fill, escape it (:func:`printable`).
"""

from __future__ import annotations

import re
from typing import Annotated, Final

from pydantic import AfterValidator

__all__ = ["CleanText", "check_clean", "printable"]

#: Control characters (Unicode category Cc: C0, DEL, C1) and the bidirectional
#: controls: embeddings, overrides, isolates and marks.
_UNSAFE: Final = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


def check_clean(value: str) -> str:
    """Return ``value``; refuse it if it holds a control or bidi-override character."""
    if value.isprintable():  # the common case, in one C pass: every unsafe character
        return value  # is a control (Cc) or format (Cf) one, which are not printable
    found = _UNSAFE.search(value)
    if found is not None:
        raise ValueError(
            f"control or bidirectional character U+{ord(found.group()):04X} "
            f"at position {found.start()}"
        )
    return value


#: A string field of a record: printable as it is.
CleanText = Annotated[str, AfterValidator(check_clean)]


def printable(value: str) -> str:
    """Return ``value`` with control and bidi characters shown as ``\\uXXXX`` escapes."""
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", value)
