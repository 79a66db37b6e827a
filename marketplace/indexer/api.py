"""The index's freshness in the JSON API: its own endpoint, and headers on every API answer."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.indexer import selectors


class IndexStatusOutputSerializer(serializers.Serializer):
    chain_id = serializers.IntegerField()
    indexed_block = serializers.IntegerField(
        source="block", allow_null=True, help_text="Last block indexed (null: none yet)."
    )
    indexed_at = serializers.DateTimeField(
        allow_null=True, help_text="When the index last reached the node's head."
    )
    seconds_ago = serializers.IntegerField(allow_null=True)
    head = serializers.IntegerField(allow_null=True, help_text="The node's latest block.")
    confirmed_block = serializers.IntegerField(
        allow_null=True, help_text="Data of later blocks is unconfirmed (a reorg may undo it)."
    )
    status = serializers.CharField()
    warning = serializers.CharField(help_text="Empty when the index is fresh.")


class IndexStatusApi(APIView):
    """Indexed to block N, X seconds ago: how fresh every on-chain figure of the API is."""

    @extend_schema(responses=IndexStatusOutputSerializer)
    def get(self, request: Request) -> Response:
        return Response(IndexStatusOutputSerializer(selectors.index_freshness()).data)


class IndexHeadersMiddleware:
    """Every answer under /api/ says how fresh the index is: X-Indexed-Block (the last block
    indexed) and X-Indexed-Age (seconds since the index last reached the head)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith("/api/") and not request.path.startswith(
            ("/api/docs/", "/api/schema/")
        ):
            freshness = selectors.index_freshness()
            if freshness.block is not None:
                response["X-Indexed-Block"] = str(freshness.block)
            if freshness.seconds_ago is not None:
                response["X-Indexed-Age"] = str(freshness.seconds_ago)
        return response
