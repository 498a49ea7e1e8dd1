-- Accounts. Emails are stored trimmed and lower-cased; uniqueness is on that form.
CREATE TABLE users (
    id              uuid PRIMARY KEY,
    email           text NOT NULL,
    name            text NOT NULL,
    role            text NOT NULL CHECK (role IN ('shopper', 'seller', 'admin')),
    password_hash   text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    deleted_at      timestamptz,
    -- Bumped by a password change or an erasure; access tokens carry the value
    -- they were issued under (claim `gen`) and are refused once it moves on.
    token_generation integer NOT NULL DEFAULT 0 CHECK (token_generation >= 0),
    -- Opt-outs for transactional notifications: true means "send to me".
    notify_email    boolean NOT NULL DEFAULT true,
    notify_sms      boolean NOT NULL DEFAULT true
);
CREATE UNIQUE INDEX users_email_unique ON users (email);

-- Shipping addresses; deleted with the account's personal data on erasure.
CREATE TABLE addresses (
    id              uuid PRIMARY KEY,
    user_id         uuid NOT NULL REFERENCES users (id),
    name            text NOT NULL,
    line1           text NOT NULL,
    line2           text,
    city            text NOT NULL,
    region          text,
    postal_code     text NOT NULL,
    country         char(2) NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
    phone           text,
    -- clock_timestamp: distinct, ordered times for the keyset cursor.
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at      timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX addresses_by_user ON addresses (user_id, created_at, id);

-- Refresh tokens: one family per sign-in; every use rotates within the family.
-- Presenting a spent token revokes the whole family (theft detection).
CREATE TABLE refresh_families (
    id              uuid PRIMARY KEY,
    user_id         uuid NOT NULL REFERENCES users (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    revoked_at      timestamptz,
    revoked_reason  text
);
CREATE INDEX refresh_families_live_by_user ON refresh_families (user_id) WHERE revoked_at IS NULL;

-- Only the SHA-256 of a refresh token is stored, never the token.
CREATE TABLE refresh_tokens (
    token_hash      bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    family_id       uuid NOT NULL REFERENCES refresh_families (id),
    user_id         uuid NOT NULL REFERENCES users (id),
    issued_at       timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    spent_at        timestamptz
);
CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family_id);

-- Failed sign-ins per key (a hashed email or client address), in a fixed window.
-- Shared by every Serve replica, so the limits hold however many there are.
CREATE TABLE login_failures (
    scope           text NOT NULL CHECK (scope IN ('email', 'client')),
    key_hash        bytea NOT NULL,
    failures        integer NOT NULL,
    window_started  timestamptz NOT NULL,
    PRIMARY KEY (scope, key_hash)
);
