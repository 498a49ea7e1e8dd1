"""Refresh-token rules as a pure function of what the database holds."""

from __future__ import annotations

import hashlib

from serve_app.identity.refresh import Verdict, digest, judge, new_refresh_token

LIVE = {"spent": False, "expired": False, "family_revoked": False, "user_deleted": False}


def test_new_token_is_random_and_only_its_digest_is_kept():
    token, stored = new_refresh_token()
    other, _ = new_refresh_token()
    assert token != other and len(token) >= 43
    assert stored == hashlib.sha256(token.encode()).digest() == digest(token)
    assert token.encode() not in stored


def test_verdicts():
    assert judge(None) is Verdict.UNKNOWN
    assert judge(LIVE) is Verdict.VALID
    assert judge({**LIVE, "spent": True}) is Verdict.REUSED
    assert judge({**LIVE, "expired": True}) is Verdict.EXPIRED
    assert judge({**LIVE, "family_revoked": True}) is Verdict.REVOKED
    assert judge({**LIVE, "user_deleted": True}) is Verdict.REVOKED
    # A spent token of a family already revoked (e.g. after logout) does not count as theft again.
    assert judge({**LIVE, "spent": True, "family_revoked": True}) is Verdict.REVOKED


def test_only_reuse_revokes_the_family():
    assert [v for v in Verdict if v.revokes_family] == [Verdict.REUSED]
    assert all(v.message for v in Verdict if v is not Verdict.VALID)
