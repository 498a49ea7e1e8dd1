"""Render the KubeRay objects for the commerce app from `config.Settings`.

    python -m deploy.kuberay.render [--image IMAGE] [--namespace NS] [--out DIR]

writes `DIR/rayservice.yaml` (default: this folder). With no flags it renders
the checked-in file: default settings in production mode, ignoring the
environment and `.env`. `--from-env` reads them like a local run does.

Secrets are never rendered, only referenced (`secretKeyRef`); README.md has
the `kubectl create secret` command that provides them.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from config.settings import Settings, SettingsError, load_settings
from deploy.kuberay.serve_config import serve_config

RAY_VERSION = "2.60.0"  # the Ray the image ships; keep in step with the project's pin
RAYSERVICE_NAME = "commerce"
APP_LABELS = {"app.kubernetes.io/name": "commerce", "app.kubernetes.io/part-of": "commerce"}

HEAD_CONTAINER = "ray-head"
WORKER_CONTAINER = "ray-worker"
WORKER_GROUP = "workers"
HEALTH_PATH = "/-/healthz"  # answered by the Serve proxy / HAProxy on the Serve HTTP port

OUT_FILE = "rayservice.yaml"
HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class SecretRef:
    name: str
    key: str
    optional: bool = False  # the app runs without it (a provider that is not used)

    def value_from(self) -> dict[str, Any]:
        ref = {"name": self.name, "key": self.key}
        return {"secretKeyRef": ref | {"optional": True}} if self.optional else {"secretKeyRef": ref}

    def as_env(self, var: str) -> dict[str, Any]:
        return {"name": var, "valueFrom": self.value_from()}


# CloudNativePG writes `<cluster>-app` with a ready `uri` for the owner role.
POSTGRES_CLUSTER = "commerce-pg"
APP_SECRET = "commerce-secrets"
SECRET_ENV: dict[str, SecretRef] = {
    "DATABASE_URL": SecretRef(f"{POSTGRES_CLUSTER}-app", "uri"),
    "NATS_URL": SecretRef(APP_SECRET, "nats-url"),
    "COMMERCE_JWT_SECRET": SecretRef(APP_SECRET, "jwt-secret"),
    # Providers' credentials: only needed when that provider is configured.
    "COMMERCE_STRIPE_API_KEY": SecretRef(APP_SECRET, "stripe-api-key", optional=True),
    "COMMERCE_STRIPE_WEBHOOK_SECRET": SecretRef(APP_SECRET, "stripe-webhook-secret", optional=True),
    "COMMERCE_SMTP_PASSWORD": SecretRef(APP_SECRET, "smtp-password", optional=True),
    "COMMERCE_TWILIO_AUTH_TOKEN": SecretRef(APP_SECRET, "twilio-auth-token", optional=True),
    "COMMERCE_COURIER_WEBHOOK_SECRET": SecretRef(APP_SECRET, "courier-webhook-secret", optional=True),
}
REDIS_PASSWORD = SecretRef(APP_SECRET, "redis-password")


@dataclass(frozen=True)
class ClusterShape:
    """Pod sizes and worker counts: cluster facts, not app settings."""

    head_cpu: str = "2"
    head_memory: str = "4Gi"
    worker_cpu: str = "4"
    worker_memory: str = "8Gi"
    # Two, so a lost node leaves one to restart its replicas and shards on
    # while the autoscaler brings up a replacement.
    worker_min_replicas: int = 2
    worker_max_replicas: int = 10
    redis_address: str | None = None  # default: redis.<namespace>.svc:6379


def ray_process_env(settings: Settings) -> list[dict[str, str]]:
    """Flags Ray reads when its processes start, so they go on the container."""
    return [{"name": name, "value": value} for name, value in settings.ray_serve_flags().items()]


def _container(
    name: str, image: str, env: list[dict[str, Any]], cpu: str, memory: str, ports: dict[str, int]
) -> dict[str, Any]:
    # Requests equal limits: Ray sizes its resources from the limits, and a
    # Guaranteed pod is the last to be evicted under memory pressure.
    quantity = {"cpu": cpu, "memory": memory}
    return {
        "name": name,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "env": list(env),
        "ports": [{"name": port, "containerPort": number} for port, number in ports.items()],
        "resources": {"requests": dict(quantity), "limits": dict(quantity)},
        "volumeMounts": [{"name": "ray-logs", "mountPath": "/tmp/ray"}],
    }


def _pod_template(component: str, container: dict[str, Any]) -> dict[str, Any]:
    return {
        "metadata": {"labels": {**APP_LABELS, "app.kubernetes.io/component": component}},
        "spec": {"containers": [container], "volumes": [{"name": "ray-logs", "emptyDir": {}}]},
    }


def _cluster_config(
    settings: Settings, image: str, namespace: str, shape: ClusterShape
) -> dict[str, Any]:
    env = ray_process_env(settings) + [ref.as_env(var) for var, ref in SECRET_ENV.items()]
    serve_port = settings.http_port

    head = _container(
        HEAD_CONTAINER,
        image,
        env,
        shape.head_cpu,
        shape.head_memory,
        {"gcs-server": 6379, "dashboard": 8265, "client": 10001, "serve": serve_port},
    )
    worker = _container(
        WORKER_CONTAINER, image, env, shape.worker_cpu, shape.worker_memory, {"serve": serve_port}
    )
    # Ready once this node's proxy has routes and a live Ingress replica behind
    # it; 503 while draining, so the Serve Service stops sending it traffic.
    worker["readinessProbe"] = {
        "httpGet": {"path": HEALTH_PATH, "port": serve_port},
        "initialDelaySeconds": 10,
        "periodSeconds": 5,
        "timeoutSeconds": 2,
        "failureThreshold": 3,
    }
    return {
        "rayVersion": RAY_VERSION,
        "enableInTreeAutoscaling": True,
        "autoscalerOptions": {
            "upscalingMode": "Default",
            "idleTimeoutSeconds": 60,
            "resources": {
                "requests": {"cpu": "500m", "memory": "512Mi"},
                "limits": {"cpu": "500m", "memory": "512Mi"},
            },
        },
        "gcsFaultToleranceOptions": {
            "redisAddress": shape.redis_address or f"redis.{namespace}.svc:6379",
            "redisPassword": {"valueFrom": REDIS_PASSWORD.value_from()},
        },
        "headGroupSpec": {
            # No CPUs: nothing but Ray's own control processes runs on the head.
            "rayStartParams": {"num-cpus": "0", "dashboard-host": "0.0.0.0"},
            "template": _pod_template("ray-head", head),
        },
        "workerGroupSpecs": [
            {
                "groupName": WORKER_GROUP,
                "replicas": shape.worker_min_replicas,
                "minReplicas": shape.worker_min_replicas,
                "maxReplicas": shape.worker_max_replicas,
                "rayStartParams": {},
                "template": _pod_template("ray-worker", worker),
            }
        ],
    }


def render_rayservice(
    settings: Settings,
    *,
    image: str = "commerce:latest",
    namespace: str = "commerce",
    shape: ClusterShape = ClusterShape(),
) -> dict[str, Any]:
    """The RayService object; its serveConfigV2 comes from `settings`."""
    serve_yaml = yaml.safe_dump(serve_config(settings), sort_keys=False)
    return {
        "apiVersion": "ray.io/v1",
        "kind": "RayService",
        "metadata": {"name": RAYSERVICE_NAME, "namespace": namespace, "labels": dict(APP_LABELS)},
        "spec": {
            # A changed rayClusterConfig brings up a new cluster beside the old
            # one and switches traffic once its apps are healthy.
            "upgradeStrategy": {"type": "NewCluster"},
            # The head has no CPUs and runs no replicas: keep traffic off it.
            "excludeHeadPodFromServeSvc": True,
            "serveConfigV2": serve_yaml,
            "rayClusterConfig": _cluster_config(settings, image, namespace, shape),
        },
    }


def render_namespace(namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": namespace,
            "labels": {
                **APP_LABELS,
                "pod-security.kubernetes.io/enforce": "baseline",
                "pod-security.kubernetes.io/warn": "restricted",
            },
        },
    }


def render_all(
    settings: Settings,
    *,
    image: str = "commerce:latest",
    namespace: str = "commerce",
    shape: ClusterShape = ClusterShape(),
) -> list[dict[str, Any]]:
    """Every object `rayservice.yaml` holds, in apply order. No Secret: see README."""
    return [
        render_namespace(namespace),
        render_rayservice(settings, image=image, namespace=namespace, shape=shape),
    ]


class _Dumper(yaml.SafeDumper):
    """Block style for multi-line strings (serveConfigV2); no anchors."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)

