"""The HTTP edge: FastAPI app, Ray Serve deployments, composition root, CLI."""
