export type ScanStatus = "PENDING" | "CLEAN" | "INFECTED" | "FAILED";
export type Folder = "INBOX" | "DONE" | "SPAM";
export const STATUSES = ["PROSPECT", "PENDING", "ACTIVE", "EXPIRED", "DECLINED", "DEACTIVATED"];

export interface Attachment {
  id: string;
  filename: string;
  contentType: string;
  size: number;
  scanStatus: ScanStatus;
  downloadUrl: string | null;
}
export interface Named {
  id: string;
  name: string;
}
export interface Message {
  id: string;
  seq: number;
  body: string;
  sentAt: string;
  clientMessageId: string | null;
  sender: Named;
  senderAccount: Named;
  attachments: Attachment[];
}
export interface ConversationSummary {
  id: string;
  unreadCount: number;
  folder: Folder;
  priority: boolean;
  assignee: Named | null;
  lastMessageAt: string | null;
  counterpart: Named;
  partnership: { status: string };
  lastMessage: {
    body: string;
    sentAt: string;
    senderAccount: { id: string };
    attachments: { id: string }[];
  } | null;
}
export interface Viewer {
  permissions: string[];
  user: { id: string; name: string; email: string | null };
  account: { id: string; name: string; kind: "BRAND" | "PARTNER"; messagingTermsAccepted: boolean };
}
export interface Counts {
  inbox: number;
  unread: number;
  priority: number;
  done: number;
  spam: number;
}
export type LiveEvent =
  | { __typename: "MessageCreated"; cursor: string; message: Message;
      conversation: { id: string; unreadCount: number } }
  | { __typename: "AttachmentScanned"; cursor: string; attachment: Attachment;
      message: { id: string; conversation: { id: string } } }
  | { __typename: "ConversationRead"; cursor: string; conversation: { id: string; unreadCount: number };
      readerAccount: { id: string }; lastReadSeq: number }
  | { __typename: "BulkSendProgress"; cursor: string }
  | { __typename: "ConversationUpdated"; cursor: string;
      conversation: { id: string; unreadCount: number; folder: Folder; priority: boolean;
        assignee?: Named | null } };
