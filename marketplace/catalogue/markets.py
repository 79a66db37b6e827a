"""What differs between the three markets on screen: names, URLs and the submission form."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.module_loading import import_string

from marketplace.catalogue.models import Market


@dataclass(frozen=True)
class MarketInfo:
    kind: Market
    plural: str
    noun: str
    url_prefix: str
    tagline: str
    form_path: str
    icon: str  # name of an icon in frontend/templates/frontend/icons.html

    @property
    def form_class(self):
        return import_string(self.form_path)


MARKETS: dict[str, MarketInfo] = {
    Market.APP: MarketInfo(
        kind=Market.APP,
        plural="Apps",
        noun="app",
        url_prefix="apps",
        tagline="WebAssembly programs that run sandboxed on any worker pool.",
        form_path="dappstore.forms.AppForm",
        icon="app",
    ),
    Market.DATASET: MarketInfo(
        kind=Market.DATASET,
        plural="Datasets",
        noun="dataset",
        url_prefix="datasets",
        tagline="Encrypted data, priced per task, readable only by the apps you allow.",
        form_path="datamarket.forms.DatasetForm",
        icon="dataset",
    ),
    Market.POOL: MarketInfo(
        kind=Market.POOL,
        plural="Worker pools",
        noun="worker pool",
        url_prefix="pools",
        tagline="Machines that run tasks and agree on results before anyone is paid.",
        form_path="pools.forms.WorkerpoolForm",
        icon="pool",
    ),
}
