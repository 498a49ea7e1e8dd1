"""The API's default response class: JSON encoded by orjson.

FastAPI deprecated its own `ORJSONResponse` in favour of pydantic encoding a
route's declared response model. Most routes here return plain dicts (the
views the actors and services build), which FastAPI would otherwise encode
with the standard library's `json`, several times slower than orjson.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse


class OrjsonResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)
