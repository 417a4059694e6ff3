"""One module per claim. Each exposes ``PROFILES`` (a frozen config per profile) and
``run(config, ctx) -> dict`` of plain data; importing one does no work."""

from __future__ import annotations

import importlib


def module(claim_id: str):
    """The module of a registered claim (``replication.claims.<Claim.module>``)."""
    from .. import registry

    return importlib.import_module(f"{__name__}.{registry.get(claim_id).module}")


def profiles(claim_id: str) -> dict:
    """``{profile: frozen config}`` of a registered claim."""
    return module(claim_id).PROFILES
