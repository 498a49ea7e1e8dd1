"""SMS through Twilio's REST API (Messages resource), with httpx.

Used only when all three Twilio settings are given; never in tests, which
hand the adapter an `httpx.MockTransport` instead of the network.
"""

from __future__ import annotations

import httpx

from serve_app.notifications.transport import DeliveryFailed, Outgoing

TWILIO_API = "https://api.twilio.com/2010-04-01"
TIMEOUT_S = 10.0


class TwilioSms:
    provider = "twilio"

    def __init__(
        self, account_sid: str, auth_token: str, from_number: str, *,
        client: httpx.AsyncClient | None = None, base_url: str = TWILIO_API,
    ):
        self._url = f"{base_url}/Accounts/{account_sid}/Messages.json"
        self._auth = httpx.BasicAuth(account_sid, auth_token)
        self._from = from_number
        self._client = client or httpx.AsyncClient(timeout=TIMEOUT_S)

    async def send(self, message: Outgoing) -> str:
        form = {"To": message.recipient, "From": self._from, "Body": message.body}
        try:
            response = await self._client.post(self._url, data=form, auth=self._auth)
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"twilio: {exc!r}"[:500], permanent=False) from None
        if response.status_code in (200, 201):
            return str(response.json()["sid"])
        try:
            detail = response.json().get("message", "")
        except ValueError:
            detail = ""
        # 4xx (a bad number, an unverified recipient) will fail again; 429 and 5xx may not.
        permanent = 400 <= response.status_code < 500 and response.status_code != 429
        raise DeliveryFailed(f"twilio answered {response.status_code}: {detail}"[:500], permanent=permanent)

    async def close(self) -> None:
        await self._client.aclose()
