"""Documents: where an imported file came from; folder ids that are never reused."""

SQL = """
-- The file's path in the tree `doc import` loaded (NULL for `doc add`): a re-run
-- skips a file this client already had from that path with that content, even
-- if the document was moved or removed since.
ALTER TABLE documents ADD COLUMN source TEXT;
CREATE INDEX documents_source ON documents(client_id, source);

-- doc_folders again, with AUTOINCREMENT: a removed folder's row is deleted, and
-- without it SQLite gave the largest id again to the next folder (another
-- client's too), so the audit log's "doc_folder N" named two folders. Columns,
-- checks, indexes and triggers as m007 made them. Foreign keys are off while
-- migrations run (migrations.migrate) and checked before the commit.
CREATE TABLE doc_folders_new (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id   INTEGER NOT NULL REFERENCES clients(id),
    parent_id   INTEGER REFERENCES doc_folders(id),
    name        TEXT NOT NULL CHECK (length(trim(name)) > 0 AND length(name) <= 64
                                     AND instr(name, '/') = 0),
    name_key    TEXT NOT NULL CHECK (length(name_key) > 0),
    created_at  TEXT NOT NULL,
    CHECK (parent_id IS NULL OR parent_id <> id)
);
INSERT INTO doc_folders_new (id, client_id, parent_id, name, name_key, created_at)
    SELECT id, client_id, parent_id, name, name_key, created_at FROM doc_folders;
DROP TABLE doc_folders;
ALTER TABLE doc_folders_new RENAME TO doc_folders;
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

-- The next id is above every id ever used: the table's, and any the audit log
-- names (a folder removed before this migration, once the largest).
DELETE FROM sqlite_sequence WHERE name IN ('doc_folders', 'doc_folders_new');
INSERT INTO sqlite_sequence (name, seq) VALUES ('doc_folders', max(
    (SELECT coalesce(max(id), 0) FROM doc_folders),
    (SELECT coalesce(max(object_id), 0) FROM audit_log WHERE object_type = 'doc_folder')));
"""
