"""Schema assembly: root types, permissions, limits and caches."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import strawberry
from graphql import GraphQLError
from graphql.validation import ASTValidationRule, NoSchemaIntrospectionCustomRule, specified_rules
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from gql.content_guard import guard_content
from gql.error_log import log_operation_errors
from gql.execution import LiaisonExecutor, compile_document
from gql.faults import DependencyFaults, outage_of
from gql.live import OperationExecutor
from gql.observability import OperationObserver
from gql.permissions import requires
from gql.persisted import PersistedQueries, check_documents, load_manifest
from gql.platform import PlatformScope, platform_only
from gql.query_limits import Limits, OperationLimits, ValidationCaches
from gql.settings import Settings
from gql.types.accounts import Viewer
from gql.types.administration import (
    DeleteRolePayload,
    RoleConnection,
    UpdateMessagingSettingsPayload,
    UpdateRolePayload,
    UserConnection,
)
from gql.types.analytics import MessagingStats
from gql.types.bulk import (
    BulkSend,
    BulkSendConnection,
    CancelBulkSendPayload,
    CreateMessageTemplatePayload,
    DeleteMessageTemplatePayload,
    MessageTemplateConnection,
    SendBulkMessagePayload,
    UpdateMessageTemplatePayload,
)
from gql.types.conversations import Conversation, ConversationConnection, PartnershipConnection
from gql.types.inputs import (
    AcceptMessagingTermsPayload,
    AssignConversationPayload,
    AssignRolePayload,
    CreateRolePayload,
    MarkConversationReadPayload,
    MarkConversationUnreadPayload,
    MoveConversationPayload,
    SendMessagePayload,
    SetConversationArchivedPayload,
    SetConversationPriorityPayload,
    UpdateNotificationSettingsPayload,
)
from gql.types.platform import (
    UpsertAccountsPayload,
    UpsertPartnershipsPayload,
    UpsertUsersPayload,
)
from gql.types.search import MessageSearchConnection
from models import Permission
from resolvers import administration, analytics, bulk, mutations, platform, queries
from subscriptions import Subscription


@strawberry.type
class Query:
    viewer: Viewer = strawberry.field(resolver=queries.viewer)
    partners: PartnershipConnection = strawberry.field(
        resolver=queries.partners,
        extensions=requires(Permission.PARTNERS_VIEW),
        description="The viewer's brand's partnerships, by partner name. Brand users only.",
    )
    inbox: ConversationConnection = strawberry.field(
        resolver=queries.inbox, extensions=requires(Permission.MESSAGING)
    )
    conversation: Conversation | None = strawberry.field(
        resolver=queries.conversation, extensions=requires(Permission.MESSAGING)
    )
    search_messages: MessageSearchConnection = strawberry.field(
        resolver=queries.search_messages,
        extensions=requires(Permission.MESSAGING),
        description=(
            "Messages of the viewer's conversations whose body or attachment filenames hold "
            "every word of `query` (the last also as a prefix), newest first."
        ),
    )
    messaging_stats: MessagingStats = strawberry.field(
        resolver=analytics.messaging_stats,
        extensions=requires(Permission.ANALYTICS_VIEW),
        description="Figures of the viewer's own account, bucketed; see services.analytics.",
    )
    users: UserConnection = strawberry.field(
        resolver=administration.users,
        extensions=requires(Permission.USERS_MANAGE),
        description="Users of the viewer's account (active or not), by e-mail address.",
    )
    roles: RoleConnection = strawberry.field(
        resolver=administration.roles,
        extensions=requires(Permission.USERS_MANAGE),
        description="Roles of the viewer's account, built-in and custom, by name.",
    )
    message_templates: MessageTemplateConnection = strawberry.field(
        resolver=bulk.message_templates,
        extensions=requires(Permission.MESSAGING),
        description="The brand's message templates, most recently updated first.",
    )
    preview_message_template: str = strawberry.field(
        resolver=bulk.preview_message_template,
        extensions=requires(Permission.MESSAGING),
        description="A template body rendered for one partner of the viewer's brand.",
    )
    bulk_send: BulkSend | None = strawberry.field(
        resolver=bulk.bulk_send, extensions=requires(Permission.BULK_MESSAGING)
    )
    bulk_sends: BulkSendConnection = strawberry.field(
        resolver=bulk.bulk_sends,
        extensions=requires(Permission.BULK_MESSAGING),
        description="The brand's bulk sends, newest first.",
    )


@strawberry.type
class Mutation:
    send_message: SendMessagePayload = strawberry.mutation(
        resolver=mutations.send_message, extensions=requires(Permission.MESSAGING)
    )
    mark_conversation_read: MarkConversationReadPayload = strawberry.mutation(
        resolver=mutations.mark_conversation_read, extensions=requires(Permission.MESSAGING)
    )
    set_conversation_archived: SetConversationArchivedPayload = strawberry.mutation(
        resolver=mutations.set_conversation_archived,
        extensions=requires(Permission.MESSAGING),
        deprecation_reason="Use moveConversation: archived is the DONE folder.",
    )
    move_conversation: MoveConversationPayload = strawberry.mutation(
        resolver=mutations.move_conversation, extensions=requires(Permission.MESSAGING)
    )
    set_conversation_priority: SetConversationPriorityPayload = strawberry.mutation(
        resolver=mutations.set_conversation_priority, extensions=requires(Permission.MESSAGING)
    )
    mark_conversation_unread: MarkConversationUnreadPayload = strawberry.mutation(
        resolver=mutations.mark_conversation_unread, extensions=requires(Permission.MESSAGING)
    )
    assign_conversation: AssignConversationPayload = strawberry.mutation(
        resolver=mutations.assign_conversation, extensions=requires(Permission.MESSAGING)
    )
    accept_messaging_terms: AcceptMessagingTermsPayload = strawberry.mutation(
        resolver=mutations.accept_messaging_terms
    )
    create_message_template: CreateMessageTemplatePayload = strawberry.mutation(
        resolver=bulk.create_message_template, extensions=requires(Permission.MESSAGING)
    )
    update_message_template: UpdateMessageTemplatePayload = strawberry.mutation(
        resolver=bulk.update_message_template, extensions=requires(Permission.MESSAGING)
    )
    delete_message_template: DeleteMessageTemplatePayload = strawberry.mutation(
        resolver=bulk.delete_message_template, extensions=requires(Permission.MESSAGING)
    )
    send_bulk_message: SendBulkMessagePayload = strawberry.mutation(
        resolver=bulk.send_bulk_message, extensions=requires(Permission.BULK_MESSAGING)
    )
    cancel_bulk_send: CancelBulkSendPayload = strawberry.mutation(
        resolver=bulk.cancel_bulk_send, extensions=requires(Permission.BULK_MESSAGING)
    )
    create_role: CreateRolePayload = strawberry.mutation(
        resolver=mutations.create_role, extensions=requires(Permission.USERS_MANAGE)
    )
    assign_role: AssignRolePayload = strawberry.mutation(
        resolver=mutations.assign_role, extensions=requires(Permission.USERS_MANAGE)
    )
    update_role: UpdateRolePayload = strawberry.mutation(
        resolver=administration.update_role, extensions=requires(Permission.USERS_MANAGE)
    )
    delete_role: DeleteRolePayload = strawberry.mutation(
        resolver=administration.delete_role,
        extensions=requires(Permission.USERS_MANAGE),
        description="A role some user holds is ROLE_IN_USE; built-in roles stay.",
    )
    update_messaging_settings: UpdateMessagingSettingsPayload = strawberry.mutation(
        resolver=administration.update_messaging_settings,
        extensions=requires(Permission.SETTINGS_MANAGE),
    )
    upsert_accounts: UpsertAccountsPayload = strawberry.mutation(
        resolver=platform.upsert_accounts,
        extensions=platform_only(),
        description="Platform tokens only: at most 500 accounts, keyed by externalId.",
    )
    upsert_users: UpsertUsersPayload = strawberry.mutation(
        resolver=platform.upsert_users,
        extensions=platform_only(),
        description="Platform tokens only: at most 500 users, keyed by externalId.",
    )
    upsert_partnerships: UpsertPartnershipsPayload = strawberry.mutation(
        resolver=platform.upsert_partnerships,
        extensions=platform_only(),
        description="Platform tokens only: at most 500 partnerships, keyed by the brand and "
        "partner externalIds.",
    )
    update_notification_settings: UpdateNotificationSettingsPayload = strawberry.mutation(
        resolver=mutations.update_notification_settings,
        description="How the viewer hears of unread messages by e-mail.",
    )


class DocumentCache(ParserCache):
    """Strawberry's parse cache, except that a document that does not parse is left to
    Strawberry's own parse step, which answers it as a client error. (ParserCache raises
    from its hook, outside that step: over the websocket the syntax error escaped as an
    unexpected exception and was logged at `error` with the document quoted.)"""

    def on_parse(self) -> Iterator[None]:
        ctx = self.execution_context
        with contextlib.suppress(GraphQLError):
            ctx.graphql_document = self.cached_parse_document(ctx.query, **ctx.parse_options)
        yield


@dataclass(frozen=True, slots=True)
class PipelineParts:
    """The parts of this schema's extensions that the known-document lane (gql.lane) runs
    itself, made once by `build_schema` beside the extensions that use them."""

    limits: Limits
    caches: ValidationCaches
    mask: MaskErrors
    max_tokens: int
    hide_suggestions: bool
    parse_cache_size: int


class LiaisonSchema(strawberry.Schema):
    pipeline: PipelineParts | None = None

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        log_operation_errors(errors, execution_context)


def _should_mask(error: GraphQLError) -> bool:
    """Mask unexpected exceptions; keep our coded errors and GraphQL's own validation errors."""
    original = error.original_error
    if original is None:
        return False
    if isinstance(original, GraphQLError) or outage_of(error) is not None:
        return False
    return not (error.extensions and "code" in error.extensions)


