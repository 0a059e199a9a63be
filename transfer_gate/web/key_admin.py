"""Key management over HTTP for the `admin` role: create, list and revoke API keys.

The same operations as `transfer-gate keys …`; a new key is shown once, in the 201 answer.
Every change is written to the application log with the admin key that made it.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from marshmallow import ValidationError
from werkzeug.exceptions import Conflict, NotFound

from ..errors import RequestInvalid
from ..keys import ConfiguredKey, UnknownKey
from ..schemas import NewKeySchema, flatten_errors
from .access import keyring
from .api import json_body
from .identity import caller

bp = Blueprint("keys", __name__)


@bp.get("/v1/keys")
def list_keys():
    """List every API key without its secret, revoked ones included.
    ---
    get:
      tags: [keys]
      summary: List API keys
      responses:
        200:
          description: Configured keys (from TRANSFER_GATE_API_KEYS) first, then stored keys, oldest first.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/KeyList'}
    """
    return jsonify({"keys": [k.to_dict() for k in keyring().list()]})


@bp.post("/v1/keys")
def create_key():
    """Create an API key with a role; the answer is the only time the key is shown.
    ---
    post:
      tags: [keys]
      summary: Create an API key
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/NewKey'}
      responses:
        201:
          description: The new key. Only its hash is stored; the key itself cannot be shown again.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/CreatedKey'}
        400: {$ref: '#/components/responses/MalformedJson'}
        413: {$ref: '#/components/responses/BodyTooLarge'}
        415: {$ref: '#/components/responses/NotJson'}
        422: {$ref: '#/components/responses/InvalidRequest'}
    """
    body = json_body()
    if not isinstance(body, dict):
        raise RequestInvalid({"$": ["The request must be a JSON object."]})
    try:
        role = NewKeySchema().load(body)["role"]
    except ValidationError as err:
        raise RequestInvalid(flatten_errors(err.messages)) from None
    record, key = keyring().create(role)
    current_app.logger.info("key %s (%s) created by %s", record.key_id, record.role, caller()[0])
    return jsonify(dict(record.to_dict(), key=key)), 201


@bp.delete("/v1/keys/<key_id>")
def revoke_key(key_id):
    """Revoke a stored key: from now on it authenticates nothing (revoking twice changes nothing).
    ---
    delete:
      tags: [keys]
      summary: Revoke an API key
      parameters:
        - name: key_id
          in: path
          required: true
          schema: {type: string}
      responses:
        200:
          description: The revoked key.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Key'}
        404: {$ref: '#/components/responses/NotFound'}
        409:
          description: The key is configured in TRANSFER_GATE_API_KEYS and can only be removed there.
          content:
            application/problem+json:
              schema: {$ref: '#/components/schemas/Problem'}
    """
    try:
        record = keyring().revoke(key_id)
    except UnknownKey as exc:
        raise NotFound(str(exc)) from None
    except ConfiguredKey as exc:
        raise Conflict(str(exc)) from None
    current_app.logger.info("key %s (%s) revoked by %s", record.key_id, record.role, caller()[0])
    return jsonify(record.to_dict())
