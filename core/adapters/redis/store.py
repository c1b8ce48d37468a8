"""The Redis store: one hash per partition, one sorted set per index, every write one Lua script.

Key layout for a partition (``{…}`` is the Redis Cluster hash tag, so a partition lives in one slot and its scripts
work on a cluster; the partition key is percent-encoded so no key can spell another partition's keys):

- ``aor:{threads:thread_abc}:docs`` -- hash, document id -> ``<meta JSON>\\n<body JSON>``; the meta line is
  ``{"etag": …, "indexes": […]}``, so the scripts read a version and its index names without decoding bodies.
- ``aor:{threads:thread_abc}:idx:<name>`` -- sorted set of the ids in that index, all with score 0, so
  ``ZRANGEBYLEX`` pages it by id in O(log n + limit).
- ``aor:{threads:thread_abc}:indexes`` -- set of the index names in use, so dropping a partition never scans keys.

Redis deletes emptied hashes, sets and sorted sets, so a partition whose documents are all gone leaves no keys.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import quote

import orjson
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from core.domain.errors import ConcurrencyError, ServiceUnavailableError
from core.domain.pagination import ListQuery, Page, page_from_scan
from core.ports.store import INDEXES_FIELD, Check, Create, Delete, Document, Partition, Write

__all__ = ["RedisStore"]

# How long a command waits for a pooled connection when all are busy. The pool signals the timeout with redis'
# ConnectionError("No connection available."), which _unavailable_as_503 turns into a 503 like any outage.
_POOL_WAIT_SECONDS = 10.0

# KEYS: docs hash, index-name set. ARGV: index key prefix, then (op, id, expected etag or "", new value) per write;
# op is create, replace, delete or check (a version condition that writes nothing).
# Returns nil, or why a condition failed (then nothing was written). Index keys are built here, not passed in KEYS,
# because the old versions' index names are only known inside the script; they share the partition's hash tag.
_COMMIT = """
local docs, names, prefix = KEYS[1], KEYS[2], ARGV[1]
local function meta(value)
  if not value then return nil end
  return cjson.decode(string.sub(value, 1, string.find(value, '\\n', 1, true) - 1))
end
local staged = {}  -- id -> value as the earlier writes of this commit leave it (false: deleted)
for i = 2, #ARGV, 4 do
  local op, id, expected = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local current = staged[id]
  if current == nil then current = redis.call('HGET', docs, id) end
  if op == 'create' and current then return 'document ' .. id .. ' exists' end
  if (op == 'replace' or op == 'check') and not current then return 'document ' .. id .. ' does not exist' end
  if expected ~= '' and (not current or meta(current).etag ~= expected) then return 'document ' .. id .. ' changed' end
  if op ~= 'check' then staged[id] = op ~= 'delete' and ARGV[i + 3] end
end
for i = 2, #ARGV, 4 do
  if ARGV[i] ~= 'check' then  -- a check read its document and writes nothing
    local id, value = ARGV[i + 1], ARGV[i + 3]
    local old, new = meta(redis.call('HGET', docs, id)), ARGV[i] ~= 'delete' and meta(value)
    local kept = {}
    for _, name in ipairs(new and new.indexes or {}) do
      kept[name] = true
      redis.call('ZADD', prefix .. name, 0, id)
      redis.call('SADD', names, name)
    end
    for _, name in ipairs(old and old.indexes or {}) do
      if not kept[name] then
        redis.call('ZREM', prefix .. name, id)
        if redis.call('EXISTS', prefix .. name) == 0 then redis.call('SREM', names, name) end
      end
    end
    if new then redis.call('HSET', docs, id, value) else redis.call('HDEL', docs, id) end
  end
