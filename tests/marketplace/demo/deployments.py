"""The dev chain's deployment as `make run` records it, for tests that seed the demo on it."""

from __future__ import annotations

import dataclasses

from marketplace.chain.models import Deployment


def record_deployment(hub_deployment, *, chain_id: int = 31337) -> Deployment:
    """The Deployment row of `hub_deployment` (what `deploy_contracts` writes)."""
    fields = dataclasses.asdict(hub_deployment)
    return Deployment.objects.create(chain_id=chain_id, first_block=fields.pop("block"), **fields)
