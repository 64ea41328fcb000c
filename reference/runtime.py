"""What every handler needs, built once per app: config, database, signing key, password hasher."""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.requests import Request

from guestpass.reference.config import Config
from guestpass.reference.mailer import Mailer
from guestpass.reference.oidc import OidcProvider, providers
from guestpass.reference.passwords import PasswordHasher
from guestpass.reference.storage.db import Database
from guestpass.reference.tokens import SigningKey, load_signing_key


@dataclass(frozen=True)
class Runtime:
    config: Config
    db: Database
    key: SigningKey
    passwords: PasswordHasher
    mailer: Mailer
    oidc: dict[str, OidcProvider] = field(default_factory=dict)

    @classmethod
    def build(cls, config: Config) -> Runtime:
        return cls(
            config,
            Database(config.database_url),
            load_signing_key(config),
            PasswordHasher(config.password_cost),
            Mailer(config),
            providers(config),
        )


def runtime(request: Request) -> Runtime:
    return request.app.state.runtime
