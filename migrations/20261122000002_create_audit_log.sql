-- The audit log: append-only and hash-chained. Each entry stores the hash of the previous one; the
-- database itself refuses UPDATE, DELETE and TRUNCATE, and checks on INSERT that the new entry continues
-- the chain (next sequence number, previous hash), so a bug in the code cannot fork or rewrite it.
CREATE TABLE audit_log (
    seq         BIGINT PRIMARY KEY,
    recorded_at TIMESTAMPTZ NOT NULL,
    actor_id    BIGINT NULL,
    actor_label TEXT NOT NULL,
    action      TEXT NOT NULL,
    entity      TEXT NOT NULL,
    entity_id   TEXT NULL,
    details     TEXT NOT NULL,   -- canonical JSON, hashed byte for byte
    prev_hash   BYTEA NOT NULL,
    hash        BYTEA NOT NULL,
    CONSTRAINT audit_log_hash_key UNIQUE (hash),
    CONSTRAINT audit_log_hash_len CHECK (octet_length(hash) = 32 AND octet_length(prev_hash) = 32)
);
CREATE INDEX audit_log_entity_idx ON audit_log (entity, entity_id);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id);

-- One row: the tip of the chain. Locked by every writer, so entries are numbered in commit order.
CREATE TABLE audit_chain_head (
    id   BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (id),
    seq  BIGINT NOT NULL,
    hash BYTEA NOT NULL
);
INSERT INTO audit_chain_head (id, seq, hash) VALUES (TRUE, 0, decode(repeat('00', 32), 'hex'));

CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();

CREATE FUNCTION audit_log_extend_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    head audit_chain_head%ROWTYPE;
BEGIN
    SELECT * INTO head FROM audit_chain_head WHERE id FOR UPDATE;
    IF NEW.seq <> head.seq + 1 OR NEW.prev_hash <> head.hash THEN
        RAISE EXCEPTION 'audit_log entry % does not continue the chain (head %)', NEW.seq, head.seq
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    UPDATE audit_chain_head SET seq = NEW.seq, hash = NEW.hash WHERE id;
    RETURN NEW;
END;
$$;
CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_extend_chain();

CREATE FUNCTION audit_chain_head_refuse_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_chain_head cannot be deleted' USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_chain_head_no_delete BEFORE DELETE ON audit_chain_head
    FOR EACH ROW EXECUTE FUNCTION audit_chain_head_refuse_delete();
