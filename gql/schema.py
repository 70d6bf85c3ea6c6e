"""Schema assembly: root types, permissions, limits and caches."""

from __future__ import annotations

from collections.abc import Callable

import strawberry
from graphql import GraphQLError
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
)
from strawberry.schema.config import StrawberryConfig

from gql.cost import CostCache, QueryCostLimiter
from gql.execution import LeafFastPath
from gql.faults import DependencyFaults, outage_of
from gql.live import OperationExecutor
from gql.observability import OperationObserver
from gql.permissions import requires
from gql.settings import Settings
from gql.types.accounts import Viewer
from gql.types.analytics import MessagingStats
from gql.types.conversations import Conversation, ConversationConnection, PartnershipConnection
from gql.types.inputs import (
    AcceptMessagingTermsPayload,
    AssignRolePayload,
    CreateRolePayload,
    MarkConversationReadPayload,
    SendMessagePayload,
    SetConversationArchivedPayload,
)
from gql.validation import QueryTextValidationCache, ValidationResults, limiter_rules
from models import Permission
from resolvers import analytics, mutations, queries
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
    messaging_stats: MessagingStats = strawberry.field(
        resolver=analytics.messaging_stats,
        extensions=requires(Permission.ANALYTICS_VIEW),
        description="Figures of the viewer's own account, bucketed; see services.analytics.",
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
        resolver=mutations.set_conversation_archived, extensions=requires(Permission.MESSAGING)
    )
    accept_messaging_terms: AcceptMessagingTermsPayload = strawberry.mutation(
        resolver=mutations.accept_messaging_terms
    )
    create_role: CreateRolePayload = strawberry.mutation(
        resolver=mutations.create_role, extensions=requires(Permission.USERS_MANAGE)
    )
    assign_role: AssignRolePayload = strawberry.mutation(
        resolver=mutations.assign_role, extensions=requires(Permission.USERS_MANAGE)
    )


def _should_mask(error: GraphQLError) -> bool:
    """Mask unexpected exceptions; keep our coded errors and GraphQL's own validation errors."""
    original = error.original_error
    if original is None:
        return False
    if isinstance(original, GraphQLError) or outage_of(error) is not None:
        return False
    return not (error.extensions and "code" in error.extensions)


def build_schema(settings: Settings) -> strawberry.Schema:
    # Factories, so each operation gets fresh extension state. The parse cache behind
    # ParserCache is shared per maxsize; validation results are cached per schema, with the
    # limit rules built once so that the cache can hit (see gql.validation).
    rules = limiter_rules(settings.max_query_depth, settings.max_aliases)
    if not settings.development:
        rules.append(NoSchemaIntrospectionCustomRule)
    validated = ValidationResults(maxsize=1000)
    costs = CostCache(maxsize=1000)
    extensions: list[Callable[[], SchemaExtension]] = [
        OperationObserver,
        lambda: MaskErrors(should_mask_error=_should_mask, error_message="Internal server error."),
        DependencyFaults,  # after MaskErrors: its exit runs first and types outages
        lambda: ParserCache(maxsize=1000),
        lambda: AddValidationRules(rules),
        lambda: QueryTextValidationCache(validated),
        lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
        lambda: QueryCostLimiter(max_cost=settings.max_query_cost, cache=costs),
    ]
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        config=StrawberryConfig(auto_camel_case=True),
        execution_context_class=OperationExecutor if settings.live_fast_path else LeafFastPath,
    )


def print_schema_sdl() -> str:
    from strawberry.printer import print_schema

    return print_schema(build_schema(Settings(database_url="sqlite://:memory:"))) + "\n"
