"""`RunQueue` on the ``run-jobs`` Azure Storage queue, read by the queue-triggered function ``runs_execute``.

The account is the Functions host's own (``AzureWebJobsStorage``): a connection string locally (Azurite), or
``AzureWebJobsStorage__accountName`` with the user-assigned managed identity (``__clientId``) in Azure. Messages
are base64-encoded JSON, the encoding the queue trigger expects by default. A job names only ids: executing it
twice is harmless, because only a ``queued`` run can start (`RunExecutor.execute`).
"""

from __future__ import annotations

from typing import Any

from core.config import RUN_QUEUE_NAME, Settings
from core.domain.errors import ServiceUnavailableError
from core.ports.run_queue import RunJob

__all__ = ["StorageQueueRunQueue"]


class StorageQueueRunQueue:
    def __init__(self, settings: Settings) -> None:
        if not (settings.storage_connection or settings.storage_account or settings.storage_queue_uri):
            raise ValueError("RUN_QUEUE=storage needs AzureWebJobsStorage, AzureWebJobsStorage__queueServiceUri or "
                             "AzureWebJobsStorage__accountName")
        self._settings = settings
        self._client: Any = None
        self._credential: Any = None

    @classmethod
    def from_settings(cls, settings: Settings) -> StorageQueueRunQueue:
        return cls(settings)

    def _queue(self) -> Any:
        if self._client is None:
            from azure.storage.queue import TextBase64DecodePolicy, TextBase64EncodePolicy
            from azure.storage.queue.aio import QueueClient

            policies: dict[str, Any] = {"message_encode_policy": TextBase64EncodePolicy(),
                                        "message_decode_policy": TextBase64DecodePolicy()}
            settings = self._settings
            if settings.storage_queue_uri or settings.storage_account:
                from azure.identity.aio import DefaultAzureCredential

                # The host's own identity-based settings: an explicit queue URI (sovereign clouds, private endpoints)
                # wins over the public endpoint built from the account name, as in the Functions host.
                url = settings.storage_queue_uri or f"https://{settings.storage_account}.queue.core.windows.net"
                self._credential = DefaultAzureCredential(managed_identity_client_id=settings.storage_client_id)
                self._client = QueueClient(url, RUN_QUEUE_NAME, credential=self._credential, **policies)
            else:
                assert settings.storage_connection is not None
                self._client = QueueClient.from_connection_string(settings.storage_connection, RUN_QUEUE_NAME,
                                                                  **policies)
        return self._client

    async def enqueue(self, tenant_id: str, thread_id: str, run_id: str) -> None:
        from azure.core.exceptions import AzureError, ResourceNotFoundError

        body = RunJob(tenant_id, thread_id, run_id).to_json()
        try:
            try:
                await self._queue().send_message(body)
            except ResourceNotFoundError:  # a fresh local emulator; in Azure the queue comes from Bicep
                await self._queue().create_queue()
                await self._queue().send_message(body)
        except AzureError:
            raise ServiceUnavailableError("The run queue is unavailable; retry the request.") from None

    async def drain(self) -> None:
        return None  # jobs run in the queue-triggered function, not in this process

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
        if self._credential is not None:
            await self._credential.close()
