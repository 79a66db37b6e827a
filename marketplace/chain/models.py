"""The deployments of our contracts this site made (manage.py deploy_contracts), per chain."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models
from django.utils import timezone

from marketplace.fields import wallet_address_validator

if TYPE_CHECKING:
    from marketplace.chain.deploy import HubDeployment


def _address_field(help_text: str) -> models.CharField:
    return models.CharField(
        max_length=42, validators=[wallet_address_validator], help_text=help_text
    )


class Deployment(models.Model):
    """The addresses of one deployment of ECT, the registries and the Hub (checksummed), and the
    block of its first transaction, where an indexer starts reading."""

    chain_id = models.PositiveBigIntegerField()
    token = _address_field("ECT")
    hub = _address_field("the Hub: the address clients talk to")
    hub_orders = _address_field("the Hub's orders module")
    hub_accounts = _address_field("the Hub's accounts module")
    app_registry = _address_field("App registry")
    dataset_registry = _address_field("Dataset registry")
    workerpool_registry = _address_field("Workerpool registry")
    app_implementation = _address_field("the contract every App clones")
    dataset_implementation = _address_field("the contract every Dataset clones")
    workerpool_implementation = _address_field("the contract every Workerpool clones")
    first_block = models.PositiveBigIntegerField()
    deployed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-deployed_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["chain_id", "hub"], name="chain_deployment_unique_hub")
        ]

    def __str__(self) -> str:
        return f"Hub {self.hub} on chain {self.chain_id}"

    def as_hub_deployment(self) -> HubDeployment:
        # Loads web3 (half a second): paid only by the processes that talk to the node.
        from marketplace.chain.deploy import HubDeployment

        return HubDeployment(
            token=self.token,
            hub=self.hub,
            hub_orders=self.hub_orders,
            hub_accounts=self.hub_accounts,
            app_registry=self.app_registry,
            dataset_registry=self.dataset_registry,
            workerpool_registry=self.workerpool_registry,
            app_implementation=self.app_implementation,
            dataset_implementation=self.dataset_implementation,
            workerpool_implementation=self.workerpool_implementation,
            block=self.first_block,
        )
