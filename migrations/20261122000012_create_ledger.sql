-- The accounting ledger (contabilità finanziaria, seed 004). A financial year is the calendar year;
-- its budget's state (approved, provisional) and its closing are events, never edits. Chapters
-- (capitoli) carry their title and category; every figure — allocations, variations and each
-- operation — is an entry of an append-only journal, from which availabilities and reports are summed.
CREATE TABLE ledger_years (
    year            INTEGER PRIMARY KEY CHECK (year BETWEEN 2000 AND 2100),
    -- The presumed result of administration of the previous year: the budget's first item.
    presumed_result NUMERIC(14, 2) NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL
);

CREATE TABLE ledger_year_events (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    year        INTEGER NOT NULL REFERENCES ledger_years (year),
    kind        TEXT NOT NULL CHECK (kind IN ('provisional', 'budget_approved', 'closed')),
    resolution  TEXT NOT NULL DEFAULT '',
    at          TIMESTAMPTZ NOT NULL,
    by_user     BIGINT NULL REFERENCES users (id)
);
CREATE INDEX ledger_year_events_year_idx ON ledger_year_events (year, id);
CREATE UNIQUE INDEX ledger_year_closed_once ON ledger_year_events (year) WHERE kind = 'closed';

CREATE TABLE ledger_chapters (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    year         INTEGER NOT NULL REFERENCES ledger_years (year),
    side         TEXT NOT NULL CHECK (side IN ('revenue', 'expenditure')),
    -- Revenue titles I–V, expenditure titles I–IV (SPEC §6).
    title        SMALLINT NOT NULL,
    category     TEXT NOT NULL CHECK (btrim(category) <> ''),
    code         TEXT NOT NULL CHECK (btrim(code) <> ''),
    name         TEXT NOT NULL CHECK (btrim(name) <> ''),
    reserve_fund BOOLEAN NOT NULL DEFAULT FALSE,
    CONSTRAINT ledger_chapters_code_key UNIQUE (year, side, code),
    CONSTRAINT ledger_chapters_title CHECK ((side = 'revenue' AND title BETWEEN 1 AND 5)
                                            OR (side = 'expenditure' AND title BETWEEN 1 AND 4))
);

CREATE TABLE ledger_entries (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    chapter_id       BIGINT NOT NULL REFERENCES ledger_chapters (id),
    kind             TEXT NOT NULL CHECK (kind IN ('allocation', 'variation', 'accertamento', 'riscossione',
                                                   'prenotazione', 'impegno', 'liquidazione', 'economia',
                                                   'pagamento')),
    -- On the residui carried from earlier years rather than on the year's competence.
    residui          BOOLEAN NOT NULL DEFAULT FALSE,
    -- riscossione → accertamento, impegno → prenotazione, liquidazione and economia → impegno,
    -- pagamento → liquidazione.
    parent_id        BIGINT NULL REFERENCES ledger_entries (id),
    -- Signed for variations, positive for everything else.
    amount           NUMERIC(14, 2) NOT NULL,
    -- Cash forecast of an allocation or variation.
    cash_amount      NUMERIC(14, 2) NOT NULL DEFAULT 0,
    entry_date       DATE NOT NULL,
    party            TEXT NOT NULL DEFAULT '',
    party_code       TEXT NOT NULL DEFAULT '',
    iban             TEXT NOT NULL DEFAULT '',
    cig              TEXT NOT NULL DEFAULT '',
    cup              TEXT NOT NULL DEFAULT '',
    reason           TEXT NOT NULL CHECK (btrim(reason) <> ''),
    authorised_by    TEXT NOT NULL DEFAULT ''
                     CHECK (authorised_by IN ('', 'treasurer', 'president', 'president_urgent', 'council')),
    resolution       TEXT NOT NULL DEFAULT '',
    -- The treasurer who countersigned the impegno (attesting the chapter's availability).
    countersigned_by BIGINT NULL REFERENCES users (id),
    -- A pagoPA payment recorded in the ledger: its accertamento and riscossione, once.
    payment_receipt_id BIGINT NULL REFERENCES payment_receipts (id),
    recorded_at      TIMESTAMPTZ NOT NULL,
    recorded_by      BIGINT NULL REFERENCES users (id),
    CONSTRAINT ledger_entries_amount CHECK (kind = 'variation' OR amount > 0)
);
CREATE INDEX ledger_entries_chapter_idx ON ledger_entries (chapter_id, kind);
CREATE UNIQUE INDEX ledger_entries_payment_once ON ledger_entries (payment_receipt_id, kind)
    WHERE payment_receipt_id IS NOT NULL;
CREATE INDEX ledger_entries_parent_idx ON ledger_entries (parent_id) WHERE parent_id IS NOT NULL;

CREATE TRIGGER ledger_year_events_append_only BEFORE UPDATE OR DELETE ON ledger_year_events
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- Nothing is charged to a closed year, whatever the code does.
CREATE FUNCTION ledger_refuse_closed_year() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM ledger_chapters c JOIN ledger_year_events e ON e.year = c.year AND e.kind = 'closed'
               WHERE c.id = NEW.chapter_id) THEN
        RAISE EXCEPTION 'the financial year of chapter % is closed', NEW.chapter_id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER ledger_entries_open_year BEFORE INSERT ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_closed_year();

-- The incasso receipt of a riscossione is a document ordo issues, with its verification code.
ALTER TABLE issued_documents DROP CONSTRAINT issued_documents_kind_check;
ALTER TABLE issued_documents ADD CONSTRAINT issued_documents_kind_check
    CHECK (kind IN ('certificate', 'self_certification', 'card', 'payment_notice', 'receipt', 'ledger_receipt'));
ALTER TABLE issued_documents ADD COLUMN ledger_entry_id BIGINT NULL REFERENCES ledger_entries (id);
CREATE UNIQUE INDEX issued_documents_ledger_entry_key ON issued_documents (ledger_entry_id)
    WHERE ledger_entry_id IS NOT NULL;

-- Petty cash (cassa economale, seed 004 art. 21): small office expenses paid in cash from the year's
-- fund, each within the regulation's limit; append-only, reported every six months.
CREATE TABLE ledger_petty_cash (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    year        INTEGER NOT NULL REFERENCES ledger_years (year),
    entry_date  DATE NOT NULL,
    amount      NUMERIC(14, 2) NOT NULL CHECK (amount > 0),
    payee       TEXT NOT NULL CHECK (btrim(payee) <> ''),
    reason      TEXT NOT NULL CHECK (btrim(reason) <> ''),
    recorded_at TIMESTAMPTZ NOT NULL,
    recorded_by BIGINT NULL REFERENCES users (id),
    CONSTRAINT ledger_petty_cash_in_year CHECK (extract(year FROM entry_date) = year)
);
CREATE INDEX ledger_petty_cash_year_idx ON ledger_petty_cash (year, entry_date);
CREATE TRIGGER ledger_petty_cash_append_only BEFORE UPDATE OR DELETE ON ledger_petty_cash
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
