"""The composition root: settings in, the Serve application out.

`build_application(settings)` is what `commerce up` and the tests deploy;
`build_app(args)` is the import path KubeRay's serveConfigV2 names, reading
the same settings from the environment.
"""

from __future__ import annotations

from ray.serve import Application

from config import Settings, SettingsError, load_settings
from serve_app.deployments import EventWorker, Ingress, OutboxRelayDeployment
from serve_app.workers import WORKERS

APP_NAME = "commerce"


def build_application(settings: Settings) -> Application:
    if not settings.database_url or not settings.nats_url:
        raise SettingsError("DATABASE_URL and NATS_URL must be resolved before deploying")
    relay = OutboxRelayDeployment.bind(settings)
    workers = [EventWorker.options(name=f"Worker_{name}").bind(settings, factory) for name, factory in WORKERS.items()]
    return Ingress.options(num_replicas=settings.ingress_replicas).bind(settings, relay, workers)


def build_app(args: dict | None = None) -> Application:
    """Serve config entry point (`import_path: serve_app.bootstrap:build_app`)."""
    settings = load_settings(**(args or {})).with_secrets()
    settings.require_external_servers()
    return build_application(settings)
