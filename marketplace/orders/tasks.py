"""Celery entry point of the input clean-up (scheduled by beat: settings.CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from celery import shared_task

from marketplace.orders.services import inputs_clean


@shared_task(ignore_result=True)
def clean_inputs() -> None:
    """Delete the input files no deal needs any more, INPUT_RETENTION_DAYS after their upload."""
    inputs_clean()
