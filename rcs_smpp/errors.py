"""Typed errors of the SMPP library. Each decode error carries the command_status to answer with,
so a session never has to guess how to reply to a PDU it could not read."""

from __future__ import annotations

from rcs_smpp.constants import CommandStatus, status_name


class SmppError(Exception):
    """Base of every error raised by rcs_smpp."""


class PduDecodeError(SmppError):
    """A PDU could not be decoded.

    ``status`` is the command_status to answer with; ``command_id`` and ``sequence_number`` are
    set when the header could be read, so the answer can reference the request.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        command_id: int | None = None,
        sequence_number: int | None = None,
    ) -> None:
        super().__init__(f"{status_name(status)}: {message}")
        self.status = status
        self.command_id = command_id
        self.sequence_number = sequence_number


class FramingError(PduDecodeError):
    """command_length itself is unusable: the byte stream cannot be resynchronised."""

    def __init__(self, message: str) -> None:
        super().__init__(CommandStatus.ESME_RINVCMDLEN, message)


class PduEncodeError(SmppError, ValueError):
    """A PDU holds a value that cannot be put on the wire (too long, out of range)."""


class TextEncodeError(SmppError, ValueError):
    """Text cannot be represented in the requested data_coding."""


class TextDecodeError(SmppError, ValueError):
    """Octets are not valid text in their data_coding (or the data_coding is binary/unknown)."""
