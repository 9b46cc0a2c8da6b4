"""Checklists on tasks: named lists, items nested without limit, item members,
attachments stored once per content (SHA-256), and templates' checklists."""

SQL = """
CREATE TABLE checklists (
    id          INTEGER PRIMARY KEY,
    task_id     INTEGER NOT NULL REFERENCES tasks(id),
    name        TEXT NOT NULL CHECK (length(trim(name)) > 0),
    position    INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    UNIQUE (task_id, name)
);

CREATE TABLE checklist_items (
    id            INTEGER PRIMARY KEY,
    checklist_id  INTEGER NOT NULL REFERENCES checklists(id),
    parent_id     INTEGER REFERENCES checklist_items(id),
    position      INTEGER NOT NULL,
    text          TEXT NOT NULL CHECK (length(trim(text)) > 0),
    important     INTEGER NOT NULL DEFAULT 0 CHECK (important IN (0, 1)),
    done_at       TEXT,
    done_by       INTEGER REFERENCES users(id),
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    CHECK ((done_at IS NULL) = (done_by IS NULL)),
    CHECK (parent_id IS NULL OR parent_id <> id)
);
-- A list's tree in order; the open items of a task (the completion rule).
CREATE INDEX checklist_items_tree ON checklist_items(checklist_id, parent_id, position);
CREATE INDEX checklist_items_parent ON checklist_items(parent_id);
CREATE INDEX checklist_items_open ON checklist_items(checklist_id, id) WHERE done_at IS NULL;

-- People on an item see the whole task (access.visible_tasks).
CREATE TABLE checklist_item_members (
    item_id     INTEGER NOT NULL REFERENCES checklist_items(id),
    user_id     INTEGER NOT NULL REFERENCES users(id),
    role        TEXT NOT NULL CHECK (role IN ('participant', 'observer')),
    PRIMARY KEY (item_id, user_id, role)
) WITHOUT ROWID;
CREATE INDEX checklist_item_members_user ON checklist_item_members(user_id, item_id);

-- One row per distinct content: the same file attached twice is stored once.
CREATE TABLE attachments (
    id          INTEGER PRIMARY KEY,
    sha256      TEXT NOT NULL UNIQUE CHECK (length(sha256) = 64),
    size        INTEGER NOT NULL CHECK (size >= 0),
    content     BLOB NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE item_attachments (
    id              INTEGER PRIMARY KEY,
    item_id         INTEGER NOT NULL REFERENCES checklist_items(id),
    attachment_id   INTEGER NOT NULL REFERENCES attachments(id),
    name            TEXT NOT NULL CHECK (length(trim(name)) > 0),
    added_at        TEXT NOT NULL,
    added_by        INTEGER NOT NULL REFERENCES users(id),
    UNIQUE (item_id, name)
);
CREATE INDEX item_attachments_attachment ON item_attachments(attachment_id);

-- A template's checklists: [{"name": ..., "items": [{"text", "important", "items"}]}].
ALTER TABLE task_templates ADD COLUMN checklists TEXT NOT NULL DEFAULT '[]';
"""
