"""Access tokens: HS256, EdDSA and RS256 key files, pinned algorithms, required claims."""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from config import Settings
from domain.errors import Unauthenticated
from serve_app.identity.tokens import TokenService

SECRET = "s" * 48


def _write_keys(tmp_path, private_key, name):
    private = tmp_path / f"{name}.pem"
    public = tmp_path / f"{name}.pub.pem"
    private.write_bytes(private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ))
    public.write_bytes(private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ))
    return private, public


@pytest.fixture(params=["EdDSA", "RS256"])
def key_settings(request, tmp_path):
    if request.param == "EdDSA":
        key = ed25519.Ed25519PrivateKey.generate()
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private, public = _write_keys(tmp_path, key, request.param)
    return Settings(state_dir=tmp_path, jwt_algorithm=request.param,
                    jwt_private_key_file=private, jwt_public_key_file=public).with_secrets()


def test_key_file_algorithms_round_trip(key_settings):
    tokens = TokenService(key_settings)
    token = tokens.issue("user-1", "seller", generation=3)
    assert jwt.get_unverified_header(token)["alg"] == key_settings.jwt_algorithm
    principal = tokens.verify(token)
    assert (principal.user_id, principal.role, principal.generation) == ("user-1", "seller", 3)


def test_key_file_token_from_another_key_is_refused(key_settings, tmp_path):
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    key = (ed25519.Ed25519PrivateKey.generate() if key_settings.jwt_algorithm == "EdDSA"
           else rsa.generate_private_key(public_exponent=65537, key_size=2048))
    private, public = _write_keys(other_dir, key, "other")
    forger = TokenService(key_settings.model_copy(update={"jwt_private_key_file": private,
                                                          "jwt_public_key_file": public}))
    with pytest.raises(Unauthenticated) as caught:
        TokenService(key_settings).verify(forger.issue("user-1", "admin"))
    assert caught.value.code == "invalid_token"


def test_hs256_signed_with_the_public_key_is_refused(key_settings):
    """The classic algorithm confusion: the public key used as an HMAC secret."""
    claims = {"sub": "u", "role": "admin", "iat": int(time.time()), "exp": int(time.time()) + 60,
              "iss": key_settings.jwt_issuer, "aud": key_settings.jwt_audience, "jti": "x"}
    public = key_settings.jwt_public_key_file.read_bytes()
    unsigned = jwt.encode(claims, None, algorithm="none")
    for token in (unsigned, _hmac_token(claims, public)):
        with pytest.raises(Unauthenticated) as caught:
            TokenService(key_settings).verify(token)
        assert caught.value.code == "invalid_token"


def _hmac_token(claims: dict, key: bytes) -> str:
    import base64
    import hashlib
    import hmac
    import json

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = f"{b64(json.dumps({'alg': 'HS256', 'typ': 'JWT'}).encode())}.{b64(json.dumps(claims).encode())}"
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def test_generation_claim_defaults_to_zero_and_must_be_a_count(tmp_path):
    settings = Settings(state_dir=tmp_path, jwt_secret=SECRET)
    tokens = TokenService(settings)
    now = int(time.time())
    base = {"sub": "u", "role": "shopper", "iat": now, "exp": now + 60,
            "iss": settings.jwt_issuer, "aud": settings.jwt_audience, "jti": "j"}
    assert tokens.verify(jwt.encode(base, SECRET, algorithm="HS256")).generation == 0
    for bad in (-1, "1", 1.5, True):
        with pytest.raises(Unauthenticated):
            tokens.verify(jwt.encode({**base, "gen": bad}, SECRET, algorithm="HS256"))


def test_expired_and_missing_claims(tmp_path):
    settings = Settings(state_dir=tmp_path, jwt_secret=SECRET)
    tokens = TokenService(settings)
    with pytest.raises(Unauthenticated) as caught:
        tokens.verify(tokens.issue("u", "shopper", now=time.time() - settings.access_token_ttl_s - 5))
    assert caught.value.code == "token_expired"
    now = int(time.time())
    without_jti = {"sub": "u", "role": "shopper", "iat": now, "exp": now + 60,
                   "iss": settings.jwt_issuer, "aud": settings.jwt_audience}
    with pytest.raises(Unauthenticated) as caught:
        tokens.verify(jwt.encode(without_jti, SECRET, algorithm="HS256"))
    assert caught.value.code == "invalid_token"


def test_a_verified_token_is_remembered_but_still_expires(tmp_path, monkeypatch):
    tokens = TokenService(Settings(state_dir=tmp_path, jwt_secret=SECRET))
    token = tokens.issue("u", "shopper")
    first = tokens.verify(token)
    decodes = []
    monkeypatch.setattr(jwt, "decode", lambda *a, **k: decodes.append(a) or pytest.fail("decoded again"))
    assert tokens.verify(token) == first and decodes == []  # from memory: no signature check
    monkeypatch.undo()
    with pytest.raises(Unauthenticated):  # a different string is never served from memory
        tokens.verify(token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    monkeypatch.setattr(time, "time", lambda: first.expires_at)  # PyJWT: expired once exp <= now
    with pytest.raises(Unauthenticated) as caught:
        tokens.verify(token)
    assert caught.value.code == "token_expired"


def test_remembered_tokens_are_bounded(tmp_path, monkeypatch):
    from serve_app.identity import tokens as module

    monkeypatch.setattr(module, "VERIFIED_CACHE_MAX", 3)
    tokens = TokenService(Settings(state_dir=tmp_path, jwt_secret=SECRET))
    issued = [tokens.issue(f"u{i}", "shopper") for i in range(5)]
    for token in issued:
        tokens.verify(token)
    assert list(tokens._verified) == issued[2:]  # the oldest went first
