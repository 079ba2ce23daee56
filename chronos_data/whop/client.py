"""The Whop SDK, set up for Chronos: its base URL from the settings, retries on rate limits and
server errors (the SDK waits as ``Retry-After`` says), and its errors said in words.

Nothing here logs or returns the API key: error messages name the status and Whop's own words,
with the key blanked out should Whop ever echo it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import httpx
from whop_sdk import Whop
from whop_sdk.core.api_error import ApiError
from whop_sdk.core.parse_error import ParsingError
from whop_sdk.environment import WhopEnvironment

from ..config import Settings
from ..errors import ChronosError

__all__ = ["MAX_RETRIES", "PAGE_SIZE", "WhopError", "call", "calling_whop", "whop_client"]

log = logging.getLogger(__name__)

#: Tries after the first for a 429, 408, 409 or 5xx answer; the SDK waits Retry-After (at most 60 s)
#: or backs off 1, 2, 4 s between them.
MAX_RETRIES = 3
#: Items per page: Whop's lists go up to 100; a page is also the unit a stopped sync resumes from.
PAGE_SIZE = 100
TIMEOUT_SECONDS = 30.0

T = TypeVar("T")


class WhopError(ChronosError):
    """Whop refused or failed a request; the message says why and what to do.

    ``status`` is Whop's HTTP status (None when Whop could not be reached).
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@contextmanager
def whop_client(settings: Settings, api_key: str) -> Iterator[Whop]:
    """An SDK client for ``api_key``, pointed at ``settings.whop_base_url`` when set; its
    connections are closed on leaving."""
    environment = WhopEnvironment.PRODUCTION
    if settings.whop_base_url:
        base = settings.whop_base_url.rstrip("/")
        environment = WhopEnvironment(api=base, vault=base)
    with httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=True) as http:
        yield Whop(token=api_key, environment=environment, max_retries=MAX_RETRIES, timeout=TIMEOUT_SECONDS,
                   httpx_client=http)


@contextmanager
def calling_whop(api_key: str, doing: str, company_id: str | None = None) -> Iterator[None]:
    """Turn the SDK's and httpx's errors raised inside into one WhopError saying ``doing`` failed."""
    try:
        yield
    except ApiError as exc:
        raise WhopError(_message(exc, doing, company_id, api_key), exc.status_code) from None
    except ParsingError:
        raise WhopError(f"Whop answered in a form this version of Chronos does not read while {doing}; "
                        "update Chronos (pip install -r requirements.txt) and sync again.") from None
    except httpx.TimeoutException:
        raise WhopError(f"Whop did not answer in {TIMEOUT_SECONDS:.0f} seconds while {doing}; "
                        "try again later.") from None
    except httpx.HTTPError as exc:
        raise WhopError(f"Whop could not be reached while {doing} ({type(exc).__name__}); "
                        "check the network and try again.") from None


def call(api_key: str, doing: str, fn: Callable[[], T], company_id: str | None = None) -> T:
    """``fn()`` inside ``calling_whop``."""
    with calling_whop(api_key, doing, company_id):
        return fn()


def _message(exc: ApiError, doing: str, company_id: str | None, api_key: str) -> str:
    status = exc.status_code
    said = _whop_said(exc.body, api_key)
    if status == 401:
        text = ("Whop refused the API key (401): it is wrong, expired or revoked. Create a company API key "
                "in Whop's developer settings and connect again")
    elif status == 403:
        text = (f"The API key may not read company {company_id or ''} (403): use a key made by that "
                "company, with the member, course and lesson read permissions").replace("  ", " ")
    elif status == 404:
        text = f"Whop knows no company {company_id} (404): check the company id (it starts with biz_)" \
            if company_id else "Whop answered 404 (not found)"
    elif status == 429:
        text = f"Whop kept answering 429 (too many requests) after {MAX_RETRIES} retries; sync again later"
    elif status is not None and status >= 500:
        text = f"Whop had a server error ({status}) after {MAX_RETRIES} retries; sync again later"
    else:
        text = f"Whop answered {status}"
    return f"{text} — while {doing}" + (f". Whop said: {said}" if said else ".")


def _whop_said(body: Any, api_key: str) -> str | None:
    """Whop's own error message from an error body ({"error": {"message": ...}}), if any."""
    message = None
    if isinstance(body, dict):
        error = body.get("error")
        message = error.get("message") if isinstance(error, dict) else body.get("message")
    if not isinstance(message, str) or not message.strip():
        return None
    if api_key:
        message = message.replace(api_key, "***")
    return message.strip()[:300]
