"""The graphql-transport-ws operation running in the current task, and its executor.

Each operation runs in its own task (Strawberry's handler); `bind` puts a `LiveOperation` in a
context variable there, and the first graphql-core executor built in that task registers with
it (`OperationExecutor`). With it a subscription can execute an event once for every
subscriber whose result is the same (`share_key`) and send the serialised payload itself
(`send_next`), instead of having graphql-core execute and serialise it per subscriber.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine, Hashable
from contextvars import ContextVar
from typing import Any

from graphql import ExecutionResult, FieldNode, Node, OperationDefinitionNode, Visitor, visit
from graphql.execution.collect_fields import FragmentDetails
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from gql.context import Info
from gql.encoding import dumps
from gql.execution import LiaisonExecutor
from services.auth import Viewer


class LiveOperation:
    """One graphql-transport-ws operation: its executor, and how to send its frames.

    `resume_after`: the position a parked subscription resumes from (None on a first run);
    `park`: the transport's hook to keep the subscription as a record once its task ends.
    """

    __slots__ = ("_key", "_prefix", "_send_text", "executor", "park", "resume_after")

    def __init__(
        self,
        operation_id: str,
        send_text: Callable[[str], Coroutine[Any, Any, None]],
        *,
        resume_after: int | None = None,
        park: Callable[[Any], None] | None = None,
    ) -> None:
        self.executor: StrawberryGraphQLCoreExecutionContext | None = None
        self._prefix = f'{{"id":{json.dumps(operation_id)},"type":"next","payload":'
        self._send_text = send_text
        self._key: Hashable | None = None
        self.resume_after = resume_after
        self.park = park

    def share_key(self, viewer: Viewer) -> Hashable:
        """Equal for operations whose events execute to the same result for one account.

        Same document text, operation name, variables (those used below the root field: the
        root field's own arguments, such as a replay cursor, do not change an event's
        result) and permissions. Event types must not depend on anything else of the viewer.
        """
        if self._key is None:
            assert self.executor is not None
            operation = self.executor.operation
            if operation.loc is None:
                self._key = self  # nothing to compare by: shared with no one
            else:
                names = sorted(_variables_below_root(operation, self.executor.fragments))
                coerced = self.executor.variable_values.coerced
                used = json.dumps([[n, coerced.get(n)] for n in names], default=str)
                name = operation.name.value if operation.name else None
                self._key = (operation.loc.source.body, name, used, viewer.permissions)
        return self._key

    async def render(self, event: object) -> str | None:
        """The `next` payload of `event` as JSON, or None when its result has errors.

        Executes the operation's selection on `event` exactly as graphql-core's subscription
        mapping does; results with errors are left to Strawberry (masking, logging).
        """
        assert self.executor is not None
        executor = self.executor.build_per_event_executor(event)
        result = executor.execute_operation(False)
        if executor.is_awaitable(result):
            result = await result
        assert isinstance(result, ExecutionResult)
        if result.errors:
            return None
        return dumps({"data": result.data}).decode()

    def send_next(self, payload: str) -> Coroutine[Any, Any, None]:
        """Send a `next` frame of this operation with an already serialised payload (the
        socket's own send, returned: no coroutine of ours per frame)."""
        return self._send_text(_frame(self._prefix, payload))


# The last frame built: the pump sends one payload to many operations in a row, most with
# the same id ("1" in most clients), so the frame is built once for them.
_last: tuple[str, str, str] = ("", "", "")


def _frame(prefix: str, payload: str) -> str:
    global _last  # touched by the event loop thread only
    last_prefix, last_payload, frame = _last
    if last_payload is payload and last_prefix == prefix:
        return frame
    frame = f"{prefix}{payload}}}"
    _last = (prefix, payload, frame)
    return frame


_current: ContextVar[LiveOperation | None] = ContextVar("liaison_live_operation", default=None)


def bind(
    operation_id: str,
    send_text: Callable[[str], Coroutine[Any, Any, None]],
    *,
    resume_after: int | None = None,
    park: Callable[[Any], None] | None = None,
) -> None:
    """In an operation's own task: the variable is seen by its executor and resolvers only."""
    _current.set(LiveOperation(operation_id, send_text, resume_after=resume_after, park=park))


def live_operation(info: Info) -> LiveOperation | None:
    """The operation `info` belongs to, when it runs over graphql-transport-ws."""
    current = _current.get()
    if current is None or current.executor is None:
        return None
    if current.executor.operation is not info.operation:
        return None
    return current


class OperationExecutor(LiaisonExecutor):
    """Strawberry's executor; the first one built in an operation's task is its executor."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        current = _current.get()
        if current is not None and current.executor is None:
            current.executor = self


class _VariableNames(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def enter_variable(self, node: Any, *_: Any) -> None:
        self.names.add(node.name.value)


def _variables_below_root(
    operation: OperationDefinitionNode, fragments: dict[str, FragmentDetails]
) -> set[str]:
    collector = _VariableNames()
    # graphql-core 3.3 keeps each fragment as `FragmentDetails(definition, …)`.
    parts: list[Node] = [
        *(operation.directives or ()),
        *(details.definition for details in fragments.values()),
    ]
    for selection in operation.selection_set.selections:
        if isinstance(selection, FieldNode):
            parts.extend(selection.directives or ())
            if selection.selection_set is not None:
                parts.append(selection.selection_set)
        else:
            parts.append(selection)
    for part in parts:
        visit(part, collector)
    return collector.names
