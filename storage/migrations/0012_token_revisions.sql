-- When a user's access tokens were last revoked (token_generation bumped or
-- the account erased); NULL until the first time. Each Serve replica polls
-- for rows revised since its previous poll, once a second, instead of looking
-- the user up on every request (serve_app/identity/revocation.py).
ALTER TABLE users ADD COLUMN tokens_revised_at timestamptz;
-- Partial: most users never revoke anything, so the poll's index stays small.
CREATE INDEX users_tokens_revised ON users (tokens_revised_at) WHERE tokens_revised_at IS NOT NULL;
