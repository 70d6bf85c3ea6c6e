"""A real SMTP server for the tests (aiosmtpd), run as its own process:

    python tests/smtp_server.py PORT DIRECTORY [USER:PASSWORD]

Each accepted e-mail is written to DIRECTORY as `<n>.json` ({"mail_from", "rcpt_tos",
"data"}). A recipient whose local part starts with `bounce` is refused with 550. With
USER:PASSWORD, AUTH (PLAIN/LOGIN) is required before MAIL (allowed without TLS: a test
server on 127.0.0.1).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import sys
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


class Store:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.counter = itertools.count(len(list(directory.glob("*.json"))))

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address.lower().startswith("bounce"):
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content
        data = content.decode("utf-8", "replace") if isinstance(content, bytes) else str(content)
        record = {"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos, "data": data}
        n = next(self.counter)
        tmp = self.directory / f".{n}.tmp"
        tmp.write_text(json.dumps(record))
        os.replace(tmp, self.directory / f"{n:06d}.json")
        return "250 Message accepted"


def authenticator(credentials: str) -> Any:
    user, _, password = credentials.partition(":")

    def check(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            user.encode(),
            password.encode(),
        )
        return AuthResult(success=ok, handled=False)

    return check


async def main(port: int, directory: Path, credentials: str | None) -> None:
    store = Store(directory)
    loop = asyncio.get_running_loop()
    auth: dict[str, Any] = {}
    if credentials:
        auth = {
            "authenticator": authenticator(credentials),
            "auth_required": True,
            "auth_require_tls": False,
        }
    server = await loop.create_server(
        lambda: SMTP(store, hostname="localhost", decode_data=False, **auth), "127.0.0.1", port
    )
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    Path(sys.argv[2]).mkdir(parents=True, exist_ok=True)
    asyncio.run(
        main(int(sys.argv[1]), Path(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else None)
    )
