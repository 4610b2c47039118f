"""Bearer tokens and roles.

A token is `id.role.wilayah.expiry` signed with SECRET_KEY (itsdangerous,
HMAC-SHA256). The database keeps the id, what it grants and whether it was
revoked, never the key: a database reader cannot forge a token. A revoked
token stops writing C.Hasil at once (the statement that stores one checks
the token's row) and stops everything else within REVOCATION_CACHE seconds.

Each role acts inside its wilayah, a code prefix, and ranks by breadth:
kpps (one TPS) < pps (desa) < ppk (kecamatan) < kpu_kab < kpu_prov < kpu.
"""

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import Connection, text

from shared import audit, settings
from shared.domain import wilayah as w

PERAN = {"kpps": "tps", "pps": "desa", "ppk": "kecamatan", "kpu_kab": "kabupaten",
         "kpu_prov": "provinsi", "kpu": "nasional"}
RANK = {peran: i for i, peran in enumerate(PERAN)}
REVOCATION_CACHE = 5.0  # seconds a token's database row is trusted without a new look-up


@dataclass(frozen=True)
class Token:
    id: str
    peran: str
    wilayah: str
    kedaluwarsa: float  # unix time

    @property
    def subjek(self) -> str:
        return f"{self.peran}:{self.wilayah}:{self.id}"

    def mencakup(self, kode: str) -> bool:
        """Does this token's wilayah contain the region `kode`?"""
        return w.di_dalam(kode, self.wilayah)

    def minimal(self, peran: str) -> bool:
        """Is this role at least as wide as `peran`?"""
        return RANK[self.peran] >= RANK[peran]


class TokenError(Exception):
    """No valid token: bad signature, expired, revoked or unknown."""


SALT = "rekap-token"
_serializers: dict[str, URLSafeSerializer] = {}


def _serializer() -> URLSafeSerializer:
    key = settings.load().secret_key
    if key not in _serializers:
        # SHA-256 named: itsdangerous signs with SHA-1 unless told otherwise.
        _serializers[key] = URLSafeSerializer(key, salt=SALT, signer_kwargs={"digest_method": hashlib.sha256})
    return _serializers[key]


def issue(conn: Connection, peran: str, wilayah: str, ttl: timedelta, subjek: str = "",
          oleh: str = "cli") -> tuple[str, Token]:
    if peran not in PERAN:
        raise ValueError(f"unknown role {peran!r}; one of {', '.join(PERAN)}")
    if w.tingkat(wilayah) != PERAN[peran]:
        raise ValueError(f"role {peran} acts on a {PERAN[peran]}, not on {wilayah!r} ({w.tingkat(wilayah)})")
    exp = datetime.now(timezone.utc) + ttl
    tok = Token(secrets.token_hex(8), peran, wilayah, exp.timestamp())
    conn.execute(text("""INSERT INTO token (id, peran, kode_wilayah, subjek, kedaluwarsa)
                         VALUES (:id, :peran, :wilayah, :subjek, :exp)"""),
                 {"id": tok.id, "peran": peran, "wilayah": wilayah, "subjek": subjek or tok.subjek, "exp": exp})
    audit.record(conn, oleh, "token_terbit", wilayah, token=tok.id, peran=peran, kedaluwarsa=exp.isoformat())
    return _serializer().dumps([tok.id, peran, wilayah, int(tok.kedaluwarsa)]), tok


def revoke(conn: Connection, token_id: str, oleh: str = "cli") -> bool:
    row = conn.execute(text("""UPDATE token SET dicabut = now() WHERE id = :id AND dicabut IS NULL
                               RETURNING kode_wilayah"""), {"id": token_id}).first()
    if row is None:
        return False
    audit.record(conn, oleh, "token_cabut", row.kode_wilayah, token=token_id)
    return True


_known: dict[str, float] = {}  # token id -> when its row was last seen valid
_verified: dict[str, tuple] = {}  # raw token -> its checked payload: the signature is checked once


def _payload(raw: str) -> tuple:
    """The signature-checked (id, peran, wilayah, expiry) of a token; TokenError if forged."""
    payload = _verified.get(raw)
    if payload is None:
        try:
            token_id, peran, wilayah, exp = _serializer().loads(raw)
        except (BadSignature, ValueError, TypeError) as exc:
            raise TokenError("signature") from exc
        payload = (str(token_id), str(peran), str(wilayah), float(exp))
        if len(_verified) > 100_000:  # a kabupaten's tokens fit many times over
            _verified.clear()
        _verified[raw] = payload
    return payload


def peek(raw: str) -> tuple[str, str] | None:
    """(peran, token id) of a genuine token, without the database (rate limits, logs);
    None when forged. Not an authorization: expiry and revocation are not checked."""
    try:
        token_id, peran, _, _ = _payload(raw)
    except TokenError:
        return None
    return peran, token_id


def verify(raw: str) -> Token:
    """A bearer token's signature, role and expiry, without the database; TokenError if it
    must be refused. Its row (issued, not revoked) is still to be checked: check() does,
    and so does the statement that stores a C.Hasil (services/intake/store.py)."""
    token_id, peran, wilayah, exp = _payload(raw)
    if peran not in PERAN:
        raise TokenError("role")
    if exp < time.time():
        raise TokenError("expired")
    return Token(token_id, peran, wilayah, exp)


def check(conn_factory, raw: str) -> Token:
    """Verify a bearer token, its row included; TokenError if it must be refused."""
    tok = verify(raw)
    seen = _known.get(tok.id)
    if seen is None or time.monotonic() - seen > REVOCATION_CACHE:
        with conn_factory() as conn:
            row = conn.execute(text("SELECT dicabut FROM token WHERE id = :id"), {"id": tok.id}).first()
        if row is None or row.dicabut is not None:
            _known.pop(tok.id, None)
            raise TokenError("revoked")
        _known[tok.id] = time.monotonic()
    return tok


def parse_ttl(value: str) -> timedelta:
    """'3d', '12h', '30m' -> timedelta."""
    units = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
    if not value or value[-1] not in units or not (value[:-1].isascii() and value[:-1].isdigit()):
        raise ValueError(f"TTL like 3d, 12h or 30m, not {value!r}")
    return timedelta(**{units[value[-1]]: int(value[:-1])})
