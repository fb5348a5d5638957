"""A local SMTP sink (aiosmtpd): accepts every message on 127.0.0.1 and keeps it in a Maildir,
where the tests and you can list what the shop sent.

    python -m deploy.smtp_sink serve --port 8025 --maildir .data/local/mail
    python -m deploy.smtp_sink list --maildir .data/local/mail
"""

from __future__ import annotations

import argparse
import json
import mailbox
import signal
import threading
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox

__all__ = ["received", "serve"]


def received(maildir: Path) -> list[dict[str, Any]]:
    """The messages the sink has received, oldest first: headers and text."""
    if not maildir.exists():
        return []
    box = mailbox.Maildir(maildir, create=False)
    messages = sorted(box, key=lambda m: m.get_date())
    return [{"message_id": _header(m, "Message-ID"), "from": _header(m, "From"),
             "to": _header(m, "To"), "subject": _header(m, "Subject"), "text": _text(m)}
            for m in messages]


def _header(message: mailbox.MaildirMessage, name: str) -> str:
    return " ".join(str(message.get(name, "")).split())  # unfolded


def _text(message: mailbox.MaildirMessage) -> str:
    payload = message.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    return payload.decode(message.get_content_charset() or "utf-8")


def serve(port: int, maildir: Path) -> None:
    """Accept mail on 127.0.0.1:``port`` into ``maildir`` until SIGINT or SIGTERM."""
    for folder in ("tmp", "new", "cur"):  # a Maildir, even if the folder was there before
        (maildir / folder).mkdir(parents=True, exist_ok=True)
    controller = Controller(Mailbox(maildir), hostname="127.0.0.1", port=port)
    controller.start()
    print(f"SMTP sink on 127.0.0.1:{port}, mail kept in {maildir}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


def main() -> None:
    """``serve`` or ``list``."""
    parser = argparse.ArgumentParser(prog="python -m deploy.smtp_sink")
    parser.add_argument("command", choices=("serve", "list"))
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--maildir", type=Path, default=Path(".data/local/mail"))
    args = parser.parse_args()
    if args.command == "serve":
        serve(args.port, args.maildir)
    else:
        print(json.dumps(received(args.maildir), indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
