"""Patches of the embedded AWS (moto), applied by devstack only, that make it behave like AWS
under the local stack's concurrent, sustained load. Each says why; all are undone by
`uninstall`. Measured effect: docs/performance.md.

DynamoDB (moto is written for one test thread at a time):
- `DynamoDBBackend.transact_write_items` starts with `copy.deepcopy(table)` of every table it
  touches, to restore the copy when an operation fails: O(table) time per transaction, and
  while another thread writes, the copy dies with `RuntimeError: dictionary changed size
  during iteration` (reproduced in moto alone; upstream getmoto/moto issue "transact_write_items
  is not thread-safe / deep-copies the whole table"). A rollback also swaps the Table object,
  so a writer still holding the old one writes into a table nobody reads.
- Nothing serializes requests: two conditional writers of one key can both pass the check
  before either writes, so "one writer wins" does not hold.
  -> one lock around every DynamoDB request, so each item write and each transaction is
  atomic as on DynamoDB (moto is pure Python under the GIL: the lock costs no parallelism
  that existed); and a `transact_write_items` that checks every condition first, changes
  nothing when one fails, then applies, keeping a copy of only the items it touches to undo a
  failure midway: O(items in the transaction).
- Every Query starts from `Table.all_items()`, which lists and sorts the whole table, and then
  keeps the items of the asked partition: O(table log table) per Query, the main reason the
  time per message grew with the table -> the Query reads only its partition: of the table
  from `Table.items`, of a global index from buckets kept up to date on every write.
- moto keeps each attribute of each item as a Python object (~20 KB for a 1.6 KB ticket), and
  builds an item in O(attributes^2) -> items rest packed between requests
  (devstack/moto_items.py).
- Every response goes through moto's generic, model-driven serializer (about a third of a
  Query's time, growing with the page); DynamoDB's answers are plain JSON already
  -> `DynamoResult` answers are written with `json.dumps`.
- Calls from inside this process went through a signed HTTP request that moto parsed back
  (about a third of the CPU per message) -> devstack/dynamodb_direct.py hands them to
  `DynamoHandler.call_action` directly.

Every service:
- moto's `BaseModel.__new__` appends every model instance it ever creates to a class list (for
  its dashboard), so nothing moto creates is ever freed: each DynamoDB item, each copy of an
  item a Query or an update makes, each stream record, each execution's objects. That was the
  memory that grew per message and never came back -> instances are not tracked, except S3's
  keys and multipart uploads, which moto's reset uses to close their buffers.
- every request lists its response class's methods with `inspect.getmembers` to find the
  action (~6% of the CPU per mail) -> listed once per class;
- S3's `url_bases` re-imports (`importlib.reload`) its URL module on every request, so that
  environment variables read at import apply (~5% of the CPU per message) -> reloaded once
  per process: the local stack sets its environment before it starts.

Step Functions (moto runs the real ASL with LocalStack's interpreter):
- every execution parses the state machine's ASL again with ANTLR (a tenth of the stack's
  CPU per message) and builds its evaluation components from the tree (another tenth)
  -> the parse tree and one built program are cached per definition (pickled); each
  execution gets its own copy of the program's components (unpickled: a third of a deep
  copy's time), as fresh as moto's;
- every Task state creates a new boto3 client (client creation is slow and the default
  session is not thread-safe; this moto version ignores the state's role when it creates one)
  -> one client per region and service;
- every JSONPath (`InputPath`, `ResultPath`, `$.x` in Parameters) is parsed again per state,
  and jsonpath_ng's parser builds its yacc tables anew per parse (~7% of the CPU per message)
  -> parsed paths are cached per string (a parsed path is immutable);
- a finished execution keeps its whole interpreter environment (the event history with every
  state's input and output) for ever: the largest part of the memory that grew per message
  -> the newest `KEEP_HISTORIES` finished executions keep their history
  (GetExecutionHistory); older ones keep their name, status, input and output only
  (DescribeExecution, ListExecutions and the name's uniqueness are unchanged);
- StartExecution checks the name's uniqueness, and DescribeExecution and StopExecution find
  the execution, by walking every execution the state machine ever ran: O(executions) per
  message (9% of the stack's samples after 6,000 mails with 8 senders, a quarter of the
  stream poller's thread, which starts the workflows one after another) -> a state machine's
  executions are also kept by name and by ARN; the answers are moto's;
- every thread the interpreter starts (one per execution, its program, each Task or Map
  state) is appended to a module list `TMP_THREADS` that nothing ever empties (LocalStack
  joins it at shutdown; moto never does): ~7 `Thread` objects with their locks and events per
  message, kept for ever -> the list forgets what is appended;
- every execution starts two threads (its worker, its program) and every Task, Map or inline
  iteration one more, which its caller waits for (so that a timeout can abandon it): OS
  threads started and torn down several times per message -> an idle thread is reused when
  there is one (devstack/threads.py); a state that times out still leaves its thread
  running, as moto's would.
"""

