"""The language model that writes answers: OpenAI's Chat Completions, or any compatible server.

The SDK retries 429, 5xx and timeouts itself (``max_retries``, exponential backoff, honouring
Retry-After) before the first token; Chronos turns what still fails into one plain sentence.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from ..config import Settings
from ..errors import ChronosError

__all__ = ["AnswerError", "ChatModel", "OpenAIChat", "StreamUsage", "chat_model_for"]

log = logging.getLogger(__name__)


class AnswerError(ChronosError):
    """The language model could not answer; the message says why and what to do."""


@dataclass
class StreamUsage:
    """Tokens a streamed answer used, filled in when the stream ends (0 if the server did not say)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class ChatModel(Protocol):
    """What the assistant needs from a language model."""

    model: str

    def stream(self, messages: Sequence[dict[str, str]], usage: StreamUsage) -> Iterator[str]: ...

    def complete(self, messages: Sequence[dict[str, str]], *, max_tokens: int = 100) -> str: ...


def chat_model_for(settings: Settings) -> ChatModel | None:
    """The configured model, or None without a key (the assistant then answers offline)."""
    return OpenAIChat(settings) if settings.openai_api_key else None


#: Seconds to open a connection: a server that is up accepts in milliseconds.
_CONNECT_TIMEOUT = 5.0
#: Query rewriting is optional (the question is searched as typed when it fails), so it gets one
#: retry and a short wait instead of holding the student's answer for minutes.
_REWRITE_RETRIES = 1
_REWRITE_TIMEOUT = 15.0


class OpenAIChat:
    """Chat Completions at OPENAI_BASE_URL (OpenAI, Ollama, vLLM, LM Studio).

    ``timeout`` bounds each wait for the server (to the first token, then between streamed pieces;
    a model on a laptop's CPU may think for tens of seconds first), ``max_retries`` the SDK's
    retries of 429, 5xx and timeouts: a hung server is given up on after about
    (max_retries + 1) × timeout.
    """

    def __init__(self, settings: Settings, *, max_retries: int = 3, timeout: float = 60.0) -> None:
        from openai import OpenAI, Timeout

        self.model = settings.openai_chat_model
        self.endpoint = settings.openai_endpoint  # for messages: credentials removed
        self._client = OpenAI(api_key=settings.openai_api_key, base_url=settings.openai_base_url,
                              max_retries=max_retries, timeout=Timeout(timeout, connect=min(timeout, _CONNECT_TIMEOUT)))
        rewrite_timeout = min(timeout, _REWRITE_TIMEOUT)
        self._rewriter = self._client.with_options(
            max_retries=min(max_retries, _REWRITE_RETRIES),
            timeout=Timeout(rewrite_timeout, connect=min(rewrite_timeout, _CONNECT_TIMEOUT)))

    def stream(self, messages: Sequence[dict[str, str]], usage: StreamUsage) -> Iterator[str]:
        """The answer's text as it arrives; ``usage`` is filled in at the end."""
        import openai

        received = False
        try:
            stream = self._client.chat.completions.create(
                model=self.model, messages=list(messages), stream=True, temperature=0,
                stream_options={"include_usage": True})
            for chunk in stream:
                if chunk.usage is not None:
                    usage.prompt_tokens = chunk.usage.prompt_tokens or 0
                    usage.completion_tokens = chunk.usage.completion_tokens or 0
                for choice in chunk.choices:
                    if choice.delta is not None and choice.delta.content:
                        received = True
                        yield choice.delta.content
        except openai.APIError as exc:
            if received:  # the SDK never retries a stream that has started
                raise AnswerError(f"the connection to the language model at {self.endpoint} broke off "
                                  "mid-answer; ask again") from exc
            raise AnswerError(self._explain(exc)) from exc

    def complete(self, messages: Sequence[dict[str, str]], *, max_tokens: int = 100) -> str:
        """A short, non-streamed reply (query rewriting), with a shorter retry budget than answers."""
        import openai

        try:
            response = self._rewriter.chat.completions.create(model=self.model, messages=list(messages),
                                                              temperature=0, max_tokens=max_tokens)
        except openai.APIError as exc:
            raise AnswerError(self._explain(exc)) from exc
        return (response.choices[0].message.content or "").strip() if response.choices else ""

    def _explain(self, exc: Exception) -> str:
        import openai

        if isinstance(exc, openai.AuthenticationError):
            return "The language model rejected the API key; check OPENAI_API_KEY (or unset it to answer offline)."
        if isinstance(exc, openai.PermissionDeniedError):
            return f"This API key may not use the model {self.model}; choose another with CHRONOS_OPENAI_CHAT_MODEL."
        if isinstance(exc, openai.NotFoundError):
            return (f"The model {self.model} is not available at {self.endpoint}; set CHRONOS_OPENAI_CHAT_MODEL "
                    "to a model that server offers.")
        if isinstance(exc, openai.RateLimitError):
            return "The language model is rate-limiting this key even after retries; wait a minute and ask again."
        if isinstance(exc, openai.APITimeoutError):
            return f"The language model at {self.endpoint} did not answer in time, even after retries; ask again."
        if isinstance(exc, openai.APIConnectionError):
            return f"The language model at {self.endpoint} cannot be reached; check OPENAI_BASE_URL and the network."
        if isinstance(exc, openai.InternalServerError):
            return "The language model service had an error, even after retries; ask again in a moment."
        status = getattr(exc, "status_code", None)
        lines = str(getattr(exc, "message", "") or exc).strip().splitlines()
        detail = lines[0].rstrip(".") if lines else "no details"
        return f"The language model refused the request ({status or 'error'}): {detail}."
