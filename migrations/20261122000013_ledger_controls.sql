-- The ledger's controls after the impegno is recorded (seed 004, SPEC §6): the treasurer's
-- countersignature of impegni recorded by others, the council's ratification of the president's urgent
-- impegni, and earmarked funds (grants with their CUP, e.g. the PNRR one of seed 000) followed from
-- accertamento to spending. All append-only: a control, once given, is history.

CREATE TABLE ledger_countersignatures (
    entry_id BIGINT PRIMARY KEY REFERENCES ledger_entries (id),
    by_user  BIGINT NOT NULL REFERENCES users (id),
    at       TIMESTAMPTZ NOT NULL
);

CREATE TABLE ledger_ratifications (
    entry_id        BIGINT PRIMARY KEY REFERENCES ledger_entries (id),
    resolution      TEXT NOT NULL CHECK (btrim(resolution) <> ''),
    resolution_date DATE NOT NULL,
    at              TIMESTAMPTZ NOT NULL,
    by_user         BIGINT NULL REFERENCES users (id)
);

CREATE TABLE ledger_funds (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Codice Unico di Progetto: 15 characters.
    cup        TEXT NOT NULL UNIQUE CHECK (cup ~ '^[A-Z0-9]{15}$'),
    name       TEXT NOT NULL CHECK (btrim(name) <> ''),
    grantor    TEXT NOT NULL CHECK (btrim(grantor) <> ''),
    purpose    TEXT NOT NULL CHECK (btrim(purpose) <> ''),
    amount     NUMERIC(14, 2) NOT NULL CHECK (amount > 0),
    created_at TIMESTAMPTZ NOT NULL,
    created_by BIGINT NULL REFERENCES users (id)
);

-- The entries of a fund are those that carry its CUP: an accertamento or impegno charged to the fund
-- gets it, their riscossioni, liquidazioni, pagamenti and residui copy it.

CREATE TRIGGER ledger_countersignatures_append_only BEFORE UPDATE OR DELETE ON ledger_countersignatures
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER ledger_ratifications_append_only BEFORE UPDATE OR DELETE ON ledger_ratifications
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER ledger_funds_append_only BEFORE UPDATE OR DELETE ON ledger_funds
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