from __future__ import annotations

import collections
import copy
import functools
import json
import pickle
import sys
import threading
import time
import types
from collections.abc import Callable
from typing import Any

from devstack import aws_calls, dynamodb_direct, moto_items, request_ids
from devstack.threads import ReusedThread

KEEP_HISTORIES = 200
STOP_WAIT_SECONDS = 2.0

_lock = threading.RLock()
_depth = 0  # DynamoDB requests in progress on the thread holding the lock
# (owner, attribute) -> the original, to put back
_originals: dict[tuple[Any, str], Any] = {}


def install() -> None:
    """Idempotent. Install before devstack.streams wraps `transact_write_items`."""
    import moto.core.responses as moto_responses
    from moto.core.common_models import BaseModel
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table
    from moto.dynamodb.responses import DynamoHandler, DynamoResult
    from moto.s3.models import S3Backend
    from moto.stepfunctions.models import StateMachine, StepFunctionBackend
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
    from moto.stepfunctions.parser.backend.execution import (
        BaseExecutionWorkerCommunication,
        Execution,
    )

    with _lock:
        if _originals:
            return
        _replace(BaseModel, "__new__", staticmethod(_untracked_new))
        import botocore.endpoint
        import botocore.handlers

        # botocore's idempotency tokens and retry ids per request, without a system call each
        _replace(botocore.handlers, "uuid", request_ids.UUID_MODULE)
        _replace(botocore.endpoint, "uuid", request_ids.UUID_MODULE)
        moto_items.install()
        dynamodb_direct.install()
        _replace(DynamoHandler, "call_action", _serialized(DynamoHandler.call_action))
        _replace(DynamoDBBackend, "transact_write_items", transact_write_items)
        _replace(DynamoResult, "execute_result", _json_result(DynamoResult.execute_result))
        _replace(Table, "query", _partition_query(Table.query))
        _replace(Table, "put_item", _reindexing_put(Table.put_item))
        _replace(Table, "delete_item", _reindexing_delete(Table.delete_item))
        _replace(DynamoDBBackend, "update_item", _reindexing_update(DynamoDBBackend.update_item))
        _replace(AmazonStateLanguageParser, "parse", staticmethod(_parse_cached))
        _replace(BaseExecutionWorkerCommunication, "terminated",
                 _forgetting_old_histories(BaseExecutionWorkerCommunication.terminated))
        _replace(Execution, "to_history_output", _history_if_kept(Execution.to_history_output))
        _replace(StateMachine, "__init__", _indexing_executions(StateMachine.__init__))
        _replace(StateMachine, "_handle_name_input_idempotency",
                 _execution_by_name(StateMachine._handle_name_input_idempotency))
        _replace(StateMachine, "stop_execution", _stopped_by_arn(StateMachine.stop_execution))
        _replace(StepFunctionBackend, "describe_execution",
                 _described_by_arn(StepFunctionBackend.describe_execution))
        for module in _modules_with_boto_client_for():
            _replace(module, "boto_client_for", _client_for)
        _replace(S3Backend, "_url_module", property(_s3_url_module))
        _replace(moto_responses, "method_names_from_class", _method_names)
        for module in _modules_parsing_json_paths():
            _replace(module, "parse", _cached_path_parser(module.parse))
        for module in _modules_keeping_threads():
            _replace(module, "TMP_THREADS", _Forgetful())
        for module, name in _modules_starting_threads():
            _replace(module, name, _InterpreterThread if name == "Thread" else _THREADING)


