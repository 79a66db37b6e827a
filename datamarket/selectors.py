"""Data market reads."""

from __future__ import annotations

from django.db.models import Q

from datamarket.models import Dataset


def datasets_closed_to(*, score: int, admitted_by_hand: bool) -> set[str]:
    """Chain addresses of the datasets whose owner would not release the key to a worker of
    this on-chain `score`, admitted to its pool by hand or not (the owner's conditions)."""
    refused = Q(key_min_score__gt=score)
    if not admitted_by_hand:
        refused |= Q(key_hand_admitted_only=True)
    return set(
        Dataset.objects.filter(refused)
        .exclude(listing__chain_address="")
        .values_list("listing__chain_address", flat=True)
    )
