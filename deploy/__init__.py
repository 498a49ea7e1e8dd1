"""Deployment artefacts: manifests and the code that renders them."""
