"""The chat and the notification centre (SPEC §5, services/chat/, services/notify/).

Chats are of four kinds. The general chat (one, made here) has every internal
user, implicitly; a work-group chat (one per client, made here for the clients
there are, and with each new client after) has the client's work group at
every moment, implicitly: neither lists members. Public and private chats list
theirs in ``chat_members``, with the first message each may read
(``sees_from``: 0 is the whole history; an invitee without the history sees
from the moment of joining). ``chat_marks`` holds what each person has read
and whether they muted the chat. Messages keep their earlier texts in
``chat_message_versions`` (edits and deletions, for administrators);
``chat_search`` is their full-text index (FTS5, external content, kept by
triggers; store/search.py is the one place that queries it).

The notification centre gains the chat a notification is about, the person's
preferences per kind, and the moment an e-mailed one was queued; documents
gain the first time the client's people downloaded one the firm put there (a
read receipt, on by default, a practice's setting).
"""

from __future__ import annotations

import sqlite3

from sempi_cli.clock import SystemClock, iso_utc
from sempi_cli.store.script import statements

SQL = """
CREATE TABLE chats (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('general', 'public', 'private', 'group')),
    title           TEXT NOT NULL CHECK (length(trim(title)) > 0 AND length(title) <= 120),
    topic           TEXT,
    client_id       INTEGER UNIQUE REFERENCES clients(id),
    owner_id        INTEGER REFERENCES users(id),
    post_policy     TEXT NOT NULL DEFAULT 'everyone' CHECK (post_policy IN ('everyone', 'admins')),
    created_by      INTEGER REFERENCES users(id),
    created_at      TEXT NOT NULL,
    archived_at     TEXT,
    last_message_id INTEGER,
    last_message_at TEXT,
    CHECK ((kind = 'group') = (client_id IS NOT NULL)),
    CHECK (kind = 'private' OR owner_id IS NULL)
);
CREATE UNIQUE INDEX chats_one_general ON chats(kind) WHERE kind = 'general';
CREATE INDEX chats_activity ON chats(last_message_at);

CREATE TABLE chat_members (
    chat_id     INTEGER NOT NULL REFERENCES chats(id),
    user_id     INTEGER NOT NULL REFERENCES users(id),
    joined_at   TEXT NOT NULL,
    sees_from   INTEGER NOT NULL DEFAULT 0 CHECK (sees_from >= 0),
    added_by    INTEGER REFERENCES users(id),
    PRIMARY KEY (chat_id, user_id)
);
CREATE INDEX chat_members_user ON chat_members(user_id, chat_id);

CREATE TABLE chat_marks (
    chat_id     INTEGER NOT NULL REFERENCES chats(id),
    user_id     INTEGER NOT NULL REFERENCES users(id),
    read_up_to  INTEGER NOT NULL DEFAULT 0 CHECK (read_up_to >= 0),
    muted       INTEGER NOT NULL DEFAULT 0 CHECK (muted IN (0, 1)),
    PRIMARY KEY (chat_id, user_id)
);
CREATE INDEX chat_marks_user ON chat_marks(user_id, chat_id);

CREATE TABLE chat_messages (
    id          INTEGER PRIMARY KEY,
    chat_id     INTEGER NOT NULL REFERENCES chats(id),
    author_id   INTEGER REFERENCES users(id),
    kind        TEXT NOT NULL DEFAULT 'text' CHECK (kind IN ('text', 'event')),
    body        TEXT NOT NULL CHECK (length(body) <= 10000),
    reply_to    INTEGER REFERENCES chat_messages(id),
    document_id INTEGER REFERENCES documents(id),
    created_at  TEXT NOT NULL,
    edited_at   TEXT,
    deleted_at  TEXT,
    CHECK (kind = 'event' OR author_id IS NOT NULL OR deleted_at IS NOT NULL)
);
CREATE INDEX chat_messages_chat ON chat_messages(chat_id, id);
-- For the unread counts (chat/listing.py): a chat's own messages of one person,
-- and its deleted ones, each counted in an index range like the messages.
CREATE INDEX chat_messages_author ON chat_messages(author_id, chat_id, id);
CREATE INDEX chat_messages_deleted ON chat_messages(chat_id, id, author_id)
    WHERE deleted_at IS NOT NULL;

CREATE TABLE chat_message_versions (
    message_id  INTEGER NOT NULL REFERENCES chat_messages(id),
    version     INTEGER NOT NULL CHECK (version >= 1),
    body        TEXT NOT NULL,
    replaced_at TEXT NOT NULL,
    replaced_by INTEGER REFERENCES users(id),
    PRIMARY KEY (message_id, version)
);

CREATE VIRTUAL TABLE chat_search USING fts5(
    body, content = 'chat_messages', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER chat_search_insert AFTER INSERT ON chat_messages BEGIN
    INSERT INTO chat_search (rowid, body) VALUES (new.id, new.body);
END;
CREATE TRIGGER chat_search_delete AFTER DELETE ON chat_messages BEGIN
    INSERT INTO chat_search (chat_search, rowid, body) VALUES ('delete', old.id, old.body);
END;
CREATE TRIGGER chat_search_update AFTER UPDATE OF body ON chat_messages BEGIN
    INSERT INTO chat_search (chat_search, rowid, body) VALUES ('delete', old.id, old.body);
    INSERT INTO chat_search (rowid, body) VALUES (new.id, new.body);
END;

ALTER TABLE notifications ADD COLUMN chat_id INTEGER REFERENCES chats(id);
ALTER TABLE notifications ADD COLUMN emailed_at TEXT;
CREATE INDEX notifications_chat ON notifications(chat_id);
CREATE TABLE notification_prefs (
    user_id     INTEGER NOT NULL REFERENCES users(id),
    kind        TEXT NOT NULL,
    channel     TEXT NOT NULL CHECK (channel IN ('inbox', 'email', 'both', 'off')),
    PRIMARY KEY (user_id, kind)
);

ALTER TABLE documents ADD COLUMN client_first_read_at TEXT;
ALTER TABLE studios ADD COLUMN read_receipts INTEGER NOT NULL DEFAULT 1
    CHECK (read_receipts IN (0, 1));
"""


def run(conn: sqlite3.Connection) -> None:
    """The schema, then the general chat and a chat for each client's work group
    (named by the client; the time from clock.py, as everything else)."""
    for statement in statements(SQL):
        conn.execute(statement)
    now = iso_utc(SystemClock().now())
    conn.execute(
        "INSERT INTO chats (kind, title, created_at) VALUES ('general', 'Generale', ?)", (now,)
    )
    conn.execute(
        "INSERT INTO chats (kind, title, client_id, created_at)"
        " SELECT 'group', substr(ragione_sociale, 1, 120), id, created_at FROM clients ORDER BY id"
    )
