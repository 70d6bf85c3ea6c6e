"""The live fast path (`LIAISON_LIVE_FAST_PATH`, on by default): every piece of the realtime
path that writes websocket frames itself, renders per share key or reaches into graphql-core.

- `operation`: the graphql-transport-ws operation of the current task and its executor;
  renders an event with the operation's selection and sends a ready `next` frame.
- `inbox`: the inbox subscription's part: render once per share key in the hub's prepare
  step, send from the hub's pump (`DirectSubscriber`), and park an idle subscription as a
  record in the hub with no task (`ParkedInbox`).

Off, subscriptions are served by Strawberry and graphql-core alone (subscriptions.inbox's
plain generator); results are the same, frame for frame.
"""

from gql.live.inbox import InboxFastPath, Parked, ParkedInbox, for_operation
from gql.live.operation import LiveOperation, OperationExecutor, bind

__all__ = [
    "InboxFastPath",
    "LiveOperation",
    "OperationExecutor",
    "Parked",
    "ParkedInbox",
    "bind",
    "for_operation",
]
