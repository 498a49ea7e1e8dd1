"""KubeRay deployment: a RayService rendered from `config.Settings`."""
