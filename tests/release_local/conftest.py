"""Fixtures of the local-services tests (defined in fixtures.py so other test folders can import them)."""

from .fixtures import local_services, local_state_dir, official_client, registry_db, registry_url

__all__ = ["local_services", "local_state_dir", "official_client", "registry_db", "registry_url"]
