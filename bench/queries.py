"""The operations the bench sends, as module-level constants."""

INBOX = """query Inbox($first: Int) { inbox(first: $first) { totalCount edges { node {
  id counterpart { name } partnership { status } lastMessage { body sentAt } unreadCount
} } } }"""

PARTNERS = """query Partners($statuses: [PartnershipStatus!], $search: String) {
  partners(filter: {statuses: $statuses, search: $search}) { totalCount edges { node {
    id status partner { name } } } } }"""

MESSAGES = """query Messages($id: ID!, $after: String) { conversation(id: $id) {
  messages(first: 50, after: $after) { totalCount pageInfo { hasNextPage endCursor }
    edges { node { id seq body sentAt } } } } }"""

SEND = """mutation Send($input: SendMessageInput!) { sendMessage(input: $input) {
  message { id seq } errors { code message } } }"""
