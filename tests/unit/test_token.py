"""Bearer tokens are signed with HMAC-SHA256 (shared.auth), checked without the database."""

import time

import pytest
from itsdangerous import URLSafeSerializer

from shared import auth, settings


def _payload() -> list:
    return ["0123456789abcdef", "kpps", "3517010001001", int(time.time()) + 3600]


def test_a_token_signed_with_the_key_verifies_with_its_role_wilayah_and_expiry():
    tok = auth.verify(auth._serializer().dumps(_payload()))
    assert (tok.id, tok.peran, tok.wilayah) == ("0123456789abcdef", "kpps", "3517010001001")
    assert tok.minimal("kpps") and not tok.minimal("pps") and tok.mencakup("3517010001001")


def test_the_signature_is_hmac_sha256_not_itsdangerous_default_sha1():
    raw = auth._serializer().dumps(_payload())
    assert len(raw.rpartition(".")[2]) == 43  # 32 bytes, base64url without padding
    sha1 = URLSafeSerializer(settings.load().secret_key, salt=auth.SALT).dumps(_payload())
    with pytest.raises(auth.TokenError):
        auth.verify(sha1)


def test_an_expired_or_unknown_role_token_is_refused_without_the_database():
    for payload in (["x", "kpps", "3517010001001", int(time.time()) - 1], ["x", "raja", "0", int(time.time()) + 60]):
        with pytest.raises(auth.TokenError):
            auth.verify(auth._serializer().dumps(payload))
