"""Settings -> the Serve config KubeRay deploys (`serveConfigV2`).

The cluster runs the same application builder as a local run and reads the
same `config.Settings`; this module only decides which settings travel as
plain `runtime_env` variables. Secrets and connection URLs never do: they
reach the pods as `secretKeyRef` env vars (see `render.py`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from config.settings import Settings

APP_NAME = "commerce"
IMPORT_PATH = "serve_app.bootstrap:build_app"
INGRESS_DEPLOYMENT = "Ingress"
OUTBOX_RELAY_DEPLOYMENT = "OutboxRelay"

# Inside a pod the app must listen on every interface, whatever a local
# `.env` says about `http_host`.
IN_CLUSTER_HTTP_HOST = "0.0.0.0"

# Ingress autoscaling. Serve scales on ongoing requests per replica, and the
# target only means something relative to `max_ongoing_requests` (Serve's
# default cap of 5 would never let a target of 64 be reached), so both are set
# here. Handlers mostly await shard actors that micro-batch per key, so a
# replica carries many concurrent requests.
INGRESS_MAX_ONGOING_REQUESTS = 256
INGRESS_TARGET_ONGOING_REQUESTS = 64
INGRESS_MAX_REPLICAS_CAP = 64
INGRESS_UPSCALE_DELAY_S = 10.0
INGRESS_DOWNSCALE_DELAY_S = 300.0

# Settings that are not rendered as plain env vars, and why. Every other
# field is. A new setting lands in the manifest unless it is listed here.
NOT_RENDERED: dict[str, str] = {
    "database_url": "secret: DATABASE_URL comes from the CloudNativePG app secret",
    "nats_url": "secret: NATS_URL comes from a Secret (it may carry credentials)",
    "jwt_secret": "secret: COMMERCE_JWT_SECRET comes from a Secret",
    "ray_address": "the app runs inside the Ray cluster it would connect to",
    "state_dir": "local mode only: embedded servers and the generated JWT secret",
    "embedded_nats_port": "local mode only: the embedded NATS server",
    "ray_num_cpus": "local ray.init only: pod resources size the cluster",
    "haproxy_stats_port": "local only: one HAProxy per pod, Ray's default ports apply",
    "haproxy_metrics_port": "local only: one HAProxy per pod, Ray's default ports apply",
    "jwt_private_key_file": "asymmetric JWT keys need mounted files; not rendered",
    "jwt_public_key_file": "asymmetric JWT keys need mounted files; not rendered",
    "smtp_password": "secret: COMMERCE_SMTP_PASSWORD must come from a Secret",
    "twilio_auth_token": "secret: COMMERCE_TWILIO_AUTH_TOKEN must come from a Secret",
    "courier_webhook_secret": "secret: COMMERCE_COURIER_WEBHOOK_SECRET must come from a Secret",
    "stripe_api_key": "secret: COMMERCE_STRIPE_API_KEY must come from a Secret",
    "stripe_webhook_secret": "secret: COMMERCE_STRIPE_WEBHOOK_SECRET must come from a Secret",
}

# Rendered, but with the in-cluster value rather than the local one.
OVERRIDDEN: dict[str, Any] = {"http_host": IN_CLUSTER_HTTP_HOST}


def check_renderable(settings: Settings) -> None:
    """Refuse settings this renderer cannot turn into a working cluster."""
    if settings.mode != "production":
        raise ValueError(
            "COMMERCE_MODE: the cluster runs in production mode (no embedded "
            "servers); render from Settings(mode='production')"
        )
    if settings.jwt_algorithm != "HS256":
        raise ValueError(
            f"COMMERCE_JWT_ALGORITHM: {settings.jwt_algorithm} needs key files mounted "
            "into the pods, which this renderer does not do; use HS256"
        )


def env_name(field: str) -> str:
    return f"COMMERCE_{field.upper()}"


def env_value(value: Any) -> str:
    """A setting as pydantic-settings reads it back from the environment."""
    if isinstance(value, SecretStr):
        raise TypeError("a secret must be passed by secretKeyRef, never as a value")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    if isinstance(value, Path):
        return value.as_posix()
    return str(value)


def runtime_env_vars(settings: Settings) -> dict[str, str]:
    """The non-secret settings, as `COMMERCE_<FIELD>` strings."""
    check_renderable(settings)
    env: dict[str, str] = {}
    for field in type(settings).model_fields:
        if field in NOT_RENDERED:
            continue
        value = OVERRIDDEN.get(field, getattr(settings, field))
        if value is not None:
            env[env_name(field)] = env_value(value)
    return env


def ingress_autoscaling(settings: Settings) -> dict[str, Any]:
    low = settings.ingress_replicas
    return {
        "min_replicas": low,
        "initial_replicas": low,
        "max_replicas": max(low, min(4 * low, INGRESS_MAX_REPLICAS_CAP)),
        "target_ongoing_requests": INGRESS_TARGET_ONGOING_REQUESTS,
        "upscale_delay_s": INGRESS_UPSCALE_DELAY_S,
        "downscale_delay_s": INGRESS_DOWNSCALE_DELAY_S,
    }


def serve_config(settings: Settings) -> dict[str, Any]:
    """The Serve deploy config (`ServeDeploySchema`) for the cluster."""
    return {
        "proxy_location": "EveryNode",
        "http_options": {"host": IN_CLUSTER_HTTP_HOST, "port": settings.http_port},
        "applications": [
            {
                "name": APP_NAME,
                "import_path": IMPORT_PATH,
                "route_prefix": "/",
                "args": {},
                "runtime_env": {"env_vars": runtime_env_vars(settings)},
                # The app's JSON access log is the access log (see serve_app/deployments.py).
                "logging_config": {"log_level": settings.log_level, "enable_access_log": False},
                "deployments": [
                    {
                        "name": INGRESS_DEPLOYMENT,
                        "max_ongoing_requests": INGRESS_MAX_ONGOING_REQUESTS,
                        "autoscaling_config": ingress_autoscaling(settings),
                    },
                    # The relay is a singleton: one replica, never autoscaled.
                    {"name": OUTBOX_RELAY_DEPLOYMENT, "num_replicas": 1},
                ],
            }
        ],
    }
