"""Typed errors whose message a page or the command line can show to a user as is."""

from __future__ import annotations

__all__ = [
    "ChronosError",
    "DatabaseUnavailable",
    "LimitReached",
    "MigrationError",
    "NotFound",
    "ReadOnlyAccess",
    "SourceError",
    "StaleEdit",
    "StartupError",
    "ValidationError",
]


class ChronosError(Exception):
    """Base of every error Chronos reports to a person: str(error) is one plain sentence."""


class StartupError(ChronosError):
    """The database could not be started or reached; the message names the cause and the fix."""


class DatabaseUnavailable(ChronosError):
    """The database went away while the app was running; retrying later may succeed."""


class MigrationError(ChronosError):
    """A migration file could not be applied, or an applied file was edited afterwards."""


class ValidationError(ChronosError):
    """Input was rejected; the message says what is wrong and what to do."""


class StaleEdit(ChronosError):
    """Someone (another tab) changed the same thing since this page showed it; reload and retry."""


class LimitReached(ValidationError):
    """A plan limit (daily questions, upload size) was reached; the message says when it resets."""


class ReadOnlyAccess(ChronosError):
    """An analyst teammate tried to change a workspace they may only read."""


class NotFound(ChronosError):
    """The requested row does not exist in this workspace."""


class SourceError(ChronosError):
    """A video's source (YouTube, OpenAI, a file) could not give Chronos its transcript.

    ``transient`` marks failures worth retrying later (rate limits, timeouts, 5xx); permanent
    ones (private video, captions disabled) fail at once with the message as the reason.
    """

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient
