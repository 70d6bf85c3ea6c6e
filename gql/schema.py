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
from gql.faults import DependencyFaults, outage_of
from gql.observability import OperationObserver
from gql.permissions import requires
from gql.platform import PlatformScope, platform_only
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
from gql.types.conversations import Conversation, ConversationConnection, PartnershipConnection
from gql.types.inputs import (
    AcceptMessagingTermsPayload,
    AssignRolePayload,
    CreateRolePayload,
    MarkConversationReadPayload,
    SendMessagePayload,
    SetConversationArchivedPayload,
)
from gql.types.platform import (
    UpsertAccountsPayload,
    UpsertPartnershipsPayload,
    UpsertUsersPayload,
)
from gql.validation import QueryTextValidationCache, ValidationResults, limiter_rules
from gql.ws import OperationExecutor
from models import Permission
from resolvers import administration, analytics, mutations, platform, queries
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
        PlatformScope,
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
        execution_context_class=OperationExecutor,
    )


def print_schema_sdl() -> str:
    from strawberry.printer import print_schema

    return print_schema(build_schema(Settings(database_url="sqlite://:memory:"))) + "\n"
