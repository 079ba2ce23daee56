"""A fake OpenID Connect provider on 127.0.0.1, protocol-true enough for Streamlit's st.login.

It publishes a discovery document and its signing key (JWKS), shows a sign-in form at the
authorization endpoint (the person types an e-mail address, as on a real provider's page),
redirects back with a one-time code, and exchanges that code, checking the client secret and the
PKCE verifier, for an RS256-signed ID token carrying the nonce, audience and issuer Authlib checks.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import time
from typing import Any
from urllib.parse import parse_qs, urlencode

from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.fakes.http import FakeHTTPServer, RecordedRequest, Reply

__all__ = ["FakeOIDCProvider"]


class FakeOIDCProvider(FakeHTTPServer):
    thread_name = "fake-oidc"

    def __init__(self, client_id: str = "chronos-test", client_secret: str = "test-secret") -> None:
        super().__init__()
        self.client_id = client_id
        self.client_secret = client_secret
        self._key = RSAKey.generate_key(2048, parameters={"kid": "test-key", "use": "sig", "alg": "RS256"})
        self._codes: dict[str, dict[str, Any]] = {}
        #: Set to False to make the provider say the address is not verified.
        self.email_verified: bool | None = True  # None: the token carries no email_verified claim
        #: The subject the provider gives an address (default: derived from it): set one to play a
        #: second account that types someone else's address.
        self.subjects: dict[str, str] = {}
        self.issued_tokens: list[dict[str, Any]] = []

    @property
    def metadata_url(self) -> str:
        return f"{self.base_url}/.well-known/openid-configuration"

    def _reply(self, request: RecordedRequest) -> Reply:
        routes = {
            "/.well-known/openid-configuration": self._discovery,
            "/jwks": self._jwks,
            "/authorize": self._authorize,
            "/token": self._token,
            "/logout": self._logout,
        }
        handler = routes.get(request.path)
        return handler(request) if handler else Reply(404, b"not found")

    def _discovery(self, _request: RecordedRequest) -> Reply:
        base = self.base_url
        return _json({
            "issuer": base,
            "authorization_endpoint": f"{base}/authorize",
            "token_endpoint": f"{base}/token",
            "jwks_uri": f"{base}/jwks",
            "end_session_endpoint": f"{base}/logout",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": ["sub", "email", "email_verified", "name"],
        })

    def _jwks(self, _request: RecordedRequest) -> Reply:
        return _json({"keys": [self._key.as_dict(private=False)]})

    def _authorize(self, request: RecordedRequest) -> Reply:
        """GET shows the sign-in form; POST (the form) redirects back to the app with a code."""
        params = {k: v[0] for k, v in (parse_qs(request.body.decode()) if request.method == "POST"
                                       else request.query).items()}
        if params.get("client_id") != self.client_id:
            return Reply(400, b"unknown client_id")
        if request.method == "GET":
            hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                             for k, v in params.items())
            page = (f"<html><body><h1>Fake identity provider</h1><form method='post' action='/authorize'>{hidden}"
                    "<label>E-mail <input name='login_email' type='email'></label>"
                    "<label>Name <input name='login_name'></label>"
                    "<button type='submit'>Continue</button></form></body></html>")
            return Reply(200, page.encode(), content_type="text/html; charset=utf-8")
        code = secrets.token_urlsafe(16)
        self._codes[code] = {**params}
        query = urlencode({"code": code, "state": params.get("state", "")})
        return Reply(302, headers={"Location": f"{params['redirect_uri']}?{query}"})

    def _token(self, request: RecordedRequest) -> Reply:
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if auth := request.headers.get("authorization", ""):
            client_id, _, client_secret = base64.b64decode(auth.split()[1]).decode().partition(":")
        if (client_id, client_secret) != (self.client_id, self.client_secret):
            return _json({"error": "invalid_client"}, 401)
        grant = self._codes.pop(form.get("code", ""), None)  # one use only
        if grant is None or form.get("redirect_uri") != grant.get("redirect_uri"):
            return _json({"error": "invalid_grant"}, 400)
        if challenge := grant.get("code_challenge"):
            digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
            if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != challenge:
                return _json({"error": "invalid_grant", "error_description": "PKCE verifier mismatch"}, 400)
        email = grant["login_email"]
        now = int(time.time())
        claims = {"iss": self.base_url, "aud": self.client_id,
                  "sub": self.subjects.get(email) or hashlib.sha256(email.encode()).hexdigest()[:20],
                  "email": email, "email_verified": self.email_verified, "name": grant.get("login_name") or None,
                  "iat": now, "exp": now + 3600, "nonce": grant.get("nonce")}
        if self.email_verified is None:  # as Microsoft Entra: no claim at all
            del claims["email_verified"]
        self.issued_tokens.append(claims)
        id_token = jwt.encode({"alg": "RS256", "kid": "test-key"}, claims, self._key)
        return _json({"access_token": secrets.token_urlsafe(16), "token_type": "Bearer", "expires_in": 3600,
                      "id_token": id_token, "scope": "openid email profile"})

    def _logout(self, request: RecordedRequest) -> Reply:
        target = request.param("post_logout_redirect_uri")
        return Reply(302, headers={"Location": target}) if target else Reply(200, b"signed out")


def _json(payload: dict[str, Any], status: int = 200) -> Reply:
    return Reply(status, json.dumps(payload).encode(), content_type="application/json")
