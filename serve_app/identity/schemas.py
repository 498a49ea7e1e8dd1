"""Request and response shapes of the identity API: one class per use.

Input models forbid unknown fields, so `role` (or anything else) cannot be
slipped into a profile update. Validation messages never contain the input:
the error handler echoes only `loc`, `msg` and `type`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from serve_app.identity.countries import ISO_3166_ALPHA2
from serve_app.identity.tokens import Role

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128
# Sign-in accepts any password up to this length (it is only ever compared).
MAX_LOGIN_PASSWORD_LENGTH = 1024
MAX_EMAIL_LENGTH = 254

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+$")


def normalize_email(value: str) -> str:
    """The stored form: trimmed and lower-cased, so uniqueness ignores case."""
    return value.strip().lower()


def _valid_email(value: str) -> str:
    value = normalize_email(value)
    if len(value) > MAX_EMAIL_LENGTH or not _EMAIL.match(value):
        raise ValueError("not a valid email address")
    return value


def _valid_country(value: str) -> str:
    value = value.strip().upper()
    if value not in ISO_3166_ALPHA2:
        raise ValueError("not an ISO 3166-1 alpha-2 country code")
    return value


Email = Annotated[str, StringConstraints(max_length=MAX_EMAIL_LENGTH + 64), AfterValidator(_valid_email)]
LoginEmail = Annotated[str, StringConstraints(max_length=MAX_EMAIL_LENGTH + 64), AfterValidator(normalize_email)]
# Length only, no composition rules (NIST SP 800-63B); never stripped.
Password = Annotated[str, StringConstraints(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)]
LoginPassword = Annotated[str, StringConstraints(min_length=1, max_length=MAX_LOGIN_PASSWORD_LENGTH)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Country = Annotated[str, StringConstraints(min_length=2, max_length=3), AfterValidator(_valid_country)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9 ()./-]{3,32}$")]
Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
OptionalLine = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
PostalCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegisterRequest(_Input):
    email: Email
    password: Password
    name: Name
    # `admin` passes validation so the service can refuse it with its own code (403 role_not_allowed).
    role: Role = "shopper"


class LoginRequest(_Input):
    email: LoginEmail
    password: LoginPassword


class RefreshRequest(_Input):
    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class NotificationPreferences(BaseModel):
    email: bool = True
    sms: bool = True


class NotificationPreferencesUpdate(_Input):
    email: bool | None = None
    sms: bool | None = None


class UserUpdate(_Input):
    """Changing the email or the password needs the current password."""

    name: Name | None = None
    email: Email | None = None
    notification_preferences: NotificationPreferencesUpdate | None = None
    current_password: LoginPassword | None = None
    new_password: Password | None = None


class UserPublic(BaseModel):
    id: str
    email: str
    name: str
    role: Role
    notification_preferences: NotificationPreferences
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, user) -> UserPublic:
        return cls(
            id=str(user.id), email=user.email, name=user.name, role=user.role,
            notification_preferences=NotificationPreferences(email=user.notify_email, sms=user.notify_sms),
            created_at=user.created_at.astimezone(UTC), updated_at=user.updated_at.astimezone(UTC),
        )


class AuthResponse(BaseModel):
    user: UserPublic
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Access token lifetime in seconds")


class VerifyResponse(BaseModel):
    user: UserPublic


class AddressCreate(_Input):
    name: Name
    line1: Line
    line2: OptionalLine | None = None
    city: Line
    region: OptionalLine | None = None
    postal_code: PostalCode
    country: Country
    phone: Phone | None = None


# Fields an update may set to null (clearing them); the others may only be replaced.
NULLABLE_ADDRESS_FIELDS = frozenset({"line2", "region", "phone"})


class AddressUpdate(_Input):
    name: Name | None = None
    line1: Line | None = None
    line2: OptionalLine | None = None
    city: Line | None = None
    region: OptionalLine | None = None
    postal_code: PostalCode | None = None
    country: Country | None = None
    phone: Phone | None = None

    @model_validator(mode="after")
    def _required_fields_not_null(self) -> AddressUpdate:
        for field in self.model_fields_set - NULLABLE_ADDRESS_FIELDS:
            if getattr(self, field) is None:
                raise ValueError(f"{field} cannot be null")
        return self

    def changes(self) -> dict[str, str | None]:
        return {field: getattr(self, field) for field in self.model_fields_set}


class AddressPublic(BaseModel):
    id: str
    name: str
    line1: str
    line2: str | None = None
    city: str
    region: str | None = None
    postal_code: str
    country: str
    phone: str | None = None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: dict) -> AddressPublic:
        return cls(**{**row, "id": str(row["id"]), "country": row["country"].strip(),
                      "created_at": row["created_at"].astimezone(UTC),
                      "updated_at": row["updated_at"].astimezone(UTC)})


class AddressPage(BaseModel):
    items: list[AddressPublic]
    next_cursor: str | None = None
