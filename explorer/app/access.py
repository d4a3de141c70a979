"""Who may open the explorer: Panel's basic auth (a password or a JSON file of users) or an OAuth provider.

`auth_options` checks what the command line gave and returns the keywords for `pn.serve`;
anything wrong is a ValueError that says what to give instead. Secrets may come from Panel's
environment variables (PANEL_OAUTH_KEY, PANEL_OAUTH_SECRET, PANEL_COOKIE_SECRET,
PANEL_OAUTH_ENCRYPTION) so they stay out of the process list.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Access:
    """The access options of `latent-explorer serve` (all optional)."""

    basic_auth: str | None = None
    oauth_provider: str | None = None
    oauth_key: str | None = None
    oauth_secret: str | None = None
    cookie_secret: str | None = None
    oauth_encryption_key: str | None = None
    oauth_redirect_uri: str | None = None

    @property
    def protected(self) -> bool:
        """Whether visitors must log in."""
        return bool(self.basic_auth or self.oauth_provider)


def auth_options(access: Access) -> tuple[dict[str, Any], list[str]]:
    """pn.serve keywords for `access`, and notes for the operator; ValueError when it cannot work."""
    import panel as pn

    if access.basic_auth and access.oauth_provider:
        raise ValueError("choose one of --basic-auth and --oauth-provider, not both")
    if not access.protected:
        if access.oauth_key or access.oauth_secret or access.oauth_encryption_key or access.oauth_redirect_uri:
            raise ValueError("--oauth-key, --oauth-secret, --oauth-encryption-key and --oauth-redirect-uri "
                             "need --oauth-provider")
        return {}, []
    notes: list[str] = []
    options: dict[str, Any] = {}
    if access.basic_auth:
        options["basic_auth"] = _checked_basic_auth(access.basic_auth)
    else:
        options.update(_oauth(access, pn.config))
        if not (access.oauth_encryption_key or pn.config.oauth_encryption_key):
            notes.append("OAuth tokens go unencrypted into cookies; give --oauth-encryption-key "
                         "(make one with `panel oauth-secret`)")
    cookie_secret = access.cookie_secret or pn.config.cookie_secret
    if not cookie_secret:
        if access.oauth_provider:
            raise ValueError("OAuth needs --cookie-secret (or $PANEL_COOKIE_SECRET): a long random string, "
                             "e.g. from `python -c 'import secrets; print(secrets.token_urlsafe(32))'`")
        cookie_secret = secrets.token_urlsafe(32)
        notes.append("a random cookie secret was made for this process: logins end when it restarts; give "
                     "--cookie-secret (the same to every process behind one proxy) to keep them")
    options["cookie_secret"] = cookie_secret
    return options, notes


def _checked_basic_auth(value: str) -> str:
    """A password, or the path of a JSON file of {"user": "password"}; a mistyped path is not taken as a password."""
    path = Path(value)
    if path.is_file():
        try:
            users = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ValueError(f"--basic-auth file {value} is not readable JSON ({error})") from None
        if not users or not isinstance(users, dict) or not all(
                isinstance(k, str) and isinstance(v, str) and v for k, v in users.items()):
            raise ValueError(f'--basic-auth file {value} must hold {{"user": "password", ...}} with at least one user')
        return str(path)
    if value.endswith(".json") or "/" in value:
        raise ValueError(f"--basic-auth {value!r} looks like a file path, but there is no such file")
    if len(value) < 8:
        raise ValueError("--basic-auth password must be at least 8 characters")
    return value


def _oauth(access: Access, config: Any) -> dict[str, Any]:
    from panel.auth import AUTH_PROVIDERS

    provider = access.oauth_provider
    if provider not in AUTH_PROVIDERS:
        raise ValueError(f"unknown --oauth-provider {provider!r}; Panel knows {', '.join(sorted(AUTH_PROVIDERS))}")
    key = access.oauth_key or config.oauth_key
    secret = access.oauth_secret or config.oauth_secret
    if not key or not secret:
        raise ValueError("OAuth needs --oauth-key and --oauth-secret (or $PANEL_OAUTH_KEY and $PANEL_OAUTH_SECRET) "
                         f"from the {provider} app registration")
    options: dict[str, Any] = {"oauth_provider": provider, "oauth_key": key, "oauth_secret": secret}
    if access.oauth_redirect_uri:
        options["oauth_redirect_uri"] = access.oauth_redirect_uri
    encryption_key = access.oauth_encryption_key or config.oauth_encryption_key
    if encryption_key:
        _use_encryption_key(encryption_key, config)
    return options


def _use_encryption_key(key: str | bytes, config: Any) -> None:
    """Encrypt OAuth tokens in cookies with `key` (32 URL-safe base64 bytes), as `panel serve` does."""
    from panel.io.state import state

    raw = key.encode("ascii") if isinstance(key, str) else key
    try:
        decoded = base64.urlsafe_b64decode(raw)
    except (binascii.Error, ValueError):
        decoded = b""
    if len(decoded) != 32:
        raise ValueError("--oauth-encryption-key must be 32 URL-safe base64 bytes; make one with `panel oauth-secret`")
    try:
        from cryptography.fernet import Fernet
    except ImportError:
        raise ValueError("--oauth-encryption-key needs the cryptography package: pip install cryptography") from None
    config.oauth_encryption_key = raw
    state.encryption = Fernet(raw)
