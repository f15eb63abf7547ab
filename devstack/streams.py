"""DynamoDB stream -> Lambda event-source mappings, delivered the way AWS delivers them.

moto creates the mapping from the template and does invoke the function for every write, but:
- synchronously, inside the write request: a PutItem blocks until the stream handler returns;
- for the items of a TransactWriteItems that then fails and is rolled back (moto applies the
  items one by one and restores a copy on failure), so a workflow would start for a change
  that never happened, and its deterministic execution name would then block the real one;
- ignoring FilterCriteria, and ignoring the answer: a failed batch is simply dropped.

This poller captures the records instead (after commit, for transactions) and delivers them
on one background thread, in order, in batches of the mapping's BatchSize, applying its
FilterCriteria, retrying failed batches (from the first reported item with
ReportBatchItemFailures) up to MaximumRetryAttempts, then sending the batch's description to
the OnFailure SQS destination, as AWS does. Not emulated: bisecting, batching windows,
parallelization; records delivered to a mapping are not kept for GetRecords."""

from __future__ import annotations

import collections
import functools
import itertools
import json
import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from devstack import aws_calls

logger = logging.getLogger(__name__)

UNLIMITED_RETRIES_LOCALLY = 10  # AWS's -1 means "until the record expires" (24 h)
MAX_BACKOFF_SECONDS = 5.0


@dataclass
class _Record:
    mapping_uuid: str
    account_id: str
    region: str
    body: dict[str, Any]  # the record as the function receives it


