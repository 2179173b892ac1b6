"""The token cache's sealed format (daemon/seal.h), written again from its description with
python3-cryptography, so that the tests read exod's files as an independent program would."""

import base64
import hashlib
import hmac

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"EXODRTC"
VERSION = 1
HEADER = 28         # magic 7, version 1, key id 8, nonce 12
TAG = 16


def read_key(path):
    """The 32 bytes of a cache_key_file: raw, 64 hex digits or 44 base64 characters."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) == 32:
        return data
    text = data[:-1] if data.endswith(b"\n") else data
    text = text[:-1] if data.endswith(b"\r\n") else text
    if len(text) == 64:
        return bytes.fromhex(text.decode())
    if len(text) == 44:
        return base64.b64decode(text, validate=True)
    raise ValueError("%s: not a key" % path)


def derive(key, label):
    return hmac.new(key, label, hashlib.sha256).digest()


def is_sealed(data):
    return data.startswith(MAGIC)


def unseal(data, key, profile):
    """The JSON text a sealed cache file holds; raises on any mismatch."""
    assert data[:7] == MAGIC and data[7] == VERSION, data[:8]
    key_id = derive(key, b"exod token cache v1 key id")[:8]
    assert data[8:16] == key_id, "sealed under another key"
    aes = AESGCM(derive(key, b"exod token cache v1 encryption"))
    return aes.decrypt(data[16:28], data[28:], data[:16] + profile.encode()).decode()

