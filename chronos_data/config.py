"""Settings: the one place Chronos reads its environment."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["Settings", "LOCAL_CREATOR_EMAIL", "OPENAI_ENDPOINT", "shown_url"]

#: Where OpenAI's client sends requests when OPENAI_BASE_URL is unset.
OPENAI_ENDPOINT = "https://api.openai.com/v1"
_SECRET_PARAM = re.compile(r"key|token|secret|password|passwd|pwd|auth|sig|credential", re.IGNORECASE)

#: The workspace of single-user mode (no sign-in configured).
LOCAL_CREATOR_EMAIL = "local@chronos.localhost"


@dataclass(frozen=True)
class Settings:
    """Configuration from environment variables (see the README's Configuration table)."""

    database_url: str | None
    data_dir: Path
    openai_api_key: str | None
    openai_base_url: str | None
    local_creator_email: str = LOCAL_CREATOR_EMAIL
    openai_embedding_model: str = "text-embedding-3-small"
    openai_embedding_dimensions: int = 1536
    #: The chat model that writes the assistant's answers when a key is set.
    openai_chat_model: str = "gpt-4o-mini"
    #: Off for processes that must not take import work (tests, a read-only replica).
    import_worker: bool = True
    #: Seconds a claimed import may go without a sign of life from its worker before another worker
    #: takes it over (the first is presumed dead); live workers renew it every third of that.
    import_lease_seconds: float = 300.0
    #: Sign-in providers (their issuer URLs) trusted to hand out only addresses they verified, for
    #: tokens without an ``email_verified`` claim (Microsoft Entra work accounts).
    verified_email_issuers: tuple[str, ...] = ()
    #: Serve visitors from other computers without sign-in (a network where everyone may use the
    #: workspace); off, such a visitor gets a page saying how to set up sign-in.
    trusted_network: bool = False
    #: The port uploads are played from (``chronos_data.media_server``); 0 picks a free one at start,
    #: a fixed one can be opened in a firewall when the app serves other computers.
    media_port: int = 0
    #: How the app's own connections log in under DATABASE_URL (a role with no path back to the
    #: owner); unset, Chronos logs in as chronos_app with a password it derives and sets itself.
    app_database_url: str | None = None
    #: Where players and web pages reach the event collector (``python -m chronos_data serve``), as
    #: a page shows it in a snippet: behind a proxy, the proxy's https address.
    collector_url: str = "http://127.0.0.1:8502"
    #: Where the Whop SDK sends requests (WHOP_BASE_URL, e.g. a test server); unset, Whop's own API.
    whop_base_url: str | None = None
    #: Encrypts stored secrets (a Whop API key) at rest: a Fernet key (CHRONOS_SECRET_KEY); unset, a
    #: key generated once into the data folder (``secret.key``, readable by its owner only).
    secret_key: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``env`` (default ``os.environ``); blank values count as unset."""
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        data_dir = get("CHRONOS_DATA_DIR")
        return cls(
            database_url=get("DATABASE_URL"),
            data_dir=Path(data_dir).expanduser() if data_dir else Path.home() / ".chronos",
            openai_api_key=get("OPENAI_API_KEY"),
            openai_base_url=get("OPENAI_BASE_URL"),
            local_creator_email=get("CHRONOS_LOCAL_EMAIL") or LOCAL_CREATOR_EMAIL,
            openai_embedding_model=get("CHRONOS_OPENAI_EMBEDDING_MODEL") or "text-embedding-3-small",
            openai_embedding_dimensions=int(get("CHRONOS_OPENAI_EMBEDDING_DIMENSIONS") or 1536),
            openai_chat_model=get("CHRONOS_OPENAI_CHAT_MODEL") or "gpt-4o-mini",
            import_worker=(get("CHRONOS_IMPORT_WORKER") or "on").lower() not in {"off", "0", "false", "no"},
            import_lease_seconds=float(get("CHRONOS_IMPORT_LEASE_SECONDS") or 300),
            verified_email_issuers=tuple(i.strip() for i in (get("CHRONOS_VERIFIED_EMAIL_ISSUERS") or "").split(",")
                                         if i.strip()),
            trusted_network=(get("CHRONOS_TRUSTED_NETWORK") or "off").lower() in {"on", "1", "true", "yes"},
            media_port=int(get("CHRONOS_MEDIA_PORT") or 0),
            app_database_url=get("CHRONOS_APP_DATABASE_URL"),
            collector_url=(get("CHRONOS_COLLECTOR_URL") or "http://127.0.0.1:8502").rstrip("/"),
            whop_base_url=get("WHOP_BASE_URL"),
            secret_key=get("CHRONOS_SECRET_KEY"),
        )

    @property
    def openai_endpoint(self) -> str:
        """The OpenAI-compatible server in use, as it may be shown (no credentials)."""
        return shown_url(self.openai_base_url or OPENAI_ENDPOINT)

    @property
    def pgdata(self) -> Path:
        """Folder of the embedded Postgres cluster inside the data folder."""
        return self.data_dir / "pgdata"


def shown_url(url: str) -> str:
    """``url`` safe to show on a page, write to a log or store in a video's error message: without
    the ``user:password@`` part and with secret-looking query values (``?api-key=…``) replaced by ***.
    OPENAI_BASE_URL may carry credentials (``http://user:PASS@host/v1``) that analysts must not see."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return re.sub(r"//[^/@\s]*@", "//", url)
    netloc = parts.hostname or ""
    if ":" in netloc:  # an IPv6 address
        netloc = f"[{netloc}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is not None:
        netloc += f":{port}"
    query = urlencode([(k, "***" if _SECRET_PARAM.search(k) else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)],
                      safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))