class StreamPoller:
    def __init__(self) -> None:
        self._pending: collections.deque[_Record] = collections.deque()
        self._cond = threading.Condition()
        self._busy = False
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._sequence = itertools.count()
        self._transaction = threading.local()
        self._originals: dict[str, Any] = {}

    # --- lifecycle -----------------------------------------------------------------------
    def start(self) -> StreamPoller:
        from moto.dynamodb.models import DynamoDBBackend
        from moto.dynamodb.models.table import StreamShard

        poller = self
        original_add = StreamShard.add
        original_transact = DynamoDBBackend.transact_write_items

        def add(shard: Any, old: Any, new: Any) -> None:
            if not shard.table.lambda_event_source_mappings:
                original_add(shard, old, new)  # no consumer: keep moto's behaviour
            else:
                poller._capture(shard, old, new)

        def transact_write_items(backend: Any, transact_items: list[dict[str, Any]]) -> None:
            poller._transaction.records = []
            try:
                original_transact(backend, transact_items)
                committed = poller._transaction.records
            finally:
                poller._transaction.records = None
            # One transaction's records, grouped by consumer (first appearance kept): the
            # poller hands each consumer its records in one batch, as consecutive records of a
            # shard are batched on AWS (items of one transaction land on different shards, so
            # AWS promises no order between them).
            order = {uuid: n for n, uuid in reversed(list(enumerate(
                record.mapping_uuid for record in committed)))}
            for record in sorted(committed, key=lambda record: order[record.mapping_uuid]):
                poller._enqueue(record)

        self._originals = {"add": original_add, "transact": original_transact}
        StreamShard.add = add  # type: ignore[assignment]
        DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[assignment]
        self._thread = threading.Thread(target=self._run, name="dynamodb-stream-poller",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        from moto.dynamodb.models import DynamoDBBackend
        from moto.dynamodb.models.table import StreamShard

        self._stopping.set()
        with self._cond:
            dropped = len(self._pending)
            self._pending.clear()
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
        if dropped:
            logger.warning("stopped with %d stream records undelivered", dropped)
        if self._originals:
            StreamShard.add = self._originals["add"]  # type: ignore[method-assign]
            DynamoDBBackend.transact_write_items = (  # type: ignore[method-assign]
                self._originals["transact"])
            self._originals = {}

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """True once every captured record has been delivered (or given up on)."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._pending and not self._busy, timeout)

    # --- capture (runs in the DynamoDB request's thread) ----------------------------------
    def _capture(self, shard: Any, old: Any, new: Any) -> None:
        from moto.awslambda.utils import get_backend

        table = shard.table
        event_name = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
        sequence = shard.starting_sequence_number + next(self._sequence)
        lambdas = get_backend(table.account_id, table.region_name)
        record: dict[str, Any] | None = None
        for copy in table.lambda_event_source_mappings.values():
            # The table holds copies after a transaction rollback; ask Lambda for the real one.
            mapping = lambdas.get_event_source_mapping(copy.uuid)
            if mapping is None or not mapping.enabled:
                continue
            # Most writes match no filter: decide on the few fields the filters name before
            # building the whole record (its images, its size).
            if _rejected_early(mapping.filter_criteria, table, event_name, old, new):
                continue
            if record is None:
                record = _stream_record(table, event_name, old, new, sequence)
            body = {**record, "eventSourceARN": mapping.event_source_arn}
            if not _passes_filters(mapping.filter_criteria, body):
                continue
            captured = _Record(mapping.uuid, table.account_id, table.region_name, body)
            in_transaction = getattr(self._transaction, "records", None)
            if in_transaction is not None:
                in_transaction.append(captured)
            else:
                self._enqueue(captured)

    def _enqueue(self, record: _Record) -> None:
        with self._cond:
            if not self._stopping.is_set():
                self._pending.append(record)
                self._cond.notify_all()

    # --- delivery (the poller thread) -------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending or self._stopping.is_set())
                if self._stopping.is_set():
                    return
                batch = self._take_batch()
                self._busy = True
            aws_calls.count("dynamodb-streams record", len(batch))
            aws_calls.count("dynamodb-streams batch")
            try:
                # Lambda's event source mapping: the embedded AWS's CPU (the function's own is
                # "functions", nested).
                aws_calls.spent_in("aws", lambda: self._deliver(batch))  # noqa: B023
            except Exception:  # a poller bug must not stop delivery of later records
                logger.exception("stream delivery failed")
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _take_batch(self) -> list[_Record]:
        from moto.awslambda.utils import get_backend

        first = self._pending[0]
        mapping = get_backend(first.account_id, first.region).get_event_source_mapping(
            first.mapping_uuid)
        limit = mapping.batch_size if mapping is not None else 1
        batch: list[_Record] = []
        while (self._pending and len(batch) < limit
               and self._pending[0].mapping_uuid == first.mapping_uuid):
            batch.append(self._pending.popleft())
        return batch

    def _deliver(self, batch: list[_Record]) -> None:
        from moto.awslambda.utils import get_backend

        first = batch[0]
        mapping = get_backend(first.account_id, first.region).get_event_source_mapping(
            first.mapping_uuid)
        if mapping is None:  # deleted meanwhile
            return
        retries = mapping.max_retry_attempts
        if retries is None or retries < 0:
            retries = UNLIMITED_RETRIES_LOCALLY
        records = [record.body for record in batch]
        for attempt in range(retries + 1):
            failed_from = self._invoke(mapping, first, records)
            if failed_from is None:
                return
            records = records[failed_from:]
            if attempt < retries:
                logger.info("stream batch failed; retrying %d records", len(records))
                if self._stopping.wait(min(0.2 * 2**attempt, MAX_BACKOFF_SECONDS)):
                    return
        self._give_up(mapping, first, records, retries + 1)

    def _invoke(self, mapping: Any, where: _Record, records: list[dict[str, Any]]) -> int | None:
        """Index of the first record to retry from, or None when the batch succeeded."""
        from moto.awslambda.utils import get_backend

        function = get_backend(where.account_id, where.region).get_function(
            mapping.function_arn)
        headers: dict[str, Any] = {}
        payload = function.invoke(json.dumps({"Records": records}), {}, headers)
        if "x-amz-function-error" in headers:
            return 0
        if "ReportBatchItemFailures" not in (mapping.function_response_types or []):
            return None
        try:
            answer = json.loads(payload or b"null")
        except ValueError:
            return 0
        failures = (answer or {}).get("batchItemFailures") if isinstance(answer, dict) else None
        if not failures:
            return None
        failed = {str(item.get("itemIdentifier")) for item in failures if isinstance(item, dict)}
        positions = [index for index, record in enumerate(records)
                     if record["dynamodb"]["SequenceNumber"] in failed]
        return min(positions) if positions else 0  # an unknown id fails the whole batch

    def _give_up(self, mapping: Any, where: _Record, records: list[dict[str, Any]],
                 attempts: int) -> None:
        logger.warning("stream batch of %d records failed %d times; giving up", len(records),
                       attempts)
        destination = ((mapping.destination_config or {}).get("OnFailure") or {}).get(
            "Destination")
        if not destination or ":sqs:" not in destination:
            return
        from moto.sqs.models import sqs_backends

        # The shape AWS sends: a pointer to the records, not the records themselves.
        times = [record["dynamodb"].get("ApproximateCreationDateTime") for record in records]
        message = {
            "requestContext": {"functionArn": mapping.function_arn,
                               "condition": "RetryAttemptsExhausted",
                               "approximateInvokeCount": attempts},
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST",
                                "functionError": "Unhandled"},
            "version": "1.0",
            "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "DDBStreamBatchInfo": {
                "shardId": "local",
                "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
                "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
                "approximateArrivalOfFirstRecord": _iso(times[0]),
                "approximateArrivalOfLastRecord": _iso(times[-1]),
                "batchSize": len(records),
                "streamArn": mapping.event_source_arn,
            },
        }
        _, _, _, region, account, queue_name = destination.split(":", 5)
        sqs_backends[account][region].send_message(queue_name, json.dumps(message))


def _stream_record(table: Any, event_name: str, old: Any, new: Any,
                   sequence: int) -> dict[str, Any]:
    from moto.dynamodb.models.table import StreamRecord

    raw = StreamRecord(table, table.stream_specification["StreamViewType"], event_name,
                       old, new, sequence).to_json()
    # A frozen copy: later writes must not change what the consumer sees.
    record: dict[str, Any] = json.loads(json.dumps(raw, default=_epoch_seconds))
    record["awsRegion"] = table.region_name
    return record


_IMAGES = {"NewImage": ("NEW_IMAGE", "NEW_AND_OLD_IMAGES"),
           "OldImage": ("OLD_IMAGE", "NEW_AND_OLD_IMAGES")}


def _rejected_early(criteria: dict[str, Any] | None, table: Any, event_name: str, old: Any,
                    new: Any) -> bool:
    """True when every filter refuses a record made only of the fields the filters name
    (eventName and attributes of dynamodb.Keys/NewImage/OldImage), with the values the whole
    record would hold: the same verdict as on the whole record, at a fraction of its cost.
    False when there are no filters or one names anything else (then the whole record
    decides)."""
    filters = (criteria or {}).get("Filters") or []
    named = [_named_fields(f.get("Pattern")) for f in filters]
    if not filters or any(fields is None for fields in named):
        return False
    view = table.stream_specification["StreamViewType"]
    images = {"NewImage": new if view in _IMAGES["NewImage"] else None,
              "OldImage": old if view in _IMAGES["OldImage"] else None}
    probe: dict[str, Any] = {"eventName": event_name, "dynamodb": {}}
    for fields in named:
        for section, attribute in fields or ():
            if section == "Keys":
                keyed = old if old is not None else new
                value = _key_value(table, keyed, attribute)
            else:
                item = images[section]
                if item is None:
                    continue
                value = item.attrs.get(attribute)
                value = None if value is None else value.to_json()
            part = probe["dynamodb"].setdefault(section, {})
            if value is not None:
                part[attribute] = value
    return not _passes_filters(criteria, probe)


def _key_value(table: Any, item: Any, attribute: str) -> Any:
    if attribute == table.hash_key_attr:
        return item.hash_key.to_json()
    if attribute == table.range_key_attr and item.range_key is not None:
        return item.range_key.to_json()
    return None


@functools.lru_cache(maxsize=256)
def _named_fields(text: str | None) -> tuple[tuple[str, str], ...] | None:
    """The (section, attribute) pairs a pattern names under `dynamodb`, or None when it
    names a field outside eventName and dynamodb.Keys/NewImage/OldImage."""
    try:
        pattern = json.loads(text or "{}")
    except ValueError:
        return None
    if not isinstance(pattern, dict) or set(pattern) - {"eventName", "dynamodb"}:
        return None
    sections = pattern.get("dynamodb", {})
    if not isinstance(sections, dict) or set(sections) - {"Keys", "NewImage", "OldImage"}:
        return None
    if not all(isinstance(attributes, dict) for attributes in sections.values()):
        return None
    return tuple((section, attribute) for section, attributes in sections.items()
                 for attribute in attributes)


def _passes_filters(criteria: dict[str, Any] | None, record: dict[str, Any]) -> bool:
    """FilterCriteria: a record is delivered when any filter's pattern matches it."""
    filters = (criteria or {}).get("Filters") or []
    if not filters:
        return True
    return any(_pattern(f.get("Pattern")).matches_event(record) for f in filters)


@functools.lru_cache(maxsize=256)
def _pattern(text: str | None) -> Any:
    """Parsed once per filter text: the stack delivers many records through few filters."""
    from moto.events.models import EventPattern

    return EventPattern.load(text)


def _epoch_seconds(value: Any) -> Any:
    if isinstance(value, datetime):
        from moto.core.utils import unix_time

        return unix_time(value)
    raise TypeError(f"{type(value).__name__} in a stream record")


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
