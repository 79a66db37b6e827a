"""API authentication by a token got by signing a challenge with a wallet (/api/v1/auth/).

Scripts send `Authorization: Bearer se_...`; browsers keep their session. A request without a
bearer token is left to the other authentication classes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from marketplace.accounts import services

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from rest_framework.request import Request

    from marketplace.accounts.models import ApiToken

KEYWORD = "Bearer"


class WalletTokenAuthentication(BaseAuthentication):
    """`request.user` is the token's user and `request.auth` the ApiToken."""

    def authenticate(self, request: Request) -> tuple[AbstractBaseUser, ApiToken] | None:
        words = get_authorization_header(request).split()
        if not words or words[0].lower() != KEYWORD.lower().encode():
            return None
        if len(words) != 2:
            raise AuthenticationFailed(
                f"Invalid Authorization header: send 'Authorization: {KEYWORD} <token>', the"
                " token in one piece."
            )
        try:
            secret = words[1].decode("ascii")
        except UnicodeDecodeError:
            raise AuthenticationFailed(
                "Invalid API token: it holds characters no token has; send it unchanged."
            ) from None
        try:
            token = services.api_token_authenticate(secret=secret)
        except services.ApiTokenError as error:
            raise AuthenticationFailed(str(error)) from None
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        # A WWW-Authenticate value makes DRF answer 401 rather than 403 to anonymous requests.
        return f'{KEYWORD} realm="api"'


class WalletTokenScheme(OpenApiAuthenticationExtension):
    target_class = WalletTokenAuthentication
    name = "walletToken"

    def get_security_definition(self, auto_schema) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A token from POST /api/v1/auth/token/, got by signing the message"
            " of POST /api/v1/auth/challenge/ with your wallet.",
        }
