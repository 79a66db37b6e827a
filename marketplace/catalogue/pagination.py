"""Pagination that never counts more rows than a person will page through."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.utils.functional import cached_property
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request

from marketplace.api import QueryParameter

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


# The API's lists: a page number is checked as the schema documents it (the maximum keeps
# numbers short; pages past the last are a 404 anyway).
PAGE = QueryParameter.whole_number(
    "page", minimum=1, maximum=1_000_000, description="A page of results, from 1."
)


class ApiPagination(PageNumberPagination):
    """DRF's page-number pages (count, next, previous, results), with `page` checked like any
    other query parameter: a malformed one is a 400 naming it, a page past the last a 404."""

    invalid_page_message = (
        "Page {page_number} is past the last page of results: ask for an earlier page, or "
        "leave page out for the first."
    )

    def get_page_number(self, request: Request, paginator: Paginator) -> int:
        values = request.query_params.getlist(self.page_query_param)
        return int(PAGE.check(values)) if values else 1

    def get_schema_operation_parameters(self, view) -> list[dict]:
        return [PAGE.openapi_dict()]
