"""The GraphQL HTTP endpoint: auth, CSRF defence and JSON errors in front of Strawberry."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable
from typing import Any

from cross_web import AsyncHTTPRequestAdapter, HTTPException, StarletteRequestAdapter
from graphql import FieldNode, GraphQLError, OperationDefinitionNode, parse
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.file_uploads.utils import replace_placeholders_with_files
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.parse_content_type import parse_content_type
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.unset import UnsetType

from gql import live
from gql.context import Context
from gql.encoding import dumps
from gql.execution import COMPARE, EXECUTED_OPERATION, record_mismatch
from gql.lane import KnownDocumentLane
from gql.persisted import PersistedQueries, PersistedQueryError
from gql.runtime import Runtime
from gql.schema import LiaisonSchema
from gql.uploads import parse_multipart_form
from gql.ws import TransportWSHandler, authenticate
from services.attachments import ReceivedFile
from services.auth import Platform, Viewer, load_principal
from services.errors import Unauthenticated

log = logging.getLogger("liaison.http")

# A multipart POST is a "simple" request that skips the CORS preflight; requiring one of
# these non-simple headers makes a cross-site form post impossible.
PREFLIGHT_HEADERS = ("apollo-require-preflight", "x-apollo-operation-name")


GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"


def prefers_graphql_response_json(accept: str | None) -> bool:
    """Whether the client's Accept asks for `application/graphql-response+json` at least as
    much as for `application/json` (GraphQL over HTTP; no Accept means application/json)."""
    if not accept:
        return False
    wanted, json_q = 0.0, 0.0
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        media = media.lower()
        if media == GRAPHQL_RESPONSE_JSON:
            wanted = max(wanted, q)
        elif media in ("application/json", "application/*", "*/*"):
            json_q = max(json_q, q)
    return wanted > 0 and wanted >= json_q


def _is_request_error(result: ExecutionResult) -> bool:
    """No execution happened: the document did not parse or validate, the variables did not
    coerce, or a limit refused it. (Field errors have a path; these do not.)"""
    return (
        result.data is None
        and bool(result.errors)
        and all(e.path is None for e in result.errors or ())
    )


def error_response(status: int, code: str, message: str, **headers: str) -> JSONResponse:
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return JSONResponse(body, status_code=status, headers=headers or None)


async def _introspection_only(request: Request) -> bool:
    """A JSON request whose operations select only `__schema`, `__type` or `__typename`."""
    if not request.headers.get("content-type", "").startswith("application/json"):
        return False
    try:
        query = json.loads(await request.body()).get("query")
        document = parse(query, max_tokens=5000) if isinstance(query, str) else None
    except (ValueError, AttributeError, GraphQLError):
        return False
    if document is None:
        return False
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        for selection in definition.selection_set.selections:
            if not (isinstance(selection, FieldNode) and selection.name.value.startswith("__")):
                return False
    return True


class _RequestAdapter(StarletteRequestAdapter):
    """Strawberry's adapter, keeping the Starlette request for the streaming multipart parser."""

    def __init__(self, request: Request) -> None:
        super().__init__(request)
        self.request = request


def _compare_responses(query: str, lane: Response, normal: Response) -> None:
    def plain(response: Response) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        headers = sorted(response.headers.raw)
        return response.status_code, bytes(response.body), headers

    if plain(lane) != plain(normal):
        record_mismatch(
            f"lane != normal path for {query!r}:\n  lane:   {plain(lane)}\n"
            f"  normal: {plain(normal)}"
        )


