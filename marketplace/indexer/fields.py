"""Model fields for chain values."""

from __future__ import annotations

from django.db import models


class Units(models.DecimalField):
    """A uint256 amount in base units (ECT has 9 decimals): an integer of up to 78 digits."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("max_digits", 78)
        kwargs.setdefault("decimal_places", 0)
        kwargs.setdefault("default", 0)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        for key, value in (("max_digits", 78), ("decimal_places", 0), ("default", 0)):
            if kwargs.get(key) == value:
                del kwargs[key]
        return name, path, args, kwargs
