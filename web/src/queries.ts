// Every GraphQL document the app sends. Names and shapes follow the public schema.

const ATT = `fragment Att on Attachment { id filename contentType size scanStatus downloadUrl }`;
const MSG = `fragment Msg on Message { id seq body sentAt clientMessageId
  sender { id name } senderAccount { id name } attachments { ...Att } }`;
const CONV = `fragment Conv on Conversation { id unreadCount folder priority lastMessageAt
  assignee { id name } counterpart { id name } partnership { status }
  lastMessage { body sentAt senderAccount { id } attachments { id } } }`;

export const VIEWER = `query Viewer { viewer { permissions
  user { id name email } account { id name kind messagingTermsAccepted } } }`;

export const COUNTS = `query Counts { viewer { inboxCounts { inbox unread priority done spam } } }`;

export const INBOX = `query Inbox($filter: InboxFilter, $after: String) {
  inbox(filter: $filter, first: 30, after: $after) {
    edges { node { ...Conv } } pageInfo { hasNextPage endCursor } } }
${CONV}`;

export const SEARCH = `query Search($query: String!) {
  searchMessages(query: $query, first: 20) { edges { snippet highlights { start length }
    node { id seq sentAt senderAccount { id name } }
    conversation { id counterpart { id name } } } } }`;

export const CONVERSATION = `query Conversation($id: ID!, $before: String) {
  conversation(id: $id) { id unreadCount lastReadSeq folder priority assignee { id name }
    counterpart { id name } partnership { status }
    messages(last: 30, before: $before) {
      edges { node { ...Msg } } pageInfo { hasPreviousPage startCursor } } } }
${MSG}
${ATT}`;

export const SEND = `mutation Send($input: SendMessageInput!) {
  sendMessage(input: $input) { message { ...Msg } conversation { id }
    errors { code message retryAfterSeconds } } }
${MSG}
${ATT}`;

export const MARK_READ = `mutation MarkRead($input: MarkConversationReadInput!) {
  markConversationRead(input: $input) { conversation { id unreadCount lastReadSeq }
    errors { code message } } }`;

export const MARK_UNREAD = `mutation MarkUnread($input: MarkConversationUnreadInput!) {
  markConversationUnread(input: $input) { conversation { id unreadCount lastReadSeq }
    errors { code message } } }`;

export const MOVE = `mutation Move($input: MoveConversationInput!) {
  moveConversation(input: $input) { conversation { id folder } errors { code message } } }`;

export const PRIORITY = `mutation Priority($input: SetConversationPriorityInput!) {
  setConversationPriority(input: $input) { conversation { id priority } errors { code message } } }`;

export const ASSIGN = `mutation Assign($input: AssignConversationInput!) {
  assignConversation(input: $input) { conversation { id assignee { id name } } errors { code message } } }`;

export const ACCEPT_TERMS = `mutation AcceptTerms { acceptMessagingTerms {
  account { id messagingTermsAccepted } errors { code message } } }`;

export const PARTNERS = `query Partners($filter: PartnerFilter, $after: String) {
  partners(filter: $filter, first: 50, after: $after) {
    edges { node { id status partner { id name } conversation { id } } }
    pageInfo { hasNextPage endCursor } } }`;

export const NOTIFICATIONS = `query Notifications { viewer { notificationFrequency } }`;

export const UPDATE_NOTIFICATIONS = `mutation UpdateNotifications($input: UpdateNotificationSettingsInput!) {
  updateNotificationSettings(input: $input) { notificationFrequency errors { code message } } }`;

export const LIVE = `subscription Live($after: String) { inboxEvents(after: $after) { __typename
  ... on MessageCreated { cursor message { ...Msg } conversation { id unreadCount } }
  ... on AttachmentScanned { cursor attachment { ...Att } message { id conversation { id } } }
  ... on ConversationRead { cursor conversation { id unreadCount } readerAccount { id } lastReadSeq }
  ... on ConversationUpdated { cursor conversation { id unreadCount folder priority assignee { id name } } }
  ... on BulkSendProgress { cursor } } }
${MSG}
${ATT}`;
