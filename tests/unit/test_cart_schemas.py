"""Cart request bodies: a quantity is a strict integer >= 1; nothing else is accepted."""

import json

import pytest
from pydantic import ValidationError

from serve_app.cart.schemas import CartItemAdd, CartItemUpdate


def test_valid_add_keeps_the_product_id_as_sent():
    item = CartItemAdd.model_validate_json(json.dumps({"product_id": "not-a-uuid", "quantity": 3}))
    assert (item.product_id, item.quantity) == ("not-a-uuid", 3)  # the service answers 404 for it


@pytest.mark.parametrize("quantity", [0, -1, 1.0, 1.5, "2", True, None, 2**31])
def test_bad_quantities_are_refused(quantity):
    with pytest.raises(ValidationError):
        CartItemAdd.model_validate_json(json.dumps({"product_id": "x", "quantity": quantity}))
    with pytest.raises(ValidationError):
        CartItemUpdate.model_validate_json(json.dumps({"quantity": quantity}))


@pytest.mark.parametrize("body", [{"quantity": 1}, {"product_id": "x"}, {"product_id": 5, "quantity": 1},
                                  {"product_id": "x", "quantity": 1, "extra": 1}])
def test_missing_wrong_type_and_unknown_fields_are_refused(body):
    with pytest.raises(ValidationError):
        CartItemAdd.model_validate_json(json.dumps(body))
