import pytest

from config import Settings, SettingsError, load_settings


def test_malformed_database_url_names_the_setting():
    with pytest.raises(SettingsError, match=r"^DATABASE_URL: "):
        load_settings(database_url="not a url")


def test_prefixed_setting_names_its_env_var():
    with pytest.raises(SettingsError, match=r"^COMMERCE_HTTP_PORT: "):
        load_settings(http_port=70000)


def test_local_mode_generates_one_secret_and_keeps_it(tmp_path):
    first = Settings(state_dir=tmp_path).with_secrets()
    second = Settings(state_dir=tmp_path).with_secrets()
    assert len(first.jwt_secret.get_secret_value()) >= 32
    assert first.jwt_secret == second.jwt_secret
    assert (tmp_path / "jwt_secret").stat().st_mode & 0o777 == 0o600


def test_production_refuses_to_start_without_secret(tmp_path):
    with pytest.raises(SettingsError, match="COMMERCE_JWT_SECRET"):
        Settings(mode="production", state_dir=tmp_path).with_secrets()
    assert not (tmp_path / "jwt_secret").exists()


def test_production_requires_external_servers(tmp_path):
    settings = Settings(mode="production", state_dir=tmp_path, jwt_secret="x" * 40)
    with pytest.raises(SettingsError, match="DATABASE_URL"):
        settings.require_external_servers()


def test_ray_serve_flags_follow_the_ingress_settings(tmp_path):
    default = Settings(state_dir=tmp_path).ray_serve_flags()
    assert default == {"RAY_SERVE_ENABLE_HA_PROXY": "1", "RAY_SERVE_HAPROXY_METRICS_ENABLED": "0",
                       "RAY_SERVE_THROUGHPUT_OPTIMIZED": "1"}
    metered = Settings(state_dir=tmp_path, haproxy_request_metrics=True).ray_serve_flags()
    assert metered["RAY_SERVE_HAPROXY_METRICS_ENABLED"] == "1"
    assert Settings(state_dir=tmp_path, ingress_mode="proxy", throughput_optimized=False).ray_serve_flags() == {}
