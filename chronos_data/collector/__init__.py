"""The event collector: write keys, and the HTTP service that takes viewing events from players
and sites where students watch (``python -m chronos_data serve``)."""

from .keys import CreatedKey, KeyOwner, WriteKey, create_key, key_owner, list_keys, revoke_key

__all__ = ["CreatedKey", "KeyOwner", "WriteKey", "create_key", "key_owner", "list_keys", "revoke_key"]
