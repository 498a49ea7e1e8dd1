"""deploy/kuberay: schema-valid, in step with render.py, secrets only by reference.

The RayService is checked against the KubeRay v1.7 CRD schemas kept beside the
project (../shared/kuberay/crds/), closed to unknown fields the way the API
server's strict field validation treats them; core objects and the pod
templates against Kubernetes' own schemas with kubernetes-validate.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

from config.settings import Settings
from deploy.kuberay import render
from deploy.kuberay.render import (
    APP_SECRET,
    REDIS_PASSWORD,
    SECRET_ENV,
    default_settings,
    render_all,
    render_rayservice,
    to_yaml,
)
from deploy.kuberay.serve_config import IMPORT_PATH, NOT_RENDERED, OVERRIDDEN, env_name

REPO_ROOT = Path(__file__).resolve().parents[2]
CRD_DIR = REPO_ROOT.parent / "shared" / "kuberay" / "crds"
KUBERAY_DIR = REPO_ROOT / "deploy" / "kuberay"
K8S_VERSION = "1.34.0"  # a recent release kubernetes-validate ships schemas for

Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Settings unlike the defaults, to show rendering follows them.
VARIANTS = {
    "defaults": {},
    "proxy-mode": {"ingress_mode": "proxy", "throughput_optimized": False},
    "scaled": {"actor_shards": 16, "ingress_replicas": 8, "hot_keys": {"sku-flash": 3}},
}


def _load_all(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.load_all(path.read_text(), Loader=Loader) if doc]


def _checked_in() -> list[dict[str, Any]]:
    return _load_all(KUBERAY_DIR / "rayservice.yaml")


def _of_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (obj,) = [o for o in objects if o["kind"] == kind]
    return obj


def _ray_containers(rayservice: dict[str, Any]) -> list[dict[str, Any]]:
    cluster = rayservice["spec"]["rayClusterConfig"]
    groups = [cluster["headGroupSpec"], *cluster["workerGroupSpecs"]]
    return [group["template"]["spec"]["containers"][0] for group in groups]


def _env(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in container.get("env", [])}


def _serve_config(rayservice: dict[str, Any]) -> dict[str, Any]:
    return yaml.safe_load(rayservice["spec"]["serveConfigV2"])


# --- CRD schemas ----------------------------------------------------------


def _closed(schema: Any) -> Any:
    """Reject unknown fields, as `kubectl apply --validate=strict` would.

    CRD schemas leave `additionalProperties` open and rely on the API server
    pruning unknown fields, which would silently drop a misspelt one.
    """
    if isinstance(schema, list):
        return [_closed(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    closed = {key: _closed(value) for key, value in schema.items()}
    if (
        "properties" in closed
        and "additionalProperties" not in closed
        and not closed.get("x-kubernetes-preserve-unknown-fields")
    ):
        closed["additionalProperties"] = False
    return closed


def _crd_validator(filename: str, what: str) -> Draft7Validator:
    path = CRD_DIR / filename
    if not path.is_file():
        pytest.skip(
            f"KubeRay CRDs not found at {CRD_DIR}: would have validated {what} against "
            f"the openAPIV3Schema of {filename} (KubeRay v1.7, ray.io/v1)"
        )
    crd = yaml.load(path.read_text(), Loader=Loader)
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
    schema = _closed(version["schema"]["openAPIV3Schema"])
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema)


@pytest.fixture(scope="module")
def rayservice_schema() -> Draft7Validator:
    return _crd_validator("ray.io_rayservices.yaml", "the rendered RayService")


@pytest.fixture(scope="module")
def raycluster_schema() -> Draft7Validator:
    return _crd_validator("ray.io_rayclusters.yaml", "the RayService's rayClusterConfig")


def _errors(validator: Draft7Validator, obj: dict[str, Any]) -> list[str]:
    return sorted(
        f"{'.'.join(map(str, error.absolute_path)) or '<root>'}: {error.message}"
        for error in validator.iter_errors(obj)
    )


def test_checked_in_rayservice_is_valid_against_the_crd(rayservice_schema):
    assert _errors(rayservice_schema, _of_kind(_checked_in(), "RayService")) == []


@pytest.mark.parametrize("overrides", VARIANTS.values(), ids=VARIANTS.keys())
def test_rendered_rayservice_is_valid_against_the_crd(rayservice_schema, overrides):
    rayservice = render_rayservice(default_settings(**overrides), image="shop:1.2.3")
    assert _errors(rayservice_schema, rayservice) == []


def test_cluster_config_is_a_valid_raycluster_spec(raycluster_schema):
    rayservice = _of_kind(_checked_in(), "RayService")
    raycluster = {
        "apiVersion": "ray.io/v1",
        "kind": "RayCluster",
        "metadata": {"name": "commerce"},
        "spec": rayservice["spec"]["rayClusterConfig"],
    }
    assert _errors(raycluster_schema, raycluster) == []


def _set(obj: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for key in parents:
        obj = obj[int(key)] if isinstance(obj, list) else obj[key]
    if value is _DELETE:
        del obj[last]
    else:
        obj[last] = value


_DELETE = object()
SPEC = "spec.rayClusterConfig"
BROKEN = {
    "string-for-integer": (f"{SPEC}.workerGroupSpecs.0.maxReplicas", "ten", "is not of type"),
    "integer-for-string": (f"{SPEC}.headGroupSpec.rayStartParams.num-cpus", 0, "is not of type"),
    "misspelt-field": (f"{SPEC}.enableInTreeAutoscalling", True, "Additional properties"),
    "unknown-enum": (f"{SPEC}.gcsFaultToleranceOptions.backend", "etcd", "is not one of"),
    "missing-required": (f"{SPEC}.workerGroupSpecs.0.groupName", _DELETE, "is a required property"),
}


@pytest.mark.parametrize("path, value, message", BROKEN.values(), ids=BROKEN.keys())
def test_crd_validator_rejects_a_broken_rayservice(rayservice_schema, path, value, message):
    rayservice = render_rayservice(default_settings())
    assert _errors(rayservice_schema, rayservice) == []
    _set(rayservice, path, value)
    errors = _errors(rayservice_schema, rayservice)
    assert len(errors) == 1 and message in errors[0], errors


# --- core objects -----------------------------------------------------------


@pytest.fixture(scope="module")
def kubernetes_validate():
    return pytest.importorskip(
        "kubernetes_validate",
        reason="kubernetes-validate not installed: would have checked the Namespace and "
        "the head/worker pod templates against Kubernetes' schemas",
    )


def _as_pods(rayservice: dict[str, Any]) -> list[dict[str, Any]]:
    cluster = rayservice["spec"]["rayClusterConfig"]
    groups = [cluster["headGroupSpec"], *cluster["workerGroupSpecs"]]
    return [
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": f"pod-{i}", **group["template"]["metadata"]},
            "spec": group["template"]["spec"],
        }
        for i, group in enumerate(groups)
    ]


def test_core_objects_and_pod_templates_are_valid(kubernetes_validate):
    objects = _checked_in()
    core = [o for o in objects if "." not in o["apiVersion"]]  # ray.io/v1 has a dot
    assert [o["kind"] for o in core] == ["Namespace"]
    for obj in core + _as_pods(_of_kind(objects, "RayService")):
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def test_kubernetes_validate_rejects_a_wrong_field_type(kubernetes_validate):
    (pod, *_) = _as_pods(_of_kind(_checked_in(), "RayService"))
    pod["spec"]["containers"][0]["ports"][0]["containerPort"] = "6379"
    with pytest.raises(kubernetes_validate.ValidationError, match="is not of type 'integer'"):
        kubernetes_validate.validate(pod, K8S_VERSION, strict=True)


# --- render.py and the checked-in file ---------------------------------------


def test_checked_in_file_equals_a_fresh_render():
    fresh = to_yaml(render_all(default_settings()))
    assert (KUBERAY_DIR / "rayservice.yaml").read_text() == fresh, (
        "deploy/kuberay/rayservice.yaml is stale: run `python -m deploy.kuberay.render`"
    )


def test_cli_writes_the_checked_in_file(tmp_path):
    written = render.main(["--out", str(tmp_path)])
    assert written.read_text() == (KUBERAY_DIR / "rayservice.yaml").read_text()


def test_serve_config_parses_and_runs_the_app_builder():
    config = _serve_config(_of_kind(_checked_in(), "RayService"))
    (app,) = config["applications"]
    assert app["import_path"] == IMPORT_PATH == "serve_app.bootstrap:build_app"
    assert app["route_prefix"] == "/"
    env_vars = app["runtime_env"]["env_vars"]
    assert env_vars["COMMERCE_MODE"] == "production"
    assert all(isinstance(value, str) for value in env_vars.values())
    deployments = {d["name"]: d for d in app["deployments"]}
    assert deployments["OutboxRelay"]["num_replicas"] == 1
    scaling = deployments["Ingress"]["autoscaling_config"]
    assert scaling["min_replicas"] == Settings.model_fields["ingress_replicas"].default
    assert scaling["target_ongoing_requests"] <= deployments["Ingress"]["max_ongoing_requests"]


@pytest.mark.parametrize("overrides", VARIANTS.values(), ids=VARIANTS.keys())
def test_serve_config_is_valid_for_ray_serve(overrides):
    schema = pytest.importorskip(
        "ray.serve.schema", reason="ray not installed: would have checked serveConfigV2"
    )
    from ray.serve.config import AutoscalingConfig

    config = _serve_config(render_rayservice(default_settings(**overrides)))
    parsed = schema.ServeDeploySchema.model_validate(config)  # raises if invalid
    # The schema ignores unknown keys; a misspelt one would silently do nothing.
    assert set(config) <= set(schema.ServeDeploySchema.model_fields)
    for app in config["applications"]:
        assert set(app) <= set(schema.ServeApplicationSchema.model_fields)
        for deployment in app["deployments"]:
            assert set(deployment) <= set(schema.DeploymentSchema.model_fields)
            if "autoscaling_config" in deployment:
                AutoscalingConfig(**deployment["autoscaling_config"])
    assert parsed.http_options.port == default_settings(**overrides).http_port


def test_runtime_env_reads_back_as_the_same_settings(monkeypatch):
    original = default_settings(
        actor_shards=16, hot_keys={"sku-flash": 3}, log_level="DEBUG", throughput_optimized=False
    )
    (app,) = _serve_config(render_rayservice(original))["applications"]
    for name in ("DATABASE_URL", "NATS_URL", "RAY_ADDRESS"):
        monkeypatch.delenv(name, raising=False)
    for field in Settings.model_fields:
        monkeypatch.delenv(env_name(field), raising=False)
    for name, value in app["runtime_env"]["env_vars"].items():
        monkeypatch.setenv(name, value)

    read_back = Settings(_env_file=None)

    for field in Settings.model_fields.keys() - NOT_RENDERED.keys():
        assert getattr(read_back, field) == OVERRIDDEN.get(field, getattr(original, field)), field


def test_every_setting_is_rendered_or_excluded_for_a_reason():
    settings = default_settings()
    (app,) = _serve_config(render_rayservice(settings))["applications"]
    env_vars = app["runtime_env"]["env_vars"]
    assert NOT_RENDERED.keys() <= Settings.model_fields.keys(), "stale NOT_RENDERED entry"
    for field, info in Settings.model_fields.items():
        if "SecretStr" in str(info.annotation):
            assert field in NOT_RENDERED, f"{field} is a secret: pass it by secretKeyRef"
        expected = field not in NOT_RENDERED and getattr(settings, field) is not None
        assert (env_name(field) in env_vars) == expected, field


def test_local_mode_is_refused():
    with pytest.raises(ValueError, match="production"):
        render_rayservice(default_settings(mode="local"))


# --- secrets ----------------------------------------------------------------

SECRET_VALUES = {
    "database_url": "postgresql://commerce:pg-pass-5c1f@db.example:5432/commerce",
    "nats_url": "nats://relay:nats-pass-77d2@nats.example:4222",
    "jwt_secret": "jwt-secret-0123456789abcdef0123456789abcdef",
    "ray_address": "ray://head.example:10001",
}


def _walk(node: Any, path: str = ""):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{path}.{i}")
    yield path, node


def test_no_secret_value_reaches_any_manifest():
    settings = default_settings(**SECRET_VALUES)
    text = to_yaml(render_all(settings))
    for field, value in SECRET_VALUES.items():
        assert value not in text, field
    for secret in ("pg-pass-5c1f", "nats-pass-77d2", "0123456789abcdef"):
        assert secret not in text

    objects = yaml.safe_load_all(text)
    assert all(obj["kind"] != "Secret" for obj in objects)


def test_secrets_are_passed_only_by_secret_key_ref():
    rayservice = _of_kind(_checked_in(), "RayService")
    for container in _ray_containers(rayservice):
        env = _env(container)
        for var, ref in SECRET_ENV.items():
            expected = {"name": ref.name, "key": ref.key} | ({"optional": True} if ref.optional else {})
            assert env[var] == {"name": var, "valueFrom": {"secretKeyRef": expected}}
        for var in ("DATABASE_URL", "NATS_URL", "COMMERCE_JWT_SECRET"):
            assert not SECRET_ENV[var].optional, var  # the app cannot start without these
        for name, entry in env.items():
            if any(word in name for word in ("PASSWORD", "SECRET", "TOKEN", "URL")):
                assert "value" not in entry, name
    redis_password = rayservice["spec"]["rayClusterConfig"]["gcsFaultToleranceOptions"][
        "redisPassword"
    ]
    assert redis_password == {"valueFrom": REDIS_PASSWORD.value_from()}


@pytest.mark.parametrize("name", ["rayservice.yaml", "nats-values.yaml", "postgres-cluster.yaml"])
def test_no_manifest_holds_a_literal_credential(name):
    for path, value in _walk(_load_all(KUBERAY_DIR / name)):
        key = path.rsplit(".", 1)[-1].lower()
        if any(word in key for word in ("password", "secret", "token", "credential")):
            assert not isinstance(value, (str, int)), path


def test_readme_creates_every_secret_key_the_rayservice_reads():
    readme = (KUBERAY_DIR / "README.md").read_text()
    assert f"create secret generic {APP_SECRET}" in readme
    refs = [*SECRET_ENV.values(), REDIS_PASSWORD]
    for ref in refs:
        if ref.name != APP_SECRET:
            continue
        if ref.optional:
            assert ref.key in readme, ref.key  # documented, created only when that provider is used
        else:
            assert f"--from-literal={ref.key}=" in readme, ref.key


# --- cluster shape ------------------------------------------------------------


def test_haproxy_flags_are_on_head_and_worker_containers():
    rayservice = _of_kind(_checked_in(), "RayService")
    containers = _ray_containers(rayservice)
    assert len(containers) >= 2
    for container in containers:
        env = _env(container)
        assert env["RAY_SERVE_ENABLE_HA_PROXY"]["value"] == "1"
        assert env["RAY_SERVE_THROUGHPUT_OPTIMIZED"]["value"] == "1"
        assert env["RAY_SERVE_HAPROXY_METRICS_ENABLED"]["value"] == "0"  # the app's /metrics instead


def test_haproxy_flags_follow_the_settings():
    settings = default_settings(ingress_mode="proxy", throughput_optimized=False)
    flags = {"RAY_SERVE_ENABLE_HA_PROXY", "RAY_SERVE_THROUGHPUT_OPTIMIZED", "RAY_SERVE_HAPROXY_METRICS_ENABLED"}
    for container in _ray_containers(render_rayservice(settings)):
        assert not flags & _env(container).keys()


def test_head_has_no_cpus_and_workers_autoscale():
    cluster = _of_kind(_checked_in(), "RayService")["spec"]["rayClusterConfig"]
    assert cluster["headGroupSpec"]["rayStartParams"]["num-cpus"] == "0"
    assert cluster["enableInTreeAutoscaling"] is True
    for group in cluster["workerGroupSpecs"]:
        assert 1 <= group["minReplicas"] <= group["replicas"] <= group["maxReplicas"]
        assert group["rayStartParams"].get("num-cpus") != "0"
    assert cluster["gcsFaultToleranceOptions"]["redisAddress"]


def test_containers_have_resources_and_workers_are_ready_on_the_serve_port():
    rayservice = _of_kind(_checked_in(), "RayService")
    serve_port = _serve_config(rayservice)["http_options"]["port"]
    head, *workers = _ray_containers(rayservice)
    for container in [head, *workers]:
        assert container["resources"]["requests"] and container["resources"]["limits"]
    for worker in workers:
        assert worker["readinessProbe"]["httpGet"]["port"] == serve_port
        assert {"name": "serve", "containerPort": serve_port} in worker["ports"]


def test_ray_version_matches_the_installed_ray():
    try:
        installed = importlib.metadata.version("ray")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("ray not installed: would have checked rayVersion against it")
    cluster = _of_kind(_checked_in(), "RayService")["spec"]["rayClusterConfig"]
    assert cluster["rayVersion"] == installed


# --- NATS and PostgreSQL ------------------------------------------------------


def test_nats_values_run_a_three_node_jetstream_cluster_on_disk():
    (values,) = _load_all(KUBERAY_DIR / "nats-values.yaml")
    config = values["config"]
    assert config["cluster"] == {"enabled": True, "replicas": 3}
    jetstream = config["jetstream"]
    assert jetstream["enabled"] is True
    assert jetstream["fileStore"]["enabled"] is True
    assert jetstream["fileStore"]["pvc"]["enabled"] is True
    assert jetstream["fileStore"]["pvc"]["size"]
    assert jetstream["memoryStore"]["enabled"] is False


def test_postgres_cluster_creates_the_database_the_rayservice_reads():
    (cluster,) = _load_all(KUBERAY_DIR / "postgres-cluster.yaml")
    assert (cluster["apiVersion"], cluster["kind"]) == ("postgresql.cnpg.io/v1", "Cluster")
    assert cluster["spec"]["instances"] == 3
    assert cluster["spec"]["storage"]["size"]
    assert cluster["spec"]["bootstrap"]["initdb"] == {"database": "commerce", "owner": "commerce"}
    rayservice = _of_kind(_checked_in(), "RayService")
    assert cluster["metadata"]["namespace"] == rayservice["metadata"]["namespace"]
    # CloudNativePG names the owner's secret `<cluster>-app`.
    assert SECRET_ENV["DATABASE_URL"].name == f"{cluster['metadata']['name']}-app"
