-- Contact with the secretariat: a conversation is a pratica of kind 'message' (same workflow, inbox and
-- notifications as every other request); its messages and their attachments are append-only.
ALTER TABLE requests DROP CONSTRAINT requests_kind_check;
ALTER TABLE requests ADD CONSTRAINT requests_kind_check
    CHECK (kind IN ('data_change', 'pec', 'photo', 'message'));

CREATE TABLE request_messages (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id BIGINT NOT NULL REFERENCES requests (id),
    author_id  BIGINT NOT NULL REFERENCES users (id),
    from_staff BOOLEAN NOT NULL,
    body       TEXT NOT NULL CHECK (length(body) BETWEEN 1 AND 10000),
    at         TIMESTAMPTZ NOT NULL
);
CREATE INDEX request_messages_request_idx ON request_messages (request_id, id);

-- Files are kept in the database (at most 10 MB each, checked by content): one backup covers all.
CREATE TABLE request_attachments (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id   BIGINT NOT NULL REFERENCES request_messages (id),
    file_name    TEXT NOT NULL CHECK (length(file_name) BETWEEN 1 AND 200),
    content_type TEXT NOT NULL CHECK (content_type IN ('application/pdf', 'image/jpeg', 'image/png')),
    size_bytes   INTEGER NOT NULL CHECK (size_bytes BETWEEN 1 AND 10485760),
    sha256       BYTEA NOT NULL CHECK (octet_length(sha256) = 32),
    content      BYTEA NOT NULL
);
CREATE INDEX request_attachments_message_idx ON request_attachments (message_id, id);

CREATE TRIGGER request_messages_append_only BEFORE UPDATE OR DELETE ON request_messages
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER request_messages_no_truncate BEFORE TRUNCATE ON request_messages
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER request_attachments_append_only BEFORE UPDATE OR DELETE ON request_attachments
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER request_attachments_no_truncate BEFORE TRUNCATE ON request_attachments
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
