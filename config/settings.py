"""One pydantic-settings class for the whole system.

Environment variables win over `.env`. The three connection settings keep
their conventional names (`DATABASE_URL`, `NATS_URL`, `RAY_ADDRESS`); every
other setting is `COMMERCE_<FIELD>`.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Secrets shorter than this are refused: HS256 with a short key is guessable.
MIN_JWT_SECRET_LENGTH = 32


class SettingsError(Exception):
    """A setting is missing or invalid; the message names it in one line."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="COMMERCE_", env_file=".env", extra="ignore", frozen=True
    )

    mode: Literal["local", "production"] = "local"

    # Connections. Unset means "start the embedded server" (local mode only).
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "COMMERCE_DATABASE_URL")
    )
    nats_url: str | None = Field(
        default=None, validation_alias=AliasChoices("NATS_URL", "COMMERCE_NATS_URL")
    )
    ray_address: str | None = Field(
        default=None, validation_alias=AliasChoices("RAY_ADDRESS", "COMMERCE_RAY_ADDRESS")
    )

    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=1, le=65535)
    state_dir: Path = Path(".commerce")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    # Embedded NATS listens on loopback on a port of its own: 4222 may be a
    # machine service. PostgreSQL listens on a Unix socket only.
    embedded_nats_port: int = Field(default=14222, ge=1, le=65535)

    # Ray / Serve.
    ray_num_cpus: int | None = Field(default=None, ge=1)
    ingress_mode: Literal["haproxy", "proxy"] = "haproxy"
    throughput_optimized: bool = True
    # Serve's own per-request HTTP metrics in HAProxy mode: HAProxy sends a log
    # datagram per request that a Python actor parses (~6% of a core at ~1,000
    # requests/s on 2 cores). The app's /metrics counts and times every route
    # either way.
    haproxy_request_metrics: bool = False
    ingress_replicas: int = Field(default=1, ge=1, le=64)
    # HAProxy's own ports; Ray's defaults (8404, 9101) would clash between two
    # local systems on one machine (e.g. `commerce up` beside the test suite).
    haproxy_stats_port: int = Field(default=18404, ge=1, le=65535)
    haproxy_metrics_port: int = Field(default=19101, ge=1, le=65535)
    db_pool_max: int = Field(default=20, ge=1, le=200)
    # Event workers and the outbox relay run this much nicer (lower CPU
    # priority) than the ingress and the shards: in a rush the checkout path
    # gets the CPU, and the fan-out catches up from JetStream afterwards.
    background_niceness: int = Field(default=5, ge=0, le=19)
    # ... and under Linux's SCHED_IDLE policy: a nice-19 thread still takes ~30%
    # of a core beside a nice-15 one (Ray starts its workers at 15); an idle-policy
    # thread gets a core only when nothing else wants it (the notifications worker
    # took 13-17% of the machine during a flash sale's selling phase).
    background_idle_policy: bool = True

    # Virtual-actor runtime: shard count and hot keys pinned to a shard of their own.
    actor_shards: int = Field(default=2, ge=1, le=256)
    hot_keys: dict[str, int] = Field(default_factory=dict)
    # Admission control: checkouts waiting for one product beyond this get 429.
    admission_queue_limit: int = Field(default=1000, ge=1, le=1_000_000)

    # Cart and orders.
    cart_max_quantity: int = Field(default=99, ge=1, le=10_000)
    order_hold_ttl_s: int = Field(default=15 * 60, ge=1, le=7 * 86_400)
    # A checkout that has not finished its order this long after opening it is
    # presumed dead; the OrderActor finishes (or releases) it.
    order_recovery_grace_s: int = Field(default=30, ge=1, le=3600)
    # How often each shard looks for due dates of actors that are not active
    # (e.g. the hold of an order a ProductActor placed): expiry is this late at most.
    due_sweep_interval_s: float = Field(default=5.0, gt=0, le=600)
    shipping_flat_amount: int = Field(default=499, ge=0)
    shipping_free_over_amount: int | None = Field(default=5_000, ge=0)

    # Auth.
    jwt_secret: SecretStr | None = None
    jwt_algorithm: Literal["HS256", "EdDSA", "RS256"] = "HS256"
    jwt_private_key_file: Path | None = None
    jwt_public_key_file: Path | None = None
    jwt_issuer: str = "commerce"
    jwt_audience: str = "commerce-api"
    access_token_ttl_s: int = Field(default=900, ge=30, le=86_400)
    refresh_token_ttl_s: int = Field(default=30 * 86_400, ge=60)
    # Login throttling: failed sign-ins per email within the window (per
    # client address the limit is 4x this); see serve_app/identity/throttle.py.
    login_max_failures: int = Field(default=5, ge=1, le=1000)
    login_failure_window_s: int = Field(default=900, ge=1, le=86_400)

    # Notifications and delivery (README "Notifications and delivery").
    # Email: without `smtp_host` (the embedded default) mails go to the log.
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_tls: Literal["none", "starttls", "tls"] = "starttls"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = Field(default=None, validate_default=True)
    smtp_from: str = Field(default="Commerce <no-reply@localhost>", min_length=3, max_length=320)
    # SMS: Twilio when all three are set, else the log.
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_from_number: str | None = Field(default=None, validate_default=True)
    # Who moves shipments: the embedded courier simulator, or a real partner
    # calling the courier webhook (signed with `courier_webhook_secret`).
    courier_mode: Literal["simulator", "partner"] = "simulator"
    courier_pickup_delay_s: float = Field(default=60.0, ge=0, le=7 * 86_400)
    courier_delivery_delay_s: float = Field(default=300.0, ge=0, le=7 * 86_400)
    courier_webhook_secret: SecretStr | None = None

    # Defaults are validated too, so a half-configured provider is refused at start.
    @field_validator("twilio_from_number", mode="after")
    @classmethod
    def _twilio_all_or_none(cls, value: str | None, info) -> str | None:
        given = (info.data.get("twilio_account_sid"), info.data.get("twilio_auth_token"), value)
        if any(given) and not all(given):
            raise ValueError("set COMMERCE_TWILIO_ACCOUNT_SID, _AUTH_TOKEN and _FROM_NUMBER together, or none")
        return value

    @field_validator("smtp_password", mode="after")
    @classmethod
    def _smtp_login_pair(cls, value: SecretStr | None, info) -> SecretStr | None:
        if (info.data.get("smtp_username") is None) != (value is None):
            raise ValueError("set COMMERCE_SMTP_USERNAME and COMMERCE_SMTP_PASSWORD together, or neither")
        return value

    @field_validator("courier_webhook_secret", mode="after")
    @classmethod
    def _webhook_secret_long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters")
        return value

    # Payments (README "Payments"). The simulated gateway is the embedded
    # default; `stripe` needs an API key, and `stripe_api_base` points the SDK
    # elsewhere (localstripe in tests). Webhooks are refused until a signing
    # secret is set.
    payment_gateway: Literal["simulated", "stripe"] = "simulated"
    stripe_api_key: SecretStr | None = Field(default=None, validate_default=True)
    stripe_api_base: str | None = None
    stripe_webhook_secret: SecretStr | None = None
    stripe_webhook_tolerance_s: int = Field(default=300, ge=1, le=86_400)

    @field_validator("stripe_api_key", mode="after")
    @classmethod
    def _stripe_key_for_stripe(cls, value: SecretStr | None, info) -> SecretStr | None:
        if info.data.get("payment_gateway") == "stripe" and not (value and value.get_secret_value().strip()):
            raise ValueError("required when COMMERCE_PAYMENT_GATEWAY=stripe")
        return value

    @field_validator("stripe_api_base")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s):// URL")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("must be a postgresql:// URL")
        from psycopg.conninfo import conninfo_to_dict  # parses without connecting

        try:
            conninfo_to_dict(value)
        except Exception as exc:  # psycopg raises ProgrammingError subclasses
            raise ValueError(f"malformed PostgreSQL URL ({exc})") from None
        return value

    @field_validator("nats_url")
    @classmethod
    def _nats_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        for url in value.split(","):
            if not url.strip().startswith(("nats://", "tls://", "ws://", "wss://")):
                raise ValueError("must be a nats:// URL (comma-separated for a cluster)")
        return value

    @field_validator("hot_keys")
    @classmethod
    def _hot_key_shards_in_range(cls, value: dict[str, int]) -> dict[str, int]:
        if any(shard < 0 for shard in value.values()):
            raise ValueError("shard numbers must be >= 0")
        return value

    @property
    def log_file(self) -> Path | None:
        """Local runs also keep their JSON logs in the state dir; production logs to stderr only."""
        return self.state_dir.resolve() / "logs" / "commerce.jsonl" if self.mode == "local" else None

    @property
    def jwt_secret_file(self) -> Path:
        return self.state_dir / "jwt_secret"

    def ray_serve_flags(self) -> dict[str, str]:
        """Flags Ray Serve reads from its processes' environment when they start: the
        same for a local cluster (serve_app/runner.py) and KubeRay (deploy/kuberay)."""
        flags = {}
        if self.ingress_mode == "haproxy":
            flags["RAY_SERVE_ENABLE_HA_PROXY"] = "1"
            flags["RAY_SERVE_HAPROXY_METRICS_ENABLED"] = "1" if self.haproxy_request_metrics else "0"
        if self.throughput_optimized:
            flags["RAY_SERVE_THROUGHPUT_OPTIMIZED"] = "1"
        return flags

    def with_secrets(self) -> Settings:
        """Fill in what local mode may generate; refuse what production must be given.

        Local mode keeps one generated JWT secret in the state dir, so tokens
        survive a restart. Production never gets a usable default.
        """
        if self.jwt_algorithm != "HS256":
            if not (self.jwt_private_key_file and self.jwt_public_key_file):
                raise SettingsError(
                    "COMMERCE_JWT_PRIVATE_KEY_FILE and COMMERCE_JWT_PUBLIC_KEY_FILE: "
                    f"required for {self.jwt_algorithm}"
                )
            return self
        if self.jwt_secret is not None:
            if len(self.jwt_secret.get_secret_value()) < MIN_JWT_SECRET_LENGTH:
                raise SettingsError(
                    f"COMMERCE_JWT_SECRET: must be at least {MIN_JWT_SECRET_LENGTH} characters"
                )
            return self
        if self.mode == "production":
            raise SettingsError("COMMERCE_JWT_SECRET: required in production mode")
        path = self.jwt_secret_file
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return self.model_copy(update={"jwt_secret": SecretStr(path.read_text().strip())})

    def require_external_servers(self) -> None:
        if self.mode == "production":
            for name, value in (("DATABASE_URL", self.database_url), ("NATS_URL", self.nats_url)):
                if not value:
                    raise SettingsError(f"{name}: required in production mode")


def _one_line(error: ValidationError) -> str:
    first = error.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else "settings"
    # Aliased fields report their alias (DATABASE_URL); the rest their field name.
    env_name = field if field.isupper() else f"COMMERCE_{field.upper()}"
    message = " ".join(first["msg"].removeprefix("Value error, ").split())
    return f"{env_name}: {message}"


def load_settings(**overrides) -> Settings:
    """Read settings, turning a validation error into a one-line SettingsError."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError(_one_line(exc)) from None
