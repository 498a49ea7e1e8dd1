"""Settings: the one place configuration is read (environment first, `.env` second)."""

from config.settings import Settings, SettingsError, load_settings

__all__ = ["Settings", "SettingsError", "load_settings"]
