"""The desk's guards: argon2id password hashes, sign-in throttling, CSRF tokens, the request body
limit and the security headers every response carries."""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from argon2 import PasswordHasher
from starlette.exceptions import HTTPException
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MAX_BODY = 64 << 20            # 64 MB, as FILE_TOO_LARGE for a run
MIN_PASSWORD = 10
MAX_FAILS = 5                  # failed sign-ins in a row before the account waits
LOCK_MINUTES = 15

# argon2id with OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): about 0.1 s a sign-in
# here, where the library's RFC 9106 profile (64 MiB, 4 lanes) took 0.9 s of a 2-core server's
# time per attempt. A hash made with other parameters still verifies (they are in the hash).
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
_DUMMY = _hasher.hash(secrets.token_hex(16))   # unknown names cost as much as wrong passwords


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def password_problem(password: str) -> str | None:
    if len(password) < MIN_PASSWORD:
        return f"密码至少 {MIN_PASSWORD} 位"
    if len(set(password)) < 4:
        return "密码过于简单"
    return None


def fingerprint(stored_hash: str) -> str:
    """Bound into the session: a changed password ends every session of the account."""
    return hashlib.sha256(stored_hash.encode()).hexdigest()[:16]


def new_token() -> str:
    return secrets.token_urlsafe(32)


def same_token(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


def load_secret(path: Path) -> str:
    """The key that signs session cookies: made once (owner-only file) and kept."""
    path = Path(path)
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with open(fd, "w") as fh:
        fh.write(key)
    return key


# ---------------------------------------------------------------------------- per-unit sign-in links
LINK_DAYS = 14


def link_token(secret: str, account: dict) -> str:
    """A sign-in link's token for an account: signed with the desk's key, bound to the account's
    password hash (a changed password voids every link), valid LINK_DAYS days."""
    from itsdangerous import URLSafeTimedSerializer

    return URLSafeTimedSerializer(secret, salt="selfeval-link").dumps(
        {"uid": account["id"], "pw": fingerprint(account["password"])})


def read_link(secret: str, token: str) -> dict | None:
    """{uid, pw} of a good, unexpired token; None otherwise."""
    from itsdangerous import BadData, URLSafeTimedSerializer

    try:
        data = URLSafeTimedSerializer(secret, salt="selfeval-link").loads(token, max_age=LINK_DAYS * 86400)
    except BadData:
        return None
    return data if isinstance(data, dict) and isinstance(data.get("uid"), int) else None


# ---------------------------------------------------------------------------- ASGI middleware
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
HEADERS = [(b"content-security-policy", CSP.encode()),
           (b"x-content-type-options", b"nosniff"),
           (b"x-frame-options", b"DENY"),
           (b"referrer-policy", b"same-origin"),
           (b"cross-origin-opener-policy", b"same-origin"),
           (b"permissions-policy", b"camera=(), microphone=(), geolocation=()")]

HSTS = (b"strict-transport-security", b"max-age=31536000")

TOO_LARGE = ("<!doctype html><meta charset=utf-8><title>文件过大</title>"
             "<p>上传的内容超过 64 MB，未予接收。自评表通常不到 1 MB，请检查是否选错了文件。</p>").encode()


class Guard:
    """Security headers on every response (no-store for pages), and the body limit: a request
    declaring more than MAX_BODY bytes gets 413 before any of it is read; one that sends more
    (chunked) stops being read there and gets the app's own 413 page."""

    def __init__(self, app, max_body: int = MAX_BODY):
        self.app, self.max_body = app, max_body

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in dict(HEADERS)]
                headers += HEADERS
                if scope.get("scheme") == "https":   # TLS here or at the trusted proxy in front
                    headers.append(HSTS)
                if not scope["path"].startswith("/static/"):
                    headers.append((b"cache-control", b"no-store"))
                message = dict(message, headers=headers)
            await send(message)

        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None:
            try:
                too_big = int(length) > self.max_body
            except ValueError:
                too_big = True
            if too_big:
                return await _reply(send_with_headers, 413, TOO_LARGE)
        seen = 0

        async def limited_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:    # said by the app's own 413 page
                    raise HTTPException(413, "上传的内容超过 64 MB，未予接收。")
            return message

        await self.app(scope, limited_receive, send_with_headers)


async def _reply(send, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/html; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()), (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