class LiaisonGraphQL(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = TransportWSHandler
    request_adapter_class = _RequestAdapter

    def __init__(
        self, rt: Runtime, persisted: PersistedQueries | None = None, **kwargs: Any
    ) -> None:
        settings = rt.settings
        super().__init__(
            kwargs.pop("schema"),
            graphql_ide="graphiql" if settings.development else None,
            allow_queries_via_get=False,
            multipart_uploads_enabled=True,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            max_subscriptions_per_connection=settings.max_subscriptions_per_connection,
            allowed_origins=settings.allowed_origins,
            keep_alive=True,
            keep_alive_interval=settings.ws_keepalive_seconds,
            **kwargs,
        )
        self.rt = rt
        self.persisted = persisted or PersistedQueries(None, enforce=False)
        schema = self.schema
        self.lane = (
            KnownDocumentLane(self, schema)
            if settings.known_document_lane != "off" and isinstance(schema, LiaisonSchema)
            else None
        )

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:  # type: ignore[override]
        if scope["type"] != "http":  # returned, not awaited: no frame held for a websocket
            return super().__call__(scope, receive, send)
        return self._http(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        received: list[ReceivedFile] = []
        request.state.received_files = received
        try:
            try:
                response = await self._handle_http(request)
            except HTTPException as error:
                response = error_response(error.status_code, "BAD_REQUEST", error.reason)
            except PersistedQueryError as error:
                response = error_response(error.status, error.code, error.message, **error.headers)
            await response(scope, receive, send)
        finally:
            # The files of a multipart request that no resolver took (a send refused before
            # staging, a mutation without files): their staging files go. A claimed file is
            # the send path's, which commits or discards it.
            for file in received:
                file.release()
            await request.close()

    async def _handle_http(self, request: Request) -> Response:
        if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
            if self.graphql_ide:
                return await self.render_graphql_ide(request)
            return error_response(404, "NOT_FOUND", "GraphiQL is only served in development.")
        if request.method != "POST":
            return error_response(
                405, "METHOD_NOT_ALLOWED", "Send GraphQL operations with POST.", Allow="POST"
            )
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("multipart/") and not any(
            request.headers.get(h) for h in PREFLIGHT_HEADERS
        ):
            return error_response(
                400,
                "CSRF_PREFLIGHT_REQUIRED",
                "Multipart requests need an 'apollo-require-preflight' or "
                "'x-apollo-operation-name' header.",
            )
        try:
            principal = await load_principal(
                self.rt.settings.jwt_secret, request.headers.get("authorization")
            )
        except Unauthenticated as error:
            if not (self.rt.settings.development and await _introspection_only(request)):
                return error_response(
                    401, error.code, error.message, **{"WWW-Authenticate": "Bearer"}
                )
            principal = None  # GraphiQL loads the schema before a token is pasted in
        request.state.platform = isinstance(principal, Platform)
        request.state.viewer = None if isinstance(principal, Platform) else principal
        graphql_response = prefers_graphql_response_json(request.headers.get("accept"))
        request.state.graphql_response = graphql_response
        response = await self._answer(request, isinstance(principal, Viewer), content_type)
        if graphql_response and response.media_type == "application/json":
            # GraphQL over HTTP with application/graphql-response+json: a request error
            # (no `data`) is a 400; anything executed is a 200 (or what execution set).
            response.headers["content-type"] = f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8"
            if getattr(request.state, "request_error", False) and response.status_code == 200:
                response.status_code = 400
        return response

    async def _answer(self, request: Request, viewer: bool, content_type: str) -> Response:
        """The known-document lane's answer (gql.lane) when it has one, else the normal
        path's (Strawberry's view and pipeline)."""
        lane = self.lane
        if (
            lane is None
            or not viewer
            or parse_content_type(content_type)[0] != "application/json"
            or self._get_stream_transport_from_headers(request.headers) is not None
        ):
            return await self.run(request)
        raw = await request.body()
        found = lane.key(request, raw)
        if found is None:
            return await self.run(request)
        if self.rt.settings.known_document_lane != COMPARE:
            answer = await lane.answer(request, *found)
            return answer if answer is not None else await self.run(request)
        # Tests (tests/test_lane.py): the lane without side effects, then the normal path,
        # compared.
        answer = await lane.answer(request, *found, dry=True)
        response = await self.run(request)
        if answer is not None:
            _compare_responses(found[1], answer, response)
        return response

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        result = await super().execute_single(
            request, request_adapter, sub_response, context, root_value, request_data
        )
        if self.lane is not None and request_data.protocol == "http":
            # Executed: the document parsed and validated; a query becomes known.
            self.lane.register(
                request_data.query,
                request_data.operation_name,
                context.extras.get(EXECUTED_OPERATION),
            )
        return result

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        processed = await super().process_result(request, result)
        if getattr(request.state, "graphql_response", False) and _is_request_error(result):
            request.state.request_error = True
            processed.pop("data", None)
        return processed

    async def parse_multipart(self, request: AsyncHTTPRequestAdapter) -> dict[str, str]:
        """The multipart body parsed as it streams in, each file part written once into a
        staging file (gql.uploads) instead of Starlette's spool-then-copy."""
        assert isinstance(request, _RequestAdapter)
        form = await parse_multipart_form(
            request.request,
            self.rt.blobs,
            max_file_bytes=self.rt.settings.max_attachment_bytes,
            received=request.request.state.received_files,
        )
        if "operations" not in form.fields or "map" not in form.fields:
            raise HTTPException(400, "A multipart request needs 'operations' and 'map' fields.")
        operations = self.parse_json(form.fields["operations"])
        files_map = self.parse_json(form.fields["map"])
        try:
            # A mapped part without a filename is a plain field: the resolver refuses it as
            # "not a file upload" (ATTACHMENT_TYPE_NOT_ALLOWED), as with Starlette's form.
            parts = {**form.fields, **form.files}
            return replace_placeholders_with_files(operations, files_map, parts)
        except KeyError:
            raise HTTPException(400, "File(s) missing in form data") from None
        except (IndexError, TypeError, ValueError):
            message = "A 'map' path does not name a place in 'operations'."
            raise HTTPException(400, message) from None

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        """Strawberry's, with the query a persisted-query hash names (gql.persisted)."""
        data = await super().parse_http_body(request)
        for item in data if isinstance(data, list) else [data]:
            item.query = self.persisted.resolve(item.query, item.extensions)
        return data

    def encode_json(self, data: object) -> str:
        return dumps(data).decode()  # websocket frames are text

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        """Strawberry's, with the body encoded once, straight to bytes."""
        response = Response(dumps(response_data), media_type="application/json")
        response.headers.raw.extend(sub_response.headers.raw)
        if sub_response.background:
            response.background = sub_response.background
        if sub_response.status_code:
            response.status_code = sub_response.status_code
        return response

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket | None = None
    ) -> Context:
        viewer = getattr(request.state, "viewer", None)
        context = Context(
            request=request,
            response=response,
            rt=self.rt,
            viewer_or_none=viewer,
            platform=getattr(request.state, "platform", False),
        )
        if isinstance(request, WebSocket) and self.rt.settings.live_fast_path:
            context.fast_path = live.for_operation
        return context

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        await authenticate(context, self.rt.settings.jwt_secret)
        return UnsetType()