MASKED_MESSAGE = "Internal server error."
PARSE_CACHE_SIZE = 1000


def build_schema(settings: Settings) -> LiaisonSchema:
    # Factories, so each operation gets fresh extension state. The parse cache behind
    # ParserCache is shared per maxsize; validation results are cached per schema (see
    # gql.query_limits: the limits in one linear pass, then graphql-core's rules).
    rules: list[type[ASTValidationRule]] = (
        [] if settings.development else [NoSchemaIntrospectionCustomRule]
    )
    limits = Limits(
        max_depth=settings.max_query_depth,
        max_aliases=settings.max_aliases,
        max_cost=settings.max_query_cost,
    )
    caches = ValidationCaches(maxsize=1000)
    # gql.lane runs what these do for a known document (PipelineParts below): a change
    # here must be made there too (tests/test_lane.py compares the two paths).
    extensions: list[Callable[[], SchemaExtension]] = [
        OperationObserver,
        lambda: MaskErrors(should_mask_error=_should_mask, error_message=MASKED_MESSAGE),
        DependencyFaults,  # after MaskErrors: its exit runs first and types outages
        PlatformScope,
        lambda: DocumentCache(maxsize=PARSE_CACHE_SIZE),
        lambda: AddValidationRules(rules),
        lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
        lambda: OperationLimits(limits, caches, suggestions=settings.development),
    ]
    schema = LiaisonSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        config=StrawberryConfig(
            auto_camel_case=True, disable_field_suggestions=not settings.development
        ),
        execution_context_class=OperationExecutor if settings.live_fast_path else LiaisonExecutor,
    )
    guard_content(schema._schema)
    schema.pipeline = PipelineParts(
        limits=limits,
        caches=caches,
        mask=MaskErrors(should_mask_error=_should_mask, error_message=MASKED_MESSAGE),
        max_tokens=settings.max_tokens,
        hide_suggestions=not settings.development,
        parse_cache_size=PARSE_CACHE_SIZE,
    )
    return schema


def print_schema_sdl() -> str:
    from strawberry.printer import print_schema

    return print_schema(build_schema(Settings(database_url="sqlite://:memory:"))) + "\n"


def persisted_queries(settings: Settings, schema: strawberry.Schema) -> PersistedQueries:
    """The manifest of LIAISON_PERSISTED_QUERIES, checked against the schema and compiled.
    (Limits of depth and cost depend on a request's variables: they apply per request.)"""
    if settings.persisted_queries is None:
        return PersistedQueries(None, enforce=False)
    documents = load_manifest(settings.persisted_queries)
    check_documents(schema._schema, documents, list(specified_rules))
    for body in documents.values():
        compile_document(schema._schema, body)
    return PersistedQueries(documents, enforce=settings.env == "production")
