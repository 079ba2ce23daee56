"""Which identity-token claims open a workspace: a verified address, from a named provider and subject."""

from __future__ import annotations

import pytest

from chronos_data.access import Identity, identity_from_claims
from chronos_data.errors import ValidationError

ENTRA = "https://login.microsoftonline.com/tenant-id/v2.0"
CLAIMS = {"iss": "https://accounts.google.com", "sub": "1234", "email": "ada@example.com", "name": "Ada"}


def test_a_verified_address_signs_in_as_the_provider_s_subject():
    identity = identity_from_claims({**CLAIMS, "email_verified": True})
    assert identity == Identity("https://accounts.google.com", "1234", "ada@example.com", "Ada")
    assert identity_from_claims({**CLAIMS, "email_verified": "true"}).subject == "1234"


@pytest.mark.parametrize("verified", [None, False, "false", 1, "yes"], ids=repr)
def test_an_address_the_provider_did_not_confirm_is_refused(verified):
    claims = dict(CLAIMS) if verified is None else {**CLAIMS, "email_verified": verified}
    with pytest.raises(ValidationError, match="not confirmed that ada@example.com is yours"):
        identity_from_claims(claims)


def test_a_provider_the_operator_trusts_may_omit_the_claim():
    claims = {**CLAIMS, "iss": ENTRA}
    assert identity_from_claims(claims, [ENTRA + "/"]).issuer == ENTRA
    with pytest.raises(ValidationError):
        identity_from_claims(claims, ["https://accounts.google.com"])


@pytest.mark.parametrize(("missing", "message"), [("sub", "did not say who you are"), ("iss", "did not say who you are"),
                                                  ("email", "did not share an e-mail address")])
def test_a_token_without_an_identity_or_address_is_refused_with_what_to_do(missing, message):
    claims = {k: v for k, v in {**CLAIMS, "email_verified": True}.items() if k != missing}
    with pytest.raises(ValidationError, match=message):
        identity_from_claims(claims)
