"""What every handler needs, built once per app: config, database, signing key, password hasher,
the mailer and the courier that delivers the outbox."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

from starlette.requests import Request

from guestpass.reference import notify
from guestpass.reference.config import Config
from guestpass.reference.courier import Courier
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
    courier: Courier
    oidc: dict[str, OidcProvider] = field(default_factory=dict)

    @classmethod
    def build(cls, config: Config) -> Runtime:
        db, mailer = Database(config.database_url), Mailer(config)
        courier = Courier(db, config, partial(notify.compose, config=config, mailer=mailer), mailer.send)
        return cls(
            config,
            db,
            load_signing_key(config),
            PasswordHasher(config.password_cost),
            mailer,
            courier,
            providers(config),
        )


def runtime(request: Request) -> Runtime:
    return request.app.state.runtime