def uninstall() -> None:
    with _lock:
        moto_items.deactivate()
        dynamodb_direct.uninstall()
        for (owner, name), original in reversed(list(_originals.items())):
            if original is _INHERITED:
                delattr(owner, name)
            else:
                setattr(owner, name, original)
        _originals.clear()
        _parse_tree.cache_clear()
        _parse_program.cache_clear()
        _cached_client.cache_clear()
        _s3_urls.cache_clear()
        _method_names.cache_clear()
        _finished.clear()


_INHERITED = object()


def _replace(owner: Any, name: str, replacement: Any) -> None:
    # A class's own attribute as stored (a staticmethod stays one); inherited ones are removed
    # again on uninstall.
    original = (owner.__dict__.get(name, _INHERITED) if isinstance(owner, type)
                else getattr(owner, name))
    _originals[(owner, name)] = original
    setattr(owner, name, replacement)


_STILL_TRACKED = {"FakeKey", "FakeMultipart"}  # S3's reset closes their buffers


def _untracked_new(cls: type, *args: Any, **kwargs: Any) -> Any:
    instance: Any = object.__new__(cls)
    if cls.__name__ in _STILL_TRACKED:
        cls.instances_tracked.append(instance)  # type: ignore[attr-defined]
    return instance


def _serialized(call_action: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def serialized_call_action(handler: Any) -> Any:
        global _depth
        with _lock:
            _depth += 1
            try:
                return call_action(handler)
            finally:
                _depth -= 1
                if not _depth:  # the answer is written: the items it read can rest packed
                    moto_items.pack_touched()

    return serialized_call_action


def transact_write_items(backend: Any, transact_items: list[dict[str, Any]]) -> None:
    """DynamoDB's TransactWriteItems on moto's backend: all conditions, then all writes."""
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        ConditionalCheckFailed,
        MockValidationException,
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )
    from moto.dynamodb.models.dynamo_type import DynamoType

    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    seen: set[tuple[str, str]] = set()
    reasons: list[tuple[str | None, str | None, dict[str, Any] | None]] = []
    plan: list[tuple[str, Any, dict[str, Any], dict[str, Any]]] = []
    with _lock:
        # 1. Every condition against the state before the transaction; nothing written yet.
        for entry in transact_items:
            if len(entry) > 1:
                raise TransactWriteSingleOpException
            old_image: dict[str, Any] | None = None
            try:
                op_type, op = next(iter(entry.items()))
                if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                    raise ValueError("Unsupported transaction operation")
                table = backend.get_table(op["TableName"])
                if op_type == "Put":
                    attrs = op["Item"]
                    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                    if table.range_key_attr is not None:
                        key[table.range_key_attr] = attrs[table.range_key_attr]
                else:
                    key = op["Key"]
                marker = (str(op["TableName"]), str(dict(sorted(key.items()))))
                if marker in seen:
                    raise MultipleTransactionsException()
                seen.add(marker)
                current = backend.get_item(op["TableName"], key)
                condition = op.get("ConditionExpression")
                if condition is not None:
                    check = get_filter_expression(condition, op.get("ExpressionAttributeNames"),
                                                  op.get("ExpressionAttributeValues"))
                    if not check.expr(current):
                        if (op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD"
                                and current):
                            old_image = current.to_json()["Attributes"]
                        raise ConditionalCheckFailed(item=old_image)
                reasons.append((None, None, None))
                plan.append((op_type, table, key, op))
            except (MultipleTransactionsException, MockValidationException):
                raise
            except ConditionalCheckFailed as failed:
                reasons.append(("ConditionalCheckFailed", str(failed.message), old_image))
            except Exception as problem:  # moto's way: a reason per operation
                reasons.append((type(problem).__name__, str(problem), old_image))
        if any(code is not None for code, _, _ in reasons):
            raise TransactionCanceledException(reasons)

        # 2. Apply, remembering each touched item so that a failure midway undoes the rest.
        undo: list[tuple[Any, Any, Any, Any]] = []
        try:
            for position, (op_type, table, key, op) in enumerate(plan):
                if op_type == "ConditionCheck":
                    continue
                hash_value = DynamoType(key[table.hash_key_attr])
                range_value = (DynamoType(key[table.range_key_attr])
                               if table.range_key_attr else None)
                before = table.get_item(hash_value, range_value)
                undo.append((table, hash_value, range_value, copy.deepcopy(before)))
                try:
                    _apply(backend, op_type, key, op)
                except MockValidationException:
                    raise
                except Exception as problem:
                    failed_reasons: list[tuple[str | None, str | None, Any]] = [
                        (None, None, None)] * len(transact_items)
                    failed_reasons[position] = (type(problem).__name__, str(problem), None)
                    raise TransactionCanceledException(failed_reasons) from problem
        except Exception:
            for table, hash_value, range_value, before in reversed(undo):
                _restore(table, hash_value, range_value, before)
            raise


