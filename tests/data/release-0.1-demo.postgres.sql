--
-- PostgreSQL database dump
--

\restrict ubV61Ud54uTgJHu46dKAsFhdsc0ybgBflF3SIz6ZWy6kJQhC6KblWNHmCxfUABb

-- Dumped from database version 15.20 (Debian 15.20-0+deb12u1)
-- Dumped by pg_dump version 15.20 (Debian 15.20-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: accounts; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.accounts (
    id uuid NOT NULL,
    name character varying(200) NOT NULL,
    name_folded character varying(200) NOT NULL,
    kind character varying(16) NOT NULL,
    terms_version_accepted integer,
    terms_accepted_at timestamp with time zone,
    event_seq bigint NOT NULL,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: COLUMN accounts.kind; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.accounts.kind IS 'BRAND: BRAND\nPARTNER: PARTNER';


--
-- Name: attachments; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.attachments (
    id uuid NOT NULL,
    "position" integer NOT NULL,
    filename character varying(255) NOT NULL,
    content_type character varying(100) NOT NULL,
    size bigint NOT NULL,
    sha256 character varying(64) NOT NULL,
    storage_key character varying(200) NOT NULL,
    scan_status character varying(16) NOT NULL,
    scan_attempts integer NOT NULL,
    scan_detail character varying(500),
    scanned_at timestamp with time zone,
    created_at timestamp with time zone NOT NULL,
    message_id uuid NOT NULL
);


--
-- Name: COLUMN attachments.scan_status; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.attachments.scan_status IS 'PENDING: PENDING\nCLEAN: CLEAN\nINFECTED: INFECTED\nFAILED: FAILED';


--
-- Name: conversations; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.conversations (
    id uuid NOT NULL,
    started_by character varying(16) NOT NULL,
    last_seq integer NOT NULL,
    last_message_id uuid,
    last_message_at timestamp with time zone,
    created_at timestamp with time zone NOT NULL,
    brand_id uuid NOT NULL,
    partner_id uuid NOT NULL,
    partnership_id uuid NOT NULL
);


--
-- Name: COLUMN conversations.started_by; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.conversations.started_by IS 'BRAND: BRAND\nPARTNER: PARTNER';


--
-- Name: events; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.events (
    id bigint NOT NULL,
    seq bigint NOT NULL,
    kind character varying(32) NOT NULL,
    message_id uuid,
    attachment_id uuid,
    reader_account_id uuid,
    last_read_seq integer,
    created_at timestamp with time zone NOT NULL,
    account_id uuid NOT NULL,
    conversation_id uuid NOT NULL
);


--
-- Name: TABLE events; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE public.events IS 'The durable record of a live event, one row per audience account.';


--
-- Name: COLUMN events.kind; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.events.kind IS 'MESSAGE_CREATED: MESSAGE_CREATED\nATTACHMENT_SCANNED: ATTACHMENT_SCANNED\nCONVERSATION_READ: CONVERSATION_READ';


--
-- Name: events_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.events_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: events_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.events_id_seq OWNED BY public.events.id;


--
-- Name: messages; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.messages (
    id uuid NOT NULL,
    seq integer NOT NULL,
    body text NOT NULL,
    client_message_id character varying(255),
    request_digest character varying(64) NOT NULL,
    sent_at timestamp with time zone NOT NULL,
    conversation_id uuid NOT NULL,
    sender_account_id uuid NOT NULL,
    sender_user_id uuid NOT NULL
);


--
-- Name: participants; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.participants (
    id bigint NOT NULL,
    last_seq integer NOT NULL,
    last_read_seq integer NOT NULL,
    archived boolean NOT NULL,
    last_activity_at timestamp with time zone NOT NULL,
    account_id uuid NOT NULL,
    conversation_id uuid NOT NULL,
    counterpart_id uuid NOT NULL
);


--
-- Name: TABLE participants; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE public.participants IS 'One side''s view of a conversation: read position, archived flag, inbox order.';


--
-- Name: participants_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.participants_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: participants_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.participants_id_seq OWNED BY public.participants.id;


--
-- Name: partnerships; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.partnerships (
    id uuid NOT NULL,
    status character varying(16) NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    brand_id uuid NOT NULL,
    partner_id uuid NOT NULL
);


--
-- Name: COLUMN partnerships.status; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.partnerships.status IS 'PROSPECT: PROSPECT\nPENDING: PENDING\nACTIVE: ACTIVE\nEXPIRED: EXPIRED\nDECLINED: DECLINED\nDEACTIVATED: DEACTIVATED';


--
-- Name: roles; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.roles (
    id uuid NOT NULL,
    name character varying(100) NOT NULL,
    built_in boolean NOT NULL,
    permissions character varying(500) NOT NULL,
    created_at timestamp with time zone NOT NULL,
    account_id uuid NOT NULL
);


--
-- Name: tortoise_migrations; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.tortoise_migrations (
    id integer NOT NULL,
    app character varying(255) NOT NULL,
    name character varying(255) NOT NULL,
    applied_at timestamp with time zone NOT NULL
);


--
-- Name: tortoise_migrations_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.tortoise_migrations_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: tortoise_migrations_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.tortoise_migrations_id_seq OWNED BY public.tortoise_migrations.id;


--
-- Name: users; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.users (
    id uuid NOT NULL,
    email character varying(254) NOT NULL,
    name character varying(200) NOT NULL,
    created_at timestamp with time zone NOT NULL,
    account_id uuid NOT NULL,
    role_id uuid NOT NULL
);


--
-- Name: events id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.events ALTER COLUMN id SET DEFAULT nextval('public.events_id_seq'::regclass);


--
-- Name: participants id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.participants ALTER COLUMN id SET DEFAULT nextval('public.participants_id_seq'::regclass);


--
-- Name: tortoise_migrations id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.tortoise_migrations ALTER COLUMN id SET DEFAULT nextval('public.tortoise_migrations_id_seq'::regclass);


--
-- Data for Name: accounts; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.accounts (id, name, name_folded, kind, terms_version_accepted, terms_accepted_at, event_seq, created_at) FROM stdin;
9ed90b7b-6963-4ae5-b993-1ca6f431de42	Borealis Cosmetics	borealis cosmetics	BRAND	1	\N	0	2026-12-02 14:08:41.673148+00
51a0d353-28b3-4e83-b891-ee425293d306	Old Deals	old deals	PARTNER	1	\N	0	2026-12-02 14:08:42.776458+00
6141bd74-3b5d-4058-85cc-da6a06f7b1e3	No Thanks Media	no thanks media	PARTNER	1	\N	0	2026-12-02 14:08:42.865192+00
197f8a48-69fb-49c3-abdc-4af31710c776	Former Friend	former friend	PARTNER	1	\N	0	2026-12-02 14:08:43.041617+00
38efbad3-784a-4f1c-a6b2-8a7417d18ad7	Trail Blog	trail blog	PARTNER	1	\N	3	2026-12-02 14:08:42.159735+00
164cd05f-5472-4a09-baac-6851c2615f21	Peak Reviews	peak reviews	PARTNER	1	\N	2	2026-12-02 14:08:42.542694+00
0fb7a39c-dd92-4bcd-bbf1-cea4cfd4c8b6	Camp Creator	camp creator	PARTNER	1	\N	1	2026-12-02 14:08:42.65115+00
4246611a-7b57-4bcc-8985-ee17eff588d3	Acme Outdoor	acme outdoor	BRAND	1	\N	6	2026-12-02 14:08:41.447302+00
\.


--
-- Data for Name: attachments; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.attachments (id, "position", filename, content_type, size, sha256, storage_key, scan_status, scan_attempts, scan_detail, scanned_at, created_at, message_id) FROM stdin;
\.


--
-- Data for Name: conversations; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.conversations (id, started_by, last_seq, last_message_id, last_message_at, created_at, brand_id, partner_id, partnership_id) FROM stdin;
cf8a04dc-64ee-48ef-ae33-6b5fb9d76485	BRAND	3	5ab2a068-2f35-41a3-b7ef-879dbc036472	2026-12-02 14:08:43.529385+00	2026-12-02 14:08:43.307781+00	4246611a-7b57-4bcc-8985-ee17eff588d3	38efbad3-784a-4f1c-a6b2-8a7417d18ad7	757c934f-50ea-44b1-8ab9-af37538d51e7
ecc3b538-172f-47a0-ac51-e6f682704b21	BRAND	2	8b107f00-94cc-4839-a2ad-a8acfce0902a	2026-12-02 14:08:43.901602+00	2026-12-02 14:08:43.651709+00	4246611a-7b57-4bcc-8985-ee17eff588d3	164cd05f-5472-4a09-baac-6851c2615f21	0f04fcdf-84e8-4d75-a65b-ca637d7b49b7
e9234b74-b870-4b13-9b08-6ac3f0f908a4	BRAND	1	1f3019c9-207f-480f-8565-90a2569ef5a0	2026-12-02 14:08:44.071379+00	2026-12-02 14:08:44.071538+00	4246611a-7b57-4bcc-8985-ee17eff588d3	0fb7a39c-dd92-4bcd-bbf1-cea4cfd4c8b6	52c6c081-c7ae-4a81-8d5b-54d2cbbf8b61
\.


--
-- Data for Name: events; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.events (id, seq, kind, message_id, attachment_id, reader_account_id, last_read_seq, created_at, account_id, conversation_id) FROM stdin;
1	1	MESSAGE_CREATED	3dc13a10-bd10-47c8-90eb-efb13cd62b24	\N	\N	\N	2026-12-02 14:08:43.35183+00	38efbad3-784a-4f1c-a6b2-8a7417d18ad7	cf8a04dc-64ee-48ef-ae33-6b5fb9d76485
2	1	MESSAGE_CREATED	3dc13a10-bd10-47c8-90eb-efb13cd62b24	\N	\N	\N	2026-12-02 14:08:43.371401+00	4246611a-7b57-4bcc-8985-ee17eff588d3	cf8a04dc-64ee-48ef-ae33-6b5fb9d76485
3	2	MESSAGE_CREATED	93593988-974c-47f1-97c9-d699f34bd457	\N	\N	\N	2026-12-02 14:08:43.450163+00	38efbad3-784a-4f1c-a6b2-8a7417d18ad7	cf8a04dc-64ee-48ef-ae33-6b5fb9d76485
4	2	MESSAGE_CREATED	93593988-974c-47f1-97c9-d699f34bd457	\N	\N	\N	2026-12-02 14:08:43.452681+00	4246611a-7b57-4bcc-8985-ee17eff588d3	cf8a04dc-64ee-48ef-ae33-6b5fb9d76485
5	3	MESSAGE_CREATED	5ab2a068-2f35-41a3-b7ef-879dbc036472	\N	\N	\N	2026-12-02 14:08:43.564803+00	38efbad3-784a-4f1c-a6b2-8a7417d18ad7	cf8a04dc-64ee-48ef-ae33-6b5fb9d76485
6	3	MESSAGE_CREATED	5ab2a068-2f35-41a3-b7ef-879dbc036472	\N	\N	\N	2026-12-02 14:08:43.565347+00	4246611a-7b57-4bcc-8985-ee17eff588d3	cf8a04dc-64ee-48ef-ae33-6b5fb9d76485
7	1	MESSAGE_CREATED	5ce98a2b-e913-41f0-8883-8980328d323c	\N	\N	\N	2026-12-02 14:08:43.719102+00	164cd05f-5472-4a09-baac-6851c2615f21	ecc3b538-172f-47a0-ac51-e6f682704b21
8	4	MESSAGE_CREATED	5ce98a2b-e913-41f0-8883-8980328d323c	\N	\N	\N	2026-12-02 14:08:43.726008+00	4246611a-7b57-4bcc-8985-ee17eff588d3	ecc3b538-172f-47a0-ac51-e6f682704b21
9	2	MESSAGE_CREATED	8b107f00-94cc-4839-a2ad-a8acfce0902a	\N	\N	\N	2026-12-02 14:08:43.939142+00	164cd05f-5472-4a09-baac-6851c2615f21	ecc3b538-172f-47a0-ac51-e6f682704b21
10	5	MESSAGE_CREATED	8b107f00-94cc-4839-a2ad-a8acfce0902a	\N	\N	\N	2026-12-02 14:08:43.948037+00	4246611a-7b57-4bcc-8985-ee17eff588d3	ecc3b538-172f-47a0-ac51-e6f682704b21
11	1	MESSAGE_CREATED	1f3019c9-207f-480f-8565-90a2569ef5a0	\N	\N	\N	2026-12-02 14:08:44.086191+00	0fb7a39c-dd92-4bcd-bbf1-cea4cfd4c8b6	e9234b74-b870-4b13-9b08-6ac3f0f908a4
12	6	MESSAGE_CREATED	1f3019c9-207f-480f-8565-90a2569ef5a0	\N	\N	\N	2026-12-02 14:08:44.087538+00	4246611a-7b57-4bcc-8985-ee17eff588d3	e9234b74-b870-4b13-9b08-6ac3f0f908a4
\.


--
-- Data for Name: messages; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.messages (id, seq, body, client_message_id, request_digest, sent_at, conversation_id, sender_account_id, sender_user_id) FROM stdin;
3dc13a10-bd10-47c8-90eb-efb13cd62b24	1	Hi! Loved your autumn gear roundup. Want to review our new tent?	demo-0	828cc18001b27db122e528c8e765279d2425dff3f4ab624b2b3075fbb52d8b91	2026-12-02 14:08:43.307575+00	cf8a04dc-64ee-48ef-ae33-6b5fb9d76485	4246611a-7b57-4bcc-8985-ee17eff588d3	ce506363-dae5-4413-9211-68f8a05c0b3b
93593988-974c-47f1-97c9-d699f34bd457	2	Absolutely, send the details over.	demo-1	f4fb331f335403010512d28d05d087b923ff13d90775d592651597467b7f9e11	2026-12-02 14:08:43.426679+00	cf8a04dc-64ee-48ef-ae33-6b5fb9d76485	38efbad3-784a-4f1c-a6b2-8a7417d18ad7	77765a85-76cc-4a14-96a3-1f5b9abc4d2e
5ab2a068-2f35-41a3-b7ef-879dbc036472	3	Great, the media kit is on its way.	demo-2	2f2e07d75f8dea965150d8f190a0d4635be785504fb1905c1f0b07182d7b829e	2026-12-02 14:08:43.529385+00	cf8a04dc-64ee-48ef-ae33-6b5fb9d76485	4246611a-7b57-4bcc-8985-ee17eff588d3	ce506363-dae5-4413-9211-68f8a05c0b3b
5ce98a2b-e913-41f0-8883-8980328d323c	1	Thanks for applying. We'll confirm your proposal this week.	demo-3	dd1cadcd2282bc4bdec35f3f6abb0dcb89fac4978e98f6e2fb72e04ad5ea00bc	2026-12-02 14:08:43.651571+00	ecc3b538-172f-47a0-ac51-e6f682704b21	4246611a-7b57-4bcc-8985-ee17eff588d3	ce506363-dae5-4413-9211-68f8a05c0b3b
8b107f00-94cc-4839-a2ad-a8acfce0902a	2	Sounds good, looking forward to it.	demo-4	4d2c5877ff9e0f830f388d84781386a5421f145b2713b6e0f8b2a37d5ba67bac	2026-12-02 14:08:43.901602+00	ecc3b538-172f-47a0-ac51-e6f682704b21	164cd05f-5472-4a09-baac-6851c2615f21	82649350-43a3-447f-a324-1ba02c42ed23
1f3019c9-207f-480f-8565-90a2569ef5a0	1	Hello! We think your audience would love our camp stoves.	demo-5	094318ae6379ba42f6666db8ae6cc72e294d6fd9eb73725e846a83cbbbaa7aef	2026-12-02 14:08:44.071379+00	e9234b74-b870-4b13-9b08-6ac3f0f908a4	4246611a-7b57-4bcc-8985-ee17eff588d3	ce506363-dae5-4413-9211-68f8a05c0b3b
\.


--
-- Data for Name: participants; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.participants (id, last_seq, last_read_seq, archived, last_activity_at, account_id, conversation_id, counterpart_id) FROM stdin;
2	3	2	f	2026-12-02 14:08:43.529385+00	38efbad3-784a-4f1c-a6b2-8a7417d18ad7	cf8a04dc-64ee-48ef-ae33-6b5fb9d76485	4246611a-7b57-4bcc-8985-ee17eff588d3
1	3	3	f	2026-12-02 14:08:43.529385+00	4246611a-7b57-4bcc-8985-ee17eff588d3	cf8a04dc-64ee-48ef-ae33-6b5fb9d76485	38efbad3-784a-4f1c-a6b2-8a7417d18ad7
3	2	1	f	2026-12-02 14:08:43.901602+00	4246611a-7b57-4bcc-8985-ee17eff588d3	ecc3b538-172f-47a0-ac51-e6f682704b21	164cd05f-5472-4a09-baac-6851c2615f21
4	2	2	f	2026-12-02 14:08:43.901602+00	164cd05f-5472-4a09-baac-6851c2615f21	ecc3b538-172f-47a0-ac51-e6f682704b21	4246611a-7b57-4bcc-8985-ee17eff588d3
6	1	0	f	2026-12-02 14:08:44.071379+00	0fb7a39c-dd92-4bcd-bbf1-cea4cfd4c8b6	e9234b74-b870-4b13-9b08-6ac3f0f908a4	4246611a-7b57-4bcc-8985-ee17eff588d3
5	1	1	f	2026-12-02 14:08:44.071379+00	4246611a-7b57-4bcc-8985-ee17eff588d3	e9234b74-b870-4b13-9b08-6ac3f0f908a4	0fb7a39c-dd92-4bcd-bbf1-cea4cfd4c8b6
\.


--
-- Data for Name: partnerships; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.partnerships (id, status, created_at, updated_at, brand_id, partner_id) FROM stdin;
757c934f-50ea-44b1-8ab9-af37538d51e7	ACTIVE	2026-12-02 14:08:42.331342+00	2026-12-02 14:08:42.331373+00	4246611a-7b57-4bcc-8985-ee17eff588d3	38efbad3-784a-4f1c-a6b2-8a7417d18ad7
8821756f-18bc-4fe4-8f97-7491db3e93ee	ACTIVE	2026-12-02 14:08:42.427327+00	2026-12-02 14:08:42.42736+00	9ed90b7b-6963-4ae5-b993-1ca6f431de42	38efbad3-784a-4f1c-a6b2-8a7417d18ad7
0f04fcdf-84e8-4d75-a65b-ca637d7b49b7	PENDING	2026-12-02 14:08:42.625095+00	2026-12-02 14:08:42.625123+00	4246611a-7b57-4bcc-8985-ee17eff588d3	164cd05f-5472-4a09-baac-6851c2615f21
52c6c081-c7ae-4a81-8d5b-54d2cbbf8b61	PROSPECT	2026-12-02 14:08:42.753514+00	2026-12-02 14:08:42.753536+00	4246611a-7b57-4bcc-8985-ee17eff588d3	0fb7a39c-dd92-4bcd-bbf1-cea4cfd4c8b6
f707ec49-d1b4-4c2f-baf9-1c265f65a426	EXPIRED	2026-12-02 14:08:42.847024+00	2026-12-02 14:08:42.847045+00	4246611a-7b57-4bcc-8985-ee17eff588d3	51a0d353-28b3-4e83-b891-ee425293d306
826aaba7-8534-4cc7-a9c0-b8876e8e1799	DECLINED	2026-12-02 14:08:42.956405+00	2026-12-02 14:08:42.95643+00	4246611a-7b57-4bcc-8985-ee17eff588d3	6141bd74-3b5d-4058-85cc-da6a06f7b1e3
29599726-fe8f-44f4-ab62-f22c0ffcb7cd	DEACTIVATED	2026-12-02 14:08:43.184581+00	2026-12-02 14:08:43.184606+00	4246611a-7b57-4bcc-8985-ee17eff588d3	197f8a48-69fb-49c3-abdc-4af31710c776
ffd75ad4-a34d-4896-9fc2-b55249a90674	PROSPECT	2026-12-02 14:08:43.234554+00	2026-12-02 14:08:43.234581+00	9ed90b7b-6963-4ae5-b993-1ca6f431de42	197f8a48-69fb-49c3-abdc-4af31710c776
\.


--
-- Data for Name: roles; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.roles (id, name, built_in, permissions, created_at, account_id) FROM stdin;
ebf2dc71-3347-4fa4-af19-042714aee42f	ACCOUNT_ADMIN	t	ANALYTICS_VIEW,MESSAGING,PARTNERS_VIEW,USERS_MANAGE	2026-12-02 14:08:41.487811+00	4246611a-7b57-4bcc-8985-ee17eff588d3
655588f8-8323-4180-b3d8-4741bf047452	COMMUNITY_MANAGER	t	MESSAGING,PARTNERS_VIEW	2026-12-02 14:08:41.574486+00	4246611a-7b57-4bcc-8985-ee17eff588d3
dd51e3ae-57fa-4173-b384-cf9b787e46cb	ANALYST	t	ANALYTICS_VIEW,PARTNERS_VIEW	2026-12-02 14:08:41.577701+00	4246611a-7b57-4bcc-8985-ee17eff588d3
b20a8f06-2e44-4013-bd38-bb13cc74732d	ACCOUNT_ADMIN	t	ANALYTICS_VIEW,MESSAGING,PARTNERS_VIEW,USERS_MANAGE	2026-12-02 14:08:41.687291+00	9ed90b7b-6963-4ae5-b993-1ca6f431de42
651efea0-1e92-400c-85c7-0042d12a9c78	COMMUNITY_MANAGER	t	MESSAGING,PARTNERS_VIEW	2026-12-02 14:08:41.704044+00	9ed90b7b-6963-4ae5-b993-1ca6f431de42
3e98efe0-f5e9-46d1-928b-44fdec2008a1	ANALYST	t	ANALYTICS_VIEW,PARTNERS_VIEW	2026-12-02 14:08:41.716346+00	9ed90b7b-6963-4ae5-b993-1ca6f431de42
52b42680-dd65-4811-8c97-25668f977594	ACCOUNT_ADMIN	t	ANALYTICS_VIEW,MESSAGING,PARTNERS_VIEW,USERS_MANAGE	2026-12-02 14:08:42.166549+00	38efbad3-784a-4f1c-a6b2-8a7417d18ad7
c4622617-78a4-4f31-ad7f-ccfee894d2db	COMMUNITY_MANAGER	t	MESSAGING,PARTNERS_VIEW	2026-12-02 14:08:42.168676+00	38efbad3-784a-4f1c-a6b2-8a7417d18ad7
3f6a74d6-f8d5-433c-a6e8-0f47969ce73e	ANALYST	t	ANALYTICS_VIEW,PARTNERS_VIEW	2026-12-02 14:08:42.174169+00	38efbad3-784a-4f1c-a6b2-8a7417d18ad7
58f7d88d-4a6d-46eb-8c8c-4008fbe4a42b	ACCOUNT_ADMIN	t	ANALYTICS_VIEW,MESSAGING,PARTNERS_VIEW,USERS_MANAGE	2026-12-02 14:08:42.543546+00	164cd05f-5472-4a09-baac-6851c2615f21
185455b6-6074-46f1-9bcc-007df6bf9441	COMMUNITY_MANAGER	t	MESSAGING,PARTNERS_VIEW	2026-12-02 14:08:42.544716+00	164cd05f-5472-4a09-baac-6851c2615f21
f099baac-48fa-483c-87f4-a04858762918	ANALYST	t	ANALYTICS_VIEW,PARTNERS_VIEW	2026-12-02 14:08:42.552632+00	164cd05f-5472-4a09-baac-6851c2615f21
abcf954e-8619-4791-9359-e1eeafdac8b3	ACCOUNT_ADMIN	t	ANALYTICS_VIEW,MESSAGING,PARTNERS_VIEW,USERS_MANAGE	2026-12-02 14:08:42.651707+00	0fb7a39c-dd92-4bcd-bbf1-cea4cfd4c8b6
e514623d-ef4c-425a-ab31-53b6e5f8dca6	COMMUNITY_MANAGER	t	MESSAGING,PARTNERS_VIEW	2026-12-02 14:08:42.65696+00	0fb7a39c-dd92-4bcd-bbf1-cea4cfd4c8b6
8d074af1-ff41-4e83-904a-11643aa13812	ANALYST	t	ANALYTICS_VIEW,PARTNERS_VIEW	2026-12-02 14:08:42.662357+00	0fb7a39c-dd92-4bcd-bbf1-cea4cfd4c8b6
277c90b5-bc9d-4410-aa9b-0c8f3346b1e4	ACCOUNT_ADMIN	t	ANALYTICS_VIEW,MESSAGING,PARTNERS_VIEW,USERS_MANAGE	2026-12-02 14:08:42.777247+00	51a0d353-28b3-4e83-b891-ee425293d306
4f8aefcf-1daa-4221-9cc5-f9f62248752e	COMMUNITY_MANAGER	t	MESSAGING,PARTNERS_VIEW	2026-12-02 14:08:42.787598+00	51a0d353-28b3-4e83-b891-ee425293d306
deb1e02e-f2fd-4f00-addf-ef7755d141c1	ANALYST	t	ANALYTICS_VIEW,PARTNERS_VIEW	2026-12-02 14:08:42.790182+00	51a0d353-28b3-4e83-b891-ee425293d306
1ceb7ee0-e6e1-467f-9ef1-afe1a7d95773	ACCOUNT_ADMIN	t	ANALYTICS_VIEW,MESSAGING,PARTNERS_VIEW,USERS_MANAGE	2026-12-02 14:08:42.865671+00	6141bd74-3b5d-4058-85cc-da6a06f7b1e3
0e439b3f-cca7-4d87-9923-91fce90476b1	COMMUNITY_MANAGER	t	MESSAGING,PARTNERS_VIEW	2026-12-02 14:08:42.870297+00	6141bd74-3b5d-4058-85cc-da6a06f7b1e3
b98c91a8-d247-49dc-8208-6e7858f15b15	ANALYST	t	ANALYTICS_VIEW,PARTNERS_VIEW	2026-12-02 14:08:42.875577+00	6141bd74-3b5d-4058-85cc-da6a06f7b1e3
f0bab361-23df-4b49-b826-569412031ecf	ACCOUNT_ADMIN	t	ANALYTICS_VIEW,MESSAGING,PARTNERS_VIEW,USERS_MANAGE	2026-12-02 14:08:43.055319+00	197f8a48-69fb-49c3-abdc-4af31710c776
46e676af-304c-4028-bdcf-ad0c07ba5378	COMMUNITY_MANAGER	t	MESSAGING,PARTNERS_VIEW	2026-12-02 14:08:43.057158+00	197f8a48-69fb-49c3-abdc-4af31710c776
6980c4f3-e755-44e3-8007-3183c0d91c3c	ANALYST	t	ANALYTICS_VIEW,PARTNERS_VIEW	2026-12-02 14:08:43.074341+00	197f8a48-69fb-49c3-abdc-4af31710c776
\.


--
-- Data for Name: tortoise_migrations; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.tortoise_migrations (id, app, name, applied_at) FROM stdin;
1	liaison	0001_initial	2026-12-02 14:08:41.078936+00
\.


--
-- Data for Name: users; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.users (id, email, name, created_at, account_id, role_id) FROM stdin;
bd25bf3f-a7d1-4819-b45d-f021a19ceead	admin@acmeoutdoor.example	Ada Admin	2026-12-02 14:08:41.886359+00	4246611a-7b57-4bcc-8985-ee17eff588d3	ebf2dc71-3347-4fa4-af19-042714aee42f
ce506363-dae5-4413-9211-68f8a05c0b3b	cm@acmeoutdoor.example	Cory Community	2026-12-02 14:08:41.933876+00	4246611a-7b57-4bcc-8985-ee17eff588d3	655588f8-8323-4180-b3d8-4741bf047452
31e70ea9-1d5f-4339-baa2-7f9fef64189e	analyst@acmeoutdoor.example	Ana Analyst	2026-12-02 14:08:41.99463+00	4246611a-7b57-4bcc-8985-ee17eff588d3	dd51e3ae-57fa-4173-b384-cf9b787e46cb
c851146d-6887-4d76-b9d8-648804c5df94	admin@borealiscosmetics.example	Ada Admin	2026-12-02 14:08:42.033504+00	9ed90b7b-6963-4ae5-b993-1ca6f431de42	b20a8f06-2e44-4013-bd38-bb13cc74732d
fb005311-1c72-401e-a30f-5704814e3c29	cm@borealiscosmetics.example	Cory Community	2026-12-02 14:08:42.091322+00	9ed90b7b-6963-4ae5-b993-1ca6f431de42	651efea0-1e92-400c-85c7-0042d12a9c78
dc403e3b-9c3c-41c1-9e38-431f8596e54d	analyst@borealiscosmetics.example	Ana Analyst	2026-12-02 14:08:42.125359+00	9ed90b7b-6963-4ae5-b993-1ca6f431de42	3e98efe0-f5e9-46d1-928b-44fdec2008a1
77765a85-76cc-4a14-96a3-1f5b9abc4d2e	owner@trailblog.example	Trail Blog Owner	2026-12-02 14:08:42.243971+00	38efbad3-784a-4f1c-a6b2-8a7417d18ad7	52b42680-dd65-4811-8c97-25668f977594
82649350-43a3-447f-a324-1ba02c42ed23	owner@peakreviews.example	Peak Reviews Owner	2026-12-02 14:08:42.606451+00	164cd05f-5472-4a09-baac-6851c2615f21	58f7d88d-4a6d-46eb-8c8c-4008fbe4a42b
4d9903c9-0379-4edd-bf5e-1a418ce6bdef	owner@campcreator.example	Camp Creator Owner	2026-12-02 14:08:42.723392+00	0fb7a39c-dd92-4bcd-bbf1-cea4cfd4c8b6	abcf954e-8619-4791-9359-e1eeafdac8b3
85725187-f18a-4756-9210-3a2ea68e9ea8	owner@olddeals.example	Old Deals Owner	2026-12-02 14:08:42.828857+00	51a0d353-28b3-4e83-b891-ee425293d306	277c90b5-bc9d-4410-aa9b-0c8f3346b1e4
252fb431-f9d9-4671-8852-249bd33eb7a5	owner@nothanksmedia.example	No Thanks Media Owner	2026-12-02 14:08:42.921039+00	6141bd74-3b5d-4058-85cc-da6a06f7b1e3	1ceb7ee0-e6e1-467f-9ef1-afe1a7d95773
c5f1d219-16d0-48da-80d1-08e3fef85bad	owner@formerfriend.example	Former Friend Owner	2026-12-02 14:08:43.141104+00	197f8a48-69fb-49c3-abdc-4af31710c776	f0bab361-23df-4b49-b826-569412031ecf
\.


--
-- Name: events_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.events_id_seq', 12, true);


--
-- Name: participants_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.participants_id_seq', 6, true);


--
-- Name: tortoise_migrations_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.tortoise_migrations_id_seq', 1, true);


--
-- Name: accounts accounts_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.accounts
    ADD CONSTRAINT accounts_pkey PRIMARY KEY (id);


--
-- Name: attachments attachments_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.attachments
    ADD CONSTRAINT attachments_pkey PRIMARY KEY (id);


--
-- Name: attachments attachments_storage_key_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.attachments
    ADD CONSTRAINT attachments_storage_key_key UNIQUE (storage_key);


--
-- Name: conversations conversations_partnership_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.conversations
    ADD CONSTRAINT conversations_partnership_id_key UNIQUE (partnership_id);


--
-- Name: conversations conversations_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.conversations
    ADD CONSTRAINT conversations_pkey PRIMARY KEY (id);


--
-- Name: events events_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.events
    ADD CONSTRAINT events_pkey PRIMARY KEY (id);


--
-- Name: messages messages_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.messages
    ADD CONSTRAINT messages_pkey PRIMARY KEY (id);


--
-- Name: participants participants_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.participants
    ADD CONSTRAINT participants_pkey PRIMARY KEY (id);


--
-- Name: partnerships partnerships_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.partnerships
    ADD CONSTRAINT partnerships_pkey PRIMARY KEY (id);


--
-- Name: roles roles_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.roles
    ADD CONSTRAINT roles_pkey PRIMARY KEY (id);


--
-- Name: tortoise_migrations tortoise_migrations_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.tortoise_migrations
    ADD CONSTRAINT tortoise_migrations_pkey PRIMARY KEY (id);


--
-- Name: attachments uid_attachments_message_3b4381; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.attachments
    ADD CONSTRAINT uid_attachments_message_3b4381 UNIQUE (message_id, "position");


--
-- Name: events uid_events_account_65852c; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.events
    ADD CONSTRAINT uid_events_account_65852c UNIQUE (account_id, seq);


--
-- Name: messages uid_messages_convers_b8b89b; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.messages
    ADD CONSTRAINT uid_messages_convers_b8b89b UNIQUE (conversation_id, seq);


--
-- Name: messages uid_messages_sender__27c3a7; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.messages
    ADD CONSTRAINT uid_messages_sender__27c3a7 UNIQUE (sender_user_id, client_message_id);


--
-- Name: participants uid_participant_convers_a4d1e8; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.participants
    ADD CONSTRAINT uid_participant_convers_a4d1e8 UNIQUE (conversation_id, account_id);


--
-- Name: partnerships uid_partnership_brand_i_573f75; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.partnerships
    ADD CONSTRAINT uid_partnership_brand_i_573f75 UNIQUE (brand_id, partner_id);


--
-- Name: roles uid_roles_account_7fd0ae; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.roles
    ADD CONSTRAINT uid_roles_account_7fd0ae UNIQUE (account_id, name);


--
-- Name: tortoise_migrations uid_tortoise_mi_app_3803a5; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.tortoise_migrations
    ADD CONSTRAINT uid_tortoise_mi_app_3803a5 UNIQUE (app, name);


--
-- Name: users users_email_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_email_key UNIQUE (email);


--
-- Name: users users_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_pkey PRIMARY KEY (id);


--
-- Name: idx_accounts_name_fo_dc60fb; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_accounts_name_fo_dc60fb ON public.accounts USING btree (name_folded);


--
-- Name: idx_attachments_scan_st_cb3d8e; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_attachments_scan_st_cb3d8e ON public.attachments USING btree (scan_status, created_at);


--
-- Name: idx_messages_sender__d51011; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_messages_sender__d51011 ON public.messages USING btree (sender_account_id, sent_at);


--
-- Name: idx_participant_account_53cbc8; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_participant_account_53cbc8 ON public.participants USING btree (account_id, archived, last_activity_at, conversation_id);


--
-- Name: idx_partnership_brand_i_5b69c0; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_partnership_brand_i_5b69c0 ON public.partnerships USING btree (brand_id, status, created_at);


--
-- Name: idx_partnership_partner_59a600; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_partnership_partner_59a600 ON public.partnerships USING btree (partner_id, status);


--
-- Name: attachments attachments_message_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.attachments
    ADD CONSTRAINT attachments_message_id_fkey FOREIGN KEY (message_id) REFERENCES public.messages(id) ON DELETE CASCADE;


--
-- Name: conversations conversations_brand_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.conversations
    ADD CONSTRAINT conversations_brand_id_fkey FOREIGN KEY (brand_id) REFERENCES public.accounts(id) ON DELETE CASCADE;


--
-- Name: conversations conversations_partner_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.conversations
    ADD CONSTRAINT conversations_partner_id_fkey FOREIGN KEY (partner_id) REFERENCES public.accounts(id) ON DELETE CASCADE;


--
-- Name: conversations conversations_partnership_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.conversations
    ADD CONSTRAINT conversations_partnership_id_fkey FOREIGN KEY (partnership_id) REFERENCES public.partnerships(id) ON DELETE CASCADE;


--
-- Name: events events_account_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.events
    ADD CONSTRAINT events_account_id_fkey FOREIGN KEY (account_id) REFERENCES public.accounts(id) ON DELETE CASCADE;


--
-- Name: events events_conversation_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.events
    ADD CONSTRAINT events_conversation_id_fkey FOREIGN KEY (conversation_id) REFERENCES public.conversations(id) ON DELETE CASCADE;


--
-- Name: messages messages_conversation_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.messages
    ADD CONSTRAINT messages_conversation_id_fkey FOREIGN KEY (conversation_id) REFERENCES public.conversations(id) ON DELETE CASCADE;


--
-- Name: messages messages_sender_account_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.messages
    ADD CONSTRAINT messages_sender_account_id_fkey FOREIGN KEY (sender_account_id) REFERENCES public.accounts(id) ON DELETE CASCADE;


--
-- Name: messages messages_sender_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.messages
    ADD CONSTRAINT messages_sender_user_id_fkey FOREIGN KEY (sender_user_id) REFERENCES public.users(id) ON DELETE RESTRICT;


--
-- Name: participants participants_account_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.participants
    ADD CONSTRAINT participants_account_id_fkey FOREIGN KEY (account_id) REFERENCES public.accounts(id) ON DELETE CASCADE;


--
-- Name: participants participants_conversation_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.participants
    ADD CONSTRAINT participants_conversation_id_fkey FOREIGN KEY (conversation_id) REFERENCES public.conversations(id) ON DELETE CASCADE;


--
-- Name: participants participants_counterpart_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.participants
    ADD CONSTRAINT participants_counterpart_id_fkey FOREIGN KEY (counterpart_id) REFERENCES public.accounts(id) ON DELETE CASCADE;


--
-- Name: partnerships partnerships_brand_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.partnerships
    ADD CONSTRAINT partnerships_brand_id_fkey FOREIGN KEY (brand_id) REFERENCES public.accounts(id) ON DELETE CASCADE;


--
-- Name: partnerships partnerships_partner_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.partnerships
    ADD CONSTRAINT partnerships_partner_id_fkey FOREIGN KEY (partner_id) REFERENCES public.accounts(id) ON DELETE CASCADE;


--
-- Name: roles roles_account_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.roles
    ADD CONSTRAINT roles_account_id_fkey FOREIGN KEY (account_id) REFERENCES public.accounts(id) ON DELETE CASCADE;


--
-- Name: users users_account_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_account_id_fkey FOREIGN KEY (account_id) REFERENCES public.accounts(id) ON DELETE CASCADE;


--
-- Name: users users_role_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_role_id_fkey FOREIGN KEY (role_id) REFERENCES public.roles(id) ON DELETE RESTRICT;


--
-- PostgreSQL database dump complete
--

\unrestrict ubV61Ud54uTgJHu46dKAsFhdsc0ybgBflF3SIz6ZWy6kJQhC6KblWNHmCxfUABb

