"""Celery tasks of the channels: a few lines each, calling the pipeline or a sender."""

from celery import shared_task

from channels_ingest import pipeline


@shared_task(
    name="channels_ingest.process_inbound",
    autoretry_for=(Exception,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=8,
)
def process_inbound(item_id: int) -> None:
    pipeline.process(item_id)


@shared_task(name="channels_ingest.sweep_inbound")
def sweep_inbound() -> int:
    stale = pipeline.sweep()
    for item_id in stale:
        process_inbound.delay(item_id)
    return len(stale)