def _apply(backend: Any, op_type: str, key: dict[str, Any], op: dict[str, Any]) -> None:
    names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
    if op_type == "Put":
        backend.put_item(op["TableName"], op["Item"], expression_attribute_names=names,
                         expression_attribute_values=values)
    elif op_type == "Delete":
        backend.delete_item(op["TableName"], key, expression_attribute_names=names,
                            expression_attribute_values=values)
    else:
        backend.update_item(op["TableName"], key, update_expression=op["UpdateExpression"],
                            expression_attribute_names=names,
                            expression_attribute_values=values)


def _restore(table: Any, hash_value: Any, range_value: Any, before: Any) -> None:
    """Puts an item back as it was, without a stream record (the transaction never was)."""
    if range_value is None:
        if before is None:
            table.items.pop(hash_value, None)
        else:
            table.items[hash_value] = before
    else:
        partition = table.items[hash_value]
        if before is None:
            partition.pop(range_value, None)
            if not partition:
                table.items.pop(hash_value, None)
        else:
            partition[range_value] = before
    _reindex(table, hash_value, range_value, before)


# --- Query by partition -------------------------------------------------------------------------
class _IndexBuckets:
    """The items of each global index (with a single partition-key attribute) by the value of
    that attribute, so a Query on the index reads its partition only. Built on a table's
    first index Query, then kept current by every write (all run under `_lock`)."""

    def __init__(self, table: Any) -> None:
        self.attributes: dict[str, str] = {}
        for index in table.global_indexes:
            hash_keys = [key for key in index.schema if key["KeyType"] == "HASH"]
            if len(hash_keys) == 1:
                self.attributes[index.name] = hash_keys[0]["AttributeName"]
        self.buckets: dict[str, dict[Any, dict[Any, Any]]] = {
            name: {} for name in self.attributes}
        self.placed: dict[Any, dict[str, Any]] = {}
        for item in table.all_items():
            self.place((item.hash_key, item.range_key), item)

    def place(self, key: Any, item: Any) -> None:
        """Files the item stored under `key` (None: deleted) in the buckets it belongs to."""
        for name, value in self.placed.pop(key, {}).items():
            bucket = self.buckets[name][value]
            bucket.pop(key, None)
            if not bucket:
                del self.buckets[name][value]
        if item is None:
            return
        where = {}
        for name, attribute in self.attributes.items():
            value = item.attrs.get(attribute)
            if value is not None:
                self.buckets[name].setdefault(value, {})[key] = item
                where[name] = value
        if where:
            self.placed[key] = where


_BUCKETS = "_helpdesk_index_buckets"


def _reindex(table: Any, hash_value: Any, range_value: Any, item: Any) -> None:
    buckets: _IndexBuckets | None = getattr(table, _BUCKETS, None)
    if buckets is not None:
        buckets.place((hash_value, range_value), item)


