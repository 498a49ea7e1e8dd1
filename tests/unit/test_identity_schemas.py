"""Input rules: email form, password length, ISO country codes, no mass assignment."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from serve_app.identity.countries import ISO_3166_ALPHA2
from serve_app.identity.schemas import AddressCreate, AddressUpdate, LoginRequest, RegisterRequest, UserUpdate

ADDRESS = {"name": "Ada", "line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "us"}


def register(**overrides):
    return RegisterRequest(**{"email": "a@example.com", "password": "x" * 8, "name": "Ada", **overrides})


def test_email_is_trimmed_and_lower_cased():
    assert register(email="  Ada.Lovelace@Example.COM ").email == "ada.lovelace@example.com"
    assert LoginRequest(email=" A@B.CO ", password="x").email == "a@b.co"


@pytest.mark.parametrize("email", ["", "plain", "a@b", "a@@b.com", "a b@c.com", "@b.com", "a@.com",
                                   "a@b..com", "deleted-1@invalid", "x" * 65 + "@b.com"])
def test_bad_emails_are_refused_without_echoing_them(email):
    with pytest.raises(ValidationError) as caught:
        register(email=email)
    if email:
        assert email not in str(caught.value.errors(include_input=False))


@pytest.mark.parametrize(("length", "ok"), [(7, False), (8, True), (128, True), (129, False)])
def test_password_length_8_to_128_without_composition_rules(length, ok):
    if ok:
        assert register(password="a" * length).password == "a" * length
    else:
        with pytest.raises(ValidationError):
            register(password="a" * length)


def test_password_is_not_stripped():
    assert register(password="  spaced  ").password == "  spaced  "


def test_role_defaults_to_shopper_and_unknown_roles_fail_validation():
    assert register().role == "shopper"
    assert register(role="admin").role == "admin"  # refused by the service, with its own code
    with pytest.raises(ValidationError):
        register(role="superuser")


def test_unknown_fields_are_refused():
    with pytest.raises(ValidationError):
        register(is_admin=True)
    with pytest.raises(ValidationError):
        UserUpdate(role="admin")


def test_country_codes():
    assert len(ISO_3166_ALPHA2) == 249
    assert {"US", "GB", "DE", "JP", "BR", "ZA", "AX", "SS"} <= ISO_3166_ALPHA2
    assert "UK" not in ISO_3166_ALPHA2 and "XK" not in ISO_3166_ALPHA2
    assert AddressCreate(**ADDRESS).country == "US"
    for bad in ("UK", "XX", "USA", "1"):
        with pytest.raises(ValidationError):
            AddressCreate(**{**ADDRESS, "country": bad})


def test_address_update_clears_optional_fields_only():
    assert AddressUpdate(line2=None, phone=None).changes() == {"line2": None, "phone": None}
    assert AddressUpdate(city=" Paris ").changes() == {"city": "Paris"}
    for required in ("name", "line1", "city", "postal_code", "country"):
        with pytest.raises(ValidationError):
            AddressUpdate(**{required: None})


def test_phone_pattern():
    assert AddressCreate(**ADDRESS, phone="+1 (555) 010-9999").phone == "+1 (555) 010-9999"
    with pytest.raises(ValidationError):
        AddressCreate(**ADDRESS, phone="call me")
