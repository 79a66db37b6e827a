"""Pagination that never counts more rows than a person will page through."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.utils.functional import cached_property

COUNT_CAP = 1000


class CappedPaginator(Paginator):
    """Counts at most COUNT_CAP + 1 matches (`SELECT COUNT(*) FROM (... LIMIT n)`): a broad
    search over 100,000 listings costs what a narrow one does. Pages beyond the cap are not
    offered; the page says "1,000+" and invites narrowing the search."""

    cap = COUNT_CAP

    @cached_property
    def count(self) -> int:
        # Unordered: any cap + 1 matches count the same, and an ORDER BY would make the
        # database sort every match before counting.
        object_list = self.object_list
        if not hasattr(object_list, "order_by"):  # a list, or listings known by id
            return min(len(object_list), self.cap + 1)
        return object_list.order_by()[: self.cap + 1].count()

    @property
    def is_capped(self) -> bool:
        return self.count > self.cap

    @cached_property
    def num_pages(self) -> int:
        if self.is_capped:
            return max(1, self.cap // self.per_page)
        return super().num_pages
