"""Deployment tooling: how the platform's processes and infrastructure are run."""
