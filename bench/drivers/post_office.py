"""django-post-office sending the messages leadfunnel's worker sent: the peer baseline of
`nurture.send_throughput`.

bench/figures/nurture_send.py runs this as a subprocess (`python -m
bench.drivers.post_office`) with `bench/drivers/post_office_settings.py` (its own
database and nothing of leadfunnel installed) and post_office on PYTHONPATH, a folder the
bench installs it into: it is not one of the app's requirements. The process migrates,
queues every message with `post_office.mail.send_many` (priority medium: post_office
renders at queue time, so queueing is untimed, as leadfunnel's rendering before a row is
due is not), prints "ready", and on a line on stdin runs the `send_queued_mail` management
command (default options unless `--processes` says otherwise), prints one JSON object and
waits for stdin to close, so the caller's CPU window holds the sending and nothing else.
"""

import argparse
import base64
import json
import os
import sys
import time
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

# Headers Django writes itself; every other one (Reply-To, List-Unsubscribe,
# List-Unsubscribe-Post, Feedback-ID, ...) goes to post_office as an extra header.
_GENERATED_HEADERS = {
    "from",
    "to",
    "cc",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "dkim-signature",
}
QUEUE_CHUNK = 500


def message_kwargs(mail_from: str, recipients: list[str], content: bytes) -> dict[str, Any]:
    """`post_office.mail.send` arguments for one message as it reached the sink."""
    message = message_from_bytes(content, policy=policy.default)
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    return {
        "sender": str(message["From"] or mail_from),
        # The To header's addresses, display names included: post_office sends to them.
        "recipients": [str(address) for address in message["To"].addresses]
        if message["To"]
        else recipients,
        "subject": str(message["Subject"] or ""),
        "message": text.get_content() if text is not None else "",  # type: ignore[attr-defined]
        "html_message": html.get_content() if html is not None else "",  # type: ignore[attr-defined]
        "headers": {
            name: str(value)
            for name, value in message.items()
            if name.lower() not in _GENERATED_HEADERS
        },
        "priority": "medium",
    }


def run(*, messages: Path, processes: int | None, lockfile: Path) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.drivers.post_office_settings")
    # Django and post_office only after the settings are chosen and set up.
    import django

    django.setup()
    from django.core.management import call_command
    from post_office import mail
    from post_office.models import STATUS, Email

    call_command("migrate", verbosity=0)
    queued = [
        message_kwargs(mail_from, recipients, base64.b64decode(content))
        for mail_from, recipients, content in json.loads(messages.read_text())
    ]
    for start in range(0, len(queued), QUEUE_CHUNK):
        mail.send_many(queued[start : start + QUEUE_CHUNK])
    print("ready", flush=True)
    sys.stdin.readline()
    options: dict[str, Any] = {"lockfile": str(lockfile)}
    if processes is not None:
        options["processes"] = processes
    started = time.perf_counter()
    call_command("send_queued_mail", **options)
    elapsed = time.perf_counter() - started
    statuses = {
        "sent": Email.objects.filter(status=STATUS.sent).count(),
        "total": Email.objects.count(),
    }
    print(json.dumps({"elapsed": elapsed, **statuses}), flush=True)
    sys.stdin.read()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("messages", type=Path)
    parser.add_argument("--processes", type=int)
    parser.add_argument("--lockfile", type=Path, required=True)
    args = parser.parse_args()
    run(
        messages=args.messages,
        processes=args.processes,
        lockfile=args.lockfile,
    )


if __name__ == "__main__":
    main()
