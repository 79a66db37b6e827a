"""Signals the indexer sends, for the parts of the site that follow the chain.

`deals_changed(chain_id, dealids)`: sent inside the indexing transaction after the events of a
batch are projected, with the deals they touched (matched, tasks started, contributed,
revealed, finalized, claimed). Receivers that broadcast should do so on commit.
"""

from django.dispatch import Signal

deals_changed = Signal()