def _partition_query(query: Callable[..., Any]) -> Callable[..., Any]:
    def partition_query(table: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        candidates: list[Any] | None = None
        with _lock:
            if not index_name:
                if hash_key is not None:
                    stored = table.items.get(hash_key)
                    candidates = ([] if stored is None else list(stored.values())
                                  if table.range_key_attr else [stored])
            else:
                buckets = getattr(table, _BUCKETS, None)
                if buckets is None:
                    buckets = _IndexBuckets(table)
                    setattr(table, _BUCKETS, buckets)
                attribute = buckets.attributes.get(index_name)
                conditions = dict(kwargs.get("hash_key_conditions") or [])
                value = conditions.get(attribute, hash_key) if attribute else None
                if value is not None:
                    candidates = list(buckets.buckets[index_name].get(value, {}).values())
            if candidates is None:  # a shape we do not index: moto's own way
                return query(table, hash_key, *args, **kwargs)
            # moto's query filters and sorts what `all_items` lists: list the partition only.
            table.all_items = lambda: candidates
            try:
                return query(table, hash_key, *args, **kwargs)
            finally:
                del table.all_items

    return partition_query


def _reindexing_put(put_item: Callable[..., Any]) -> Callable[..., Any]:
    def reindexing_put(table: Any, *args: Any, **kwargs: Any) -> Any:
        with _lock:
            item = put_item(table, *args, **kwargs)
            _reindex(table, item.hash_key, item.range_key, item)
            return item

    return reindexing_put


def _reindexing_delete(delete_item: Callable[..., Any]) -> Callable[..., Any]:
    def reindexing_delete(table: Any, hash_key: Any, range_key: Any) -> Any:
        with _lock:
            item = delete_item(table, hash_key, range_key)
            _reindex(table, hash_key, range_key, None)
            return item

    return reindexing_delete


def _reindexing_update(update_item: Callable[..., Any]) -> Callable[..., Any]:
    # An update changes the stored Item in place: file it again under its new index values.
    def reindexing_update(backend: Any, table_name: str, *args: Any, **kwargs: Any) -> Any:
        with _lock:
            item = update_item(backend, table_name, *args, **kwargs)
            _reindex(backend.get_table(table_name), item.hash_key, item.range_key, item)
            return item

    return reindexing_update


# --- DynamoDB answers -------------------------------------------------------------------------
def _json_result(execute_result: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def json_result(result: Any, context: Any) -> Any:
        data = result.result
        if not isinstance(data, dict):
            return execute_result(result, context)
        try:
            # The serializer leaves absent what is None (e.g. LastEvaluatedKey on the last page).
            body = json.dumps({key: value for key, value in data.items() if value is not None},
                              separators=(",", ":"))
        except (TypeError, ValueError):
            return execute_result(result, context)
        return 200, {"Content-Type": "application/x-amz-json-1.0"}, body

    return json_result


@functools.lru_cache(maxsize=256)
def _method_names(handler_class: type) -> frozenset[str]:
    """The actions a response class implements; moto listed them with `inspect.getmembers`
    on every request (~6% of the CPU per mail)."""
    import inspect

    return frozenset(name for name, _ in inspect.getmembers(handler_class, inspect.isfunction))


# --- Step Functions -----------------------------------------------------------------------------
def _parse_cached(definition: str) -> tuple[Any, Any]:
    program, tree = _parse_program(definition)
    # Evaluation components are built fresh per execution, as moto does (some keep state
    # during a run, e.g. a retrier's attempt count), but by unpickling a built program
    # (~1 ms for ticket_event; a deep copy took ~3 ms) instead of visiting the tree again
    # (~7 ms).
    if isinstance(program, bytes):
        return pickle.loads(program), tree
    return copy.deepcopy(program), tree


@functools.lru_cache(maxsize=64)
def _parse_program(definition: str) -> tuple[Any, Any]:
    """The built program, pickled when it can be (else kept as is), and the parse tree."""
    from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor

    tree = _parse_tree(definition)
    program = Preprocessor().visit(tree)
    try:
        return pickle.dumps(program, protocol=pickle.HIGHEST_PROTOCOL), tree
    except (pickle.PicklingError, TypeError, AttributeError):
        return program, tree


@functools.lru_cache(maxsize=64)
def _parse_tree(definition: str) -> Any:
    from antlr4 import CommonTokenStream, InputStream
    from moto.stepfunctions.parser.asl.antlr.runtime.ASLLexer import ASLLexer
    from moto.stepfunctions.parser.asl.antlr.runtime.ASLParser import ASLParser
    from moto.stepfunctions.parser.asl.parse.asl_parser import (
        ASLParserException,
        SyntaxErrorListener,
    )

    listener = SyntaxErrorListener()
    parser = ASLParser(CommonTokenStream(ASLLexer(InputStream(definition))))
    parser.removeErrorListeners()
    parser.addErrorListener(listener)
    tree = parser.state_machine()
    if listener.errors:
        raise ASLParserException(errors=listener.errors)  # not cached: lru_cache skips raises
    return tree


_finished: collections.deque[Any] = collections.deque()
_finished_lock = threading.Lock()


def _forgetting_old_histories(terminated: Callable[[Any], None]) -> Callable[[Any], None]:
    def forgetting_old_histories(communication: Any) -> None:
        terminated(communication)
        with _finished_lock:
            _finished.append(communication.execution)
            while len(_finished) > KEEP_HISTORIES:
                _finished.popleft().exec_worker = None  # its environment, threads, history

    return forgetting_old_histories


def _history_if_kept(to_history_output: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def history_if_kept(execution: Any) -> Any:
        if execution.exec_worker is None:  # forgotten: an empty history, not a crash
            from moto.stepfunctions.parser.api import GetExecutionHistoryOutput

            return GetExecutionHistoryOutput(events=[])
        return to_history_output(execution)

    return history_if_kept


class _Executions(list[Any]):
    """A state machine's executions in start order, as moto keeps them, and also by name and
    by ARN. moto only ever appends to the list (deleting a state machine drops it whole)."""

    def __init__(self) -> None:
        super().__init__()
        self.by_name: dict[str, Any] = {}
        self.by_arn: dict[str, Any] = {}

    def append(self, execution: Any) -> None:
        super().append(execution)
        self.by_name[execution.name] = execution
        self.by_arn[execution.execution_arn] = execution


def _indexing_executions(init: Callable[..., None]) -> Callable[..., None]:
    def indexing_executions(machine: Any, *args: Any, **kwargs: Any) -> None:
        init(machine, *args, **kwargs)
        machine.executions = _Executions()

    return indexing_executions


def _by_arn(executions: Any, execution_arn: str) -> Any:
    """The execution when `executions` is indexed, else None (moto's own walk answers)."""
    return executions.by_arn.get(execution_arn) if isinstance(executions, _Executions) else None


def _execution_by_name(walk: Callable[[Any, str, str], Any]) -> Callable[[Any, str, str], Any]:
    def execution_by_name(machine: Any, name: str, execution_input: str) -> Any:
        """moto's rule, by name instead of by walking the list: the same name and input of
        a running execution is that execution; any other reuse of a name is refused."""
        from moto.stepfunctions.exceptions import ExecutionAlreadyExists

        executions = machine.executions
        if not isinstance(executions, _Executions):
            return walk(machine, name, execution_input)
        execution = executions.by_name.get(name)
        if execution is None:
            return None
        if execution_input == execution.execution_input and execution.status == "RUNNING":
            return execution
        raise ExecutionAlreadyExists(f"Execution Already Exists: '{execution.execution_arn}'")

    return execution_by_name


def _stopped_by_arn(stop_execution: Callable[[Any, str], Any]) -> Callable[[Any, str], Any]:
    def stopped_by_arn(machine: Any, execution_arn: str) -> Any:
        from moto.core.utils import utcnow

        execution = _by_arn(machine.executions, execution_arn)
        if execution is None:  # moto's own answer (ExecutionDoesNotExist)
            return stop_execution(machine, execution_arn)
        execution.stop(stop_date=utcnow(), error="", cause="")
        # As on AWS, a DescribeExecution after StopExecution says ABORTED: the interpreter's
        # thread records it a moment later, so wait for it (briefly: a thread inside a long
        # Task only notices when the Task returns).
        deadline = time.monotonic() + STOP_WAIT_SECONDS
        while execution.status == "RUNNING" and time.monotonic() < deadline:
            time.sleep(0.002)
        return execution

    return stopped_by_arn


def _described_by_arn(describe: Callable[[Any, str], Any]) -> Callable[[Any, str], Any]:
    def described_by_arn(backend: Any, execution_arn: str) -> Any:
        backend._validate_execution_arn(execution_arn)
        machine = backend._get_state_machine_for_execution(execution_arn)
        found = _by_arn(machine.executions, execution_arn)
        return found if found is not None else describe(backend, execution_arn)

    return described_by_arn


_client_lock = threading.Lock()


def _client_for(region: str, service: str, state_credentials: Any = None) -> Any:
    # moto's boto_client_for ignores state_credentials (no role is assumed locally).
    return _cached_client(region, service)


@functools.cache
def _cached_client(region: str, service: str) -> Any:
    from moto.stepfunctions.parser.asl.utils import boto_client

    with _client_lock:  # boto3's default session must not create clients concurrently
        return boto_client.boto_client_for(region, service)


def _modules_with_boto_client_for() -> list[Any]:
    # Importing the factory imports every service integration that names the function.
    import moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils
    import moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_factory  # noqa: F401,E501

    return [module for name, module in list(sys.modules.items())
            if name.startswith("moto.stepfunctions.parser.") and name != (
                "moto.stepfunctions.parser.asl.utils.boto_client")
            and hasattr(module, "boto_client_for")]


def _modules_parsing_json_paths() -> list[Any]:
    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.utils import json_path

    return [result_path, json_path]


def _cached_path_parser(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    return functools.lru_cache(maxsize=1024)(parse)


# --- S3 ---------------------------------------------------------------------------------------
def _s3_url_module(backend: Any) -> Any:
    return _s3_urls()


@functools.cache
def _s3_urls() -> Any:
    import importlib

    import moto.s3.urls

    return importlib.reload(moto.s3.urls)  # once, as moto does, for the environment it reads


def _modules_keeping_threads() -> list[Any]:
    import moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_factory  # noqa: E501
    import moto.stepfunctions.parser.backend.execution_worker  # noqa: F401

    return [module for name, module in list(sys.modules.items())
            if name.startswith("moto.stepfunctions.parser.") and name != (
                "moto.stepfunctions.parser.utils") and hasattr(module, "TMP_THREADS")]


class _InterpreterThread(ReusedThread):
    """A reused thread whose CPU time is the embedded AWS's (devstack/aws_calls.py), but for
    the handlers it invokes."""

    def __init__(self, target: Callable[..., Any], args: Any = (), kwargs: Any = None,
                 **options: Any) -> None:
        work = functools.partial(target, *args, **(kwargs or {}))
        super().__init__(lambda: aws_calls.spent_in("aws", work), **options)


_THREADING = types.SimpleNamespace(Thread=_InterpreterThread)  # for `threading.Thread(...)`


def _modules_starting_threads() -> list[tuple[Any, str]]:
    """(module, the name it starts threads by) for each place moto starts one per
    execution, program or state; these modules use `threading` for nothing else."""
    from moto.stepfunctions.parser.asl.component.program import program
    from moto.stepfunctions.parser.asl.component.state.exec import execute_state
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import (
        inline_iteration_component,
    )
    from moto.stepfunctions.parser.backend import execution_worker

    return [(execute_state, "Thread"), (execution_worker, "Thread"), (program, "threading"),
            (inline_iteration_component, "threading")]


class _Forgetful(list[Any]):
    """A list that keeps nothing appended to it."""

    def append(self, item: Any) -> None:
        pass