end
return false
"""

# KEYS: docs hash, index. ARGV: first bound, last bound, 'rev' or '', count, then ids to read. Returns {the ids'
# values (false where absent), the values of the index's ids between the bounds}: the point reads and the page of a
# list request in one round trip, as one snapshot. The page is not read when an id is absent (the request is a 404
# or a 400 then); with no ids to read, it is a plain scan. ZRANGEBYLEX rather than ZRANGE … BYLEX keeps Redis 6.0
# (still the default of Azure Cache for Redis) supported.
_GET_AND_SCAN = """
local values, ids, missing = {}, {}, false
for i = 5, #ARGV do
  values[i - 4] = redis.call('HGET', KEYS[1], ARGV[i])
  missing = missing or not values[i - 4]
end
if not missing then
  if ARGV[3] == 'rev' then
    ids = redis.call('ZREVRANGEBYLEX', KEYS[2], ARGV[1], ARGV[2], 'LIMIT', 0, ARGV[4])
  else
    ids = redis.call('ZRANGEBYLEX', KEYS[2], ARGV[1], ARGV[2], 'LIMIT', 0, ARGV[4])
  end
end
local found = {}
for _, id in ipairs(ids) do
  local value = redis.call('HGET', KEYS[1], id)
  if value then found[#found + 1] = value end
end
return {values, found}
"""

# KEYS: docs hash, index-name set. ARGV: index key prefix. UNLINK frees long threads off the main thread.
_DROP = """
for _, name in ipairs(redis.call('SMEMBERS', KEYS[2])) do redis.call('UNLINK', ARGV[1] .. name) end
redis.call('UNLINK', KEYS[1], KEYS[2])
"""


@contextlib.contextmanager
def _unavailable_as_503() -> Iterator[None]:
    try:
        yield
    except (RedisConnectionError, RedisTimeoutError) as exc:
        raise ServiceUnavailableError("The database is unavailable; retry the request.") from exc


def _scan_args(query: ListQuery) -> list[str | int]:
    """The scan's ARGV of _GET_AND_SCAN: the exclusive lexicographic bounds in scan order, the direction and how many
    to read."""
    low, high = query.id_bounds()
    first, last = ("-" if low is None else f"({low}"), ("+" if high is None else f"({high}")
    bounds = [first, last, ""] if query.scan_ascending() else [last, first, "rev"]
    return [*bounds, query.limit + 1]


def _decode(value: str | bytes) -> Document:
    meta, _, body = (value if isinstance(value, str) else value.decode()).partition("\n")
    return Document(orjson.loads(body), orjson.loads(meta)["etag"])


class RedisStore:
    """A :class:`core.ports.store.DocumentStore` on Redis (or anything speaking its protocol with Lua scripting)."""

    def __init__(self, client: Redis, prefix: str = "aor") -> None:
        """``prefix`` starts every key, so several stores can share a database."""
        self._client = client
        self._prefix = prefix
        # register_script does no I/O: the scripts run by EVALSHA and are loaded on the first NOSCRIPT reply.
        self._commit = client.register_script(_COMMIT)
        self._get_and_scan = client.register_script(_GET_AND_SCAN)
        self._drop = client.register_script(_DROP)

    @classmethod
    def from_url(cls, url: str, max_connections: int = 64) -> RedisStore:
        """A store on ``redis://`` or ``rediss://`` (TLS) ``url``; connects on the first command, not here.

        At most ``max_connections`` connections are open; a command finding them all busy waits up to
        ``_POOL_WAIT_SECONDS`` for one, then fails with :class:`ServiceUnavailableError`.
        """
        # The default pool raises at once when exhausted, so a burst of streamed runs got 503s while Redis was idle.
        pool = BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=_POOL_WAIT_SECONDS,
            decode_responses=True,
            socket_connect_timeout=5,
            socket_timeout=5,
            health_check_interval=30,  # idle pooled connections are PINGed before reuse, not found dead mid-request
            # Retry once on a broken connection (the command most likely never arrived), never on a timeout: a
            # commit that timed out may have been applied, and running it again would report a false conflict.
            retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 1, supported_errors=(RedisConnectionError,)),
        )
        # from_pool hands the pool to the client, so close() disconnects it too.
        return cls(Redis.from_pool(pool))

    def _keys(self, partition: Partition) -> tuple[str, str, str]:
        """The docs hash, the index-name set and the prefix of the index keys of ``partition``."""
        base = f"{self._prefix}:{{{partition.container}:{quote(partition.key, safe='')}}}"
        return f"{base}:docs", f"{base}:indexes", f"{base}:idx:"

    async def get(self, partition: Partition, doc_id: str) -> Document | None:
        docs, _, _ = self._keys(partition)
        with _unavailable_as_503():
            value = await self._client.hget(docs, doc_id)
        return None if value is None else _decode(value)

    async def get_many(self, partition: Partition, doc_ids: Sequence[str]) -> list[Document | None]:
        """Several point reads in one round trip (``HMGET``); ``None`` where absent."""
        docs, _, _ = self._keys(partition)
        with _unavailable_as_503():
            values = await self._client.hmget(docs, list(doc_ids))
        return [None if value is None else _decode(value) for value in values]

    async def get_and_scan(self, partition: Partition, doc_ids: Sequence[str], index: str,
                           query: ListQuery) -> tuple[list[Document | None], Page[Document]]:
        """``get`` of each of ``doc_ids`` and ``scan``, in one round trip. The page is empty when an id is absent."""
        docs, _, index_prefix = self._keys(partition)
        with _unavailable_as_503():
            values, scanned = await self._get_and_scan(keys=[docs, index_prefix + index],
                                                       args=[*_scan_args(query), *doc_ids])
        found = [None if value is None else _decode(value) for value in values]  # Lua's false arrives as None
        return found, page_from_scan([_decode(value) for value in scanned], query)

    async def scan_many(self, partition: Partition, scans: Sequence[tuple[str, ListQuery]]) -> list[Page[Document]]:
        """Several scans of one partition in one round trip (a pipeline of the scan script)."""
        docs, _, index_prefix = self._keys(partition)
        with _unavailable_as_503():
            async with self._client.pipeline(transaction=False) as pipe:
                for index, query in scans:
                    await self._get_and_scan(keys=[docs, index_prefix + index], args=_scan_args(query), client=pipe)
                results = await pipe.execute()
        return [page_from_scan([_decode(value) for value in values], query)
                for (_, values), (_, query) in zip(results, scans, strict=True)]

    async def scan(self, partition: Partition, index: str, query: ListQuery) -> Page[Document]:
        docs, _, index_prefix = self._keys(partition)
        with _unavailable_as_503():
            _, values = await self._get_and_scan(keys=[docs, index_prefix + index], args=_scan_args(query))
        return page_from_scan([_decode(value) for value in values], query)

    async def commit(self, partition: Partition, writes: Sequence[Write]) -> list[str]:
        if not writes:
            return []
        docs, names, index_prefix = self._keys(partition)
        args: list[str] = [index_prefix]
        etags: list[str] = []
        for write in writes:
            if isinstance(write, Delete):
                args += ["delete", write.doc_id, write.etag or "", ""]
                etags.append("")
                continue
            if isinstance(write, Check):
                args += ["check", write.body["id"], write.etag, ""]
                etags.append(write.etag)
                continue
            etag = secrets.token_hex(8)  # random, so a dropped and recreated partition never reissues an old etag
            indexes: Any = write.body.get(INDEXES_FIELD) or []
            meta = orjson.dumps({"etag": etag, "indexes": sorted(set(indexes))}).decode()
            op, expected = ("create", "") if isinstance(write, Create) else ("replace", write.etag or "")
            args += [op, write.body["id"], expected, f"{meta}\n{orjson.dumps(write.body).decode()}"]
            etags.append(etag)
        with _unavailable_as_503():
            failure = await self._commit(keys=[docs, names], args=args)
        if failure is not None:
            raise ConcurrencyError(failure)
        return etags

    async def drop_partition(self, partition: Partition) -> None:
        docs, names, index_prefix = self._keys(partition)
        with _unavailable_as_503():
            await self._drop(keys=[docs, names], args=[index_prefix])

    async def ping(self) -> None:
        with _unavailable_as_503():
            await self._client.ping()

    async def close(self) -> None:
        await self._client.aclose()
