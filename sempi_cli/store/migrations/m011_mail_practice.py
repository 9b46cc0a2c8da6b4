"""The practice a message belongs to, for mail that concerns no client (the
invitation of a practice's operator): its practice administrator reads,
retries and cancels it like the mail about the practice's clients."""

SQL = """
ALTER TABLE mail_outbox ADD COLUMN studio_id INTEGER REFERENCES studios(id);
UPDATE mail_outbox SET studio_id = (SELECT studio_id FROM clients WHERE id = mail_outbox.client_id)
 WHERE client_id IS NOT NULL;
UPDATE mail_outbox SET studio_id = (
    SELECT u.studio_id FROM invitations i JOIN users u ON u.id = i.user_id
     WHERE mail_outbox.dedupe_key = 'invite:' || i.user_id || ':' || i.seq
) WHERE client_id IS NULL AND kind = 'invitation';
CREATE INDEX mail_outbox_studio ON mail_outbox(studio_id);
"""
