"""One plain sentence for a failed call to OpenAI (or a compatible server), shared by the clients
that embed and transcribe. The SDK has already retried by then (with backoff, honouring
Retry-After); what is left is to say what failed and what the person can do."""

from __future__ import annotations

from typing import Any

from .errors import SourceError

__all__ = ["source_error"]


def source_error(exc: Any, service: str, *, again: str, endpoint: str, key_hint: str = "") -> SourceError:
    """The SourceError for ``exc``, an ``openai.OpenAIError`` raised by a call to ``service``.

    Args:
        service: what failed, as the sentence names it ("embedding service").
        again: the person's next step ("try again", "retry the video").
        endpoint: the server's URL, named when it cannot be reached.
        key_hint: added to the rejected-key sentence (another way to work without a key).
    """
    import openai

    if isinstance(exc, openai.AuthenticationError):
        return SourceError(f"OpenAI rejected the API key; check OPENAI_API_KEY{key_hint}.")
    if isinstance(exc, openai.RateLimitError):
        return SourceError(f"The {service} is rate-limiting this key, even after retries; wait a few minutes and "
                           f"{again}.", transient=True)
    if isinstance(exc, openai.APITimeoutError):  # before APIConnectionError, its base class
        return SourceError(f"The {service} did not answer in time, even after retries; {again} in a few minutes.",
                           transient=True)
    if isinstance(exc, openai.APIConnectionError):
        return SourceError(f"The {service} at {endpoint} cannot be reached; check OPENAI_BASE_URL and the network, "
                           f"then {again}.", transient=True)
    if isinstance(exc, openai.APIStatusError):
        if exc.status_code >= 500:  # InternalServerError, and 5xx codes the SDK has no class for
            return SourceError(f"The {service} had an error, even after retries; {again} in a few minutes.",
                               transient=True)
        return SourceError(f"The {service} refused the request ({exc.status_code}): {_first_line(_message(exc))}.")
    return SourceError(f"The {service} sent an answer Chronos could not read.")


def _message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return body["message"]
    return exc.message


def _first_line(text: str) -> str:
    return (text or "").strip().splitlines()[0].rstrip(".") if (text or "").strip() else "no details"
