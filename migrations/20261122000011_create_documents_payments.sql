-- Documents ordo issues (certificates, self-certifications, membership cards, payment notices,
-- receipts): each with an unguessable verification code printed as text and QR code, and the PDF as
-- issued. Append-only; a document stops being valid by a revocation row, never by an edit.
CREATE TABLE issued_documents (
    id                       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code                     TEXT NOT NULL,
    kind                     TEXT NOT NULL CHECK (kind IN ('certificate', 'self_certification', 'card',
                                                           'payment_notice', 'receipt')),
    member_id                BIGINT NULL REFERENCES members (id),
    title                    TEXT NOT NULL,
    -- What the document states, as shown on /verifica/<code>: [[label, value], ...].
    facts                    JSONB NOT NULL,
    -- The data a card shows (name, number, section, sectors, photo): a new card when they change.
    fingerprint              TEXT NOT NULL DEFAULT '',
    pdf                      BYTEA NOT NULL,
    pdf_sha256               BYTEA NOT NULL,
    request_id               BIGINT NULL REFERENCES requests (id),
    protocol_registration_id BIGINT NULL REFERENCES protocol_registrations (id),
    issued_at                TIMESTAMPTZ NOT NULL,
    issued_by                BIGINT NULL REFERENCES users (id),
    CONSTRAINT issued_documents_code_key UNIQUE (code),
    CONSTRAINT issued_documents_code_format CHECK (code ~ '^[A-Z2-7]{20}$')
);
CREATE INDEX issued_documents_member_idx ON issued_documents (member_id, kind, id);

CREATE TABLE document_revocations (
    document_id BIGINT PRIMARY KEY REFERENCES issued_documents (id),
    revoked_at  TIMESTAMPTZ NOT NULL,
    reason      TEXT NOT NULL CHECK (btrim(reason) <> '')
);

CREATE TRIGGER issued_documents_append_only BEFORE UPDATE OR DELETE ON issued_documents
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER issued_documents_no_truncate BEFORE TRUNCATE ON issued_documents
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER document_revocations_append_only BEFORE UPDATE OR DELETE ON document_revocations
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER document_revocations_no_truncate BEFORE TRUNCATE ON document_revocations
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- When a member leaves the active status (suspension, cancellation, transfer out), whatever certified
-- the membership is revoked in the same transaction: certificates, self-certifications and cards.
CREATE FUNCTION revoke_documents_on_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO document_revocations (document_id, revoked_at, reason)
    SELECT d.id, e.recorded_at,
           'Lo stato dell''iscritto è cambiato: ' || CASE e.status_after
               WHEN 'suspended' THEN 'sospeso'
               WHEN 'cancelled' THEN 'cancellato dall''Albo'
               ELSE e.status_after END
               || ' dal ' || to_char(e.effective_date, 'DD/MM/YYYY') || '.'
    FROM (SELECT DISTINCT ON (member_id) member_id, status_after, effective_date, recorded_at
          FROM new_events ORDER BY member_id, id DESC) AS e
    JOIN issued_documents d ON d.member_id = e.member_id
         AND d.kind IN ('certificate', 'self_certification', 'card')
    WHERE e.status_after <> 'active'
      AND NOT EXISTS (SELECT 1 FROM document_revocations r WHERE r.document_id = d.id);
    RETURN NULL;
END;
$$;
CREATE TRIGGER member_status_events_revoke_documents AFTER INSERT ON member_status_events
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION revoke_documents_on_status();

-- pagoPA payment positions (posizioni debitorie): what a member owes, each with its IUV and 18-digit
-- notice code. Never changed: a position is paid when a receipt for it exists.
CREATE SEQUENCE payment_iuv_seq;
CREATE TABLE payment_positions (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    member_id   BIGINT NOT NULL REFERENCES members (id),
    kind        TEXT NOT NULL CHECK (kind IN ('annual_fee', 'registration_fee', 'stamp_duty', 'other')),
    year        INTEGER NOT NULL,
    description TEXT NOT NULL CHECK (btrim(description) <> ''),
    amount      NUMERIC(12, 2) NOT NULL CHECK (amount > 0),
    notice_code TEXT NOT NULL CHECK (notice_code ~ '^[0-9]{18}$'),
    iuv         TEXT NOT NULL,
    due_date    DATE NOT NULL,
    request_id  BIGINT NULL REFERENCES requests (id),
    created_at  TIMESTAMPTZ NOT NULL,
    created_by  BIGINT NULL REFERENCES users (id),
    CONSTRAINT payment_positions_notice_code_key UNIQUE (notice_code),
    CONSTRAINT payment_positions_iuv_key UNIQUE (iuv)
);
-- One annual fee per member and year: generating the fees twice adds nothing.
CREATE UNIQUE INDEX payment_positions_annual_key ON payment_positions (member_id, year) WHERE kind = 'annual_fee';
CREATE INDEX payment_positions_member_idx ON payment_positions (member_id, id);
CREATE INDEX payment_positions_request_idx ON payment_positions (request_id) WHERE request_id IS NOT NULL;

-- Payment outcomes received from the pagoPA intermediary (reconciliation): one per position at most.
CREATE TABLE payment_receipts (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    position_id BIGINT NOT NULL REFERENCES payment_positions (id),
    -- The receipt's identifier (IUR / receiptId given by the PSP).
    receipt_id  TEXT NOT NULL CHECK (btrim(receipt_id) <> ''),
    amount      NUMERIC(12, 2) NOT NULL CHECK (amount > 0),
    paid_at     TIMESTAMPTZ NOT NULL,
    psp         TEXT NOT NULL DEFAULT '',
    source      TEXT NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    recorded_by BIGINT NULL REFERENCES users (id),
    CONSTRAINT payment_receipts_position_key UNIQUE (position_id)
);

CREATE TRIGGER payment_positions_append_only BEFORE UPDATE OR DELETE ON payment_positions
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER payment_receipts_append_only BEFORE UPDATE OR DELETE ON payment_receipts
    FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- The new kinds of pratica: certificate, cancellation, transfer in from another order, enrolment.
ALTER TABLE requests DROP CONSTRAINT requests_kind_check;
ALTER TABLE requests ADD CONSTRAINT requests_kind_check
    CHECK (kind IN ('data_change', 'pec', 'photo', 'message', 'certificate', 'cancellation', 'transfer_in',
                    'enrolment'));

-- A payment notice or receipt belongs to its position.
ALTER TABLE issued_documents ADD COLUMN payment_position_id BIGINT NULL REFERENCES payment_positions (id);
CREATE UNIQUE INDEX issued_documents_position_key ON issued_documents (payment_position_id, kind)
    WHERE payment_position_id IS NOT NULL;
