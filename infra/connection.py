"""How to reach the brokers: bootstrap servers plus transport security, for every client.

``Connection.from_settings`` is the one place that turns the ``DIPWATCH_*`` security
settings into client options: the aiokafka producers and consumers, the admin client,
the readiness probe and Faust (``broker_credentials``) all take them from here. The
password never appears in a repr, a log line or an error message.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from infra.settings import SaslMechanism, SecurityProtocol, Settings
from schemas.errors import BrokerError

__all__ = ["Connection", "as_connection"]


@dataclass(frozen=True)
class Connection:
    """Bootstrap servers and the transport security to use with them."""

    bootstrap: str
    security_protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: SaslMechanism = "SCRAM-SHA-512"
    username: str | None = None
    password: SecretStr | None = field(default=None, repr=False)
    cafile: Path | None = None
    certfile: Path | None = None
    keyfile: Path | None = None

    @classmethod
    def from_settings(cls, settings: Settings, bootstrap: str | None = None) -> Connection:
        """The connection ``settings`` describe (``bootstrap`` overrides their servers)."""
        servers = bootstrap or settings.bootstrap_servers
        if not servers:
            raise BrokerError("no broker configured: set DIPWATCH_BOOTSTRAP_SERVERS=host:port")
        password = settings.sasl_password
        if password is None and settings.sasl_password_file is not None:
            try:
                text = settings.sasl_password_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise BrokerError(
                    f"cannot read DIPWATCH_SASL_PASSWORD_FILE {settings.sasl_password_file} "
                    f"({exc.strerror})"
                ) from None
            password = SecretStr(text)
        connection = cls(
            servers,
            settings.security_protocol,
            settings.sasl_mechanism,
            settings.sasl_username,
            password,
            settings.ssl_cafile,
            settings.ssl_certfile,
            settings.ssl_keyfile,
        )
        connection.check()
        return connection

    @property
    def uses_sasl(self) -> bool:
        return self.security_protocol.startswith("SASL_")

    @property
    def uses_tls(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")

    def check(self) -> None:
        """Refuse an incomplete configuration with one clear line."""
        if self.uses_sasl and (not self.username or self.password is None):
            raise BrokerError(
                f"{self.security_protocol} needs DIPWATCH_SASL_USERNAME and "
                "DIPWATCH_SASL_PASSWORD (or DIPWATCH_SASL_PASSWORD_FILE)"
            )
        if (self.certfile is None) != (self.keyfile is None):
            raise BrokerError("a client certificate needs both DIPWATCH_SSL_CERTFILE and _KEYFILE")

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context for SSL and SASL_SSL (system CAs unless a CA file is set)."""
        if not self.uses_tls:
            return None
        from aiokafka.helpers import create_ssl_context  # (only with TLS: start-up time)

        try:
            context: ssl.SSLContext = create_ssl_context(
                cafile=str(self.cafile) if self.cafile else None,
                certfile=str(self.certfile) if self.certfile else None,
                keyfile=str(self.keyfile) if self.keyfile else None,
            )
        except OSError as exc:
            where = exc.filename or self.cafile or self.certfile
            raise BrokerError(f"cannot set up TLS: {where}: {exc.strerror or exc}") from None
        except ssl.SSLError as exc:
            raise BrokerError(f"cannot set up TLS: {exc}") from None
        return context

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for any aiokafka client (producer, consumer, admin, client)."""
        options: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap,
            "security_protocol": self.security_protocol,
        }
        context = self.ssl_context()
        if context is not None:
            options["ssl_context"] = context
        if self.uses_sasl:
            assert self.password is not None
            options |= {
                "sasl_mechanism": self.sasl_mechanism,
                "sasl_plain_username": self.username,
                "sasl_plain_password": self.password.get_secret_value(),
            }
        return options


def as_connection(target: Connection | str) -> Connection:
    """A connection for ``target``; a bare ``host:port`` string is plaintext."""
    return target if isinstance(target, Connection) else Connection(target)
