"""Client documents: folder trees per client and documents stored once per content."""

SQL = """
-- A client's folders, like the binders of old. Names are unique among siblings
-- whatever their case: name_key is the name folded by the service (NFC, casefold;
-- SQLite's NOCASE folds ASCII only, and "Contabilità" must meet "CONTABILITÀ").
CREATE TABLE doc_folders (
    id          INTEGER PRIMARY KEY,
    client_id   INTEGER NOT NULL REFERENCES clients(id),
    parent_id   INTEGER REFERENCES doc_folders(id),
    name        TEXT NOT NULL CHECK (length(trim(name)) > 0 AND length(name) <= 64
                                     AND instr(name, '/') = 0),
    name_key    TEXT NOT NULL CHECK (length(name_key) > 0),
    created_at  TEXT NOT NULL,
    CHECK (parent_id IS NULL OR parent_id <> id)
);
CREATE UNIQUE INDEX doc_folders_sibling_name
    ON doc_folders(client_id, ifnull(parent_id, 0), name_key);
CREATE INDEX doc_folders_parent ON doc_folders(parent_id);

-- A folder's parent is a folder of the same client.
CREATE TRIGGER doc_folders_parent_same_client_insert BEFORE INSERT ON doc_folders
WHEN NEW.parent_id IS NOT NULL
 AND (SELECT client_id FROM doc_folders WHERE id = NEW.parent_id) IS NOT NEW.client_id
BEGIN SELECT RAISE(ABORT, 'a folder''s parent belongs to another client'); END;
CREATE TRIGGER doc_folders_parent_same_client_update BEFORE UPDATE OF parent_id, client_id
ON doc_folders
WHEN NEW.parent_id IS NOT NULL
 AND (SELECT client_id FROM doc_folders WHERE id = NEW.parent_id) IS NOT NEW.client_id
BEGIN SELECT RAISE(ABORT, 'a folder''s parent belongs to another client'); END;

-- A document is a name in a folder pointing at content in `attachments`
-- (one row per distinct SHA-256, shared with checklist files). Removal is soft:
-- the row stays, with who removed it and from where; a document whose folder
-- was removed keeps the folder's path in removed_from and loses folder_id.
CREATE TABLE documents (
    id              INTEGER PRIMARY KEY,
    client_id       INTEGER NOT NULL REFERENCES clients(id),
    folder_id       INTEGER REFERENCES doc_folders(id),
    name            TEXT NOT NULL CHECK (length(trim(name)) > 0 AND instr(name, '/') = 0),
    attachment_id   INTEGER NOT NULL REFERENCES attachments(id),
    size            INTEGER NOT NULL CHECK (size >= 0),
    sha256          TEXT NOT NULL CHECK (length(sha256) = 64),
    added_by        INTEGER NOT NULL REFERENCES users(id),
    added_at        TEXT NOT NULL,
    removed_at      TEXT,
    removed_by      INTEGER REFERENCES users(id),
    removed_from    TEXT,
    CHECK ((removed_at IS NULL) = (removed_by IS NULL)),
    CHECK (folder_id IS NOT NULL OR removed_at IS NOT NULL)
);
-- One live document per name in a folder; removed ones do not count.
CREATE UNIQUE INDEX documents_live_name ON documents(folder_id, name) WHERE removed_at IS NULL;
CREATE INDEX documents_client ON documents(client_id, folder_id);
CREATE INDEX documents_attachment ON documents(attachment_id);

-- Checklists delete a content when its last item link goes; a content a
-- document still points at stays (the row's delete is skipped, not refused).
CREATE TRIGGER attachments_kept_for_documents BEFORE DELETE ON attachments
WHEN EXISTS (SELECT 1 FROM documents WHERE attachment_id = OLD.id)
BEGIN SELECT RAISE(IGNORE); END;
"""