HEADER = (
    "# Generated by `python -m deploy.kuberay.render` from config.Settings.\n"
    "# Do not edit by hand: change settings or render.py and regenerate.\n"
)


def to_yaml(objects: list[dict[str, Any]]) -> str:
    docs = [yaml.dump(obj, Dumper=_Dumper, sort_keys=False) for obj in objects]
    return HEADER + "---\n" + "---\n".join(docs)


class _DefaultsOnly(Settings):
    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, **_other_sources):
        return (init_settings,)


def default_settings(**overrides: Any) -> Settings:
    """Production settings from defaults and `overrides` only: no env, no `.env`."""
    return _DefaultsOnly(**{"mode": "production", **overrides})


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--image", default="commerce:latest")
    parser.add_argument("--namespace", default="commerce")
    parser.add_argument("--out", type=Path, default=HERE, help="directory to write into")
    parser.add_argument("--redis-address", help="host:port of the GCS Redis")
    parser.add_argument(
        "--from-env", action="store_true", help="read settings from the environment and .env"
    )
    args = parser.parse_args(argv)

    try:
        settings = load_settings(mode="production") if args.from_env else default_settings()
        objects = render_all(
            settings,
            image=args.image,
            namespace=args.namespace,
            shape=ClusterShape(redis_address=args.redis_address),
        )
    except (SettingsError, ValueError) as exc:
        parser.error(str(exc))
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / OUT_FILE
    path.write_text(to_yaml(objects))
    print(f"wrote {path}")
    return path


if __name__ == "__main__":
    main()
