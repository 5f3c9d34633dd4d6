"""nurture.send_throughput: due deliveries through the real path (the tick, `send_batch`
tasks, one sending worker) against a plain smtplib loop and django-post-office sending the
same messages to the same sink; see bench/README.md."""

import base64
import json
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from psycopg2 import sql

from ..support import postgres, stack
from ..support.accounting import CpuWindow
from ..support.mail import Sink, smtp_sink
from ..support.output import BenchFailure, Options, label, log
from ..support.workers import SEND_QUEUE, celery_workers, publish, sender_command, wait_for_mail
from .nurture_common import (
    BROKER_URL,
    FIRST_LEAD_ID,
    add_leads,
    app_env,
    database_url,
    demo_sequence,
    ids,
    prepare_database,
    start_dispatcher,
    vacuum_analyze,
    wait_until_sent,
)

# The peer baseline, installed for the bench alone (never one of the app's requirements)
# into var/bench-peer/ the first time it is needed.
POST_OFFICE_REQUIREMENT = "django-post-office==3.12.0"
PEER_DIR = stack.ROOT / "var" / "bench-peer"
SEND_WARM_UP = 20


def write_messages(sink: Sink, path: Path) -> Path:
    """What the sink kept, as the smtplib loop and the post_office peer read it."""
    path.write_text(
        json.dumps(
            [
                [mail_from, recipients, base64.b64encode(content).decode()]
                for mail_from, recipients, content in sink.kept
            ]
        )
    )
    return path


def _replay_over_one_connection(
    messages: Path, port: int, *, db_url: str
) -> tuple[float, CpuWindow]:
    """Seconds a plain smtplib loop takes to send `messages`, in a process of its own as the
    workers are, and the CPU window around the loop."""
    command = stack.driver_command("nurture", "smtp-loop", str(messages), "--port", str(port))
    process = subprocess.Popen(
        command, cwd=stack.ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert process.stdin is not None and process.stdout is not None  # noqa: S101
    try:
        if process.stdout.readline().strip() != "ready":
            raise BenchFailure("the smtplib loop could not connect to the sink")
        with CpuWindow("send_throughput loop", roots=[process.pid], db_url=db_url) as window:
            process.stdin.write("go\n")
            process.stdin.flush()
            result = json.loads(process.stdout.readline())
        process.stdin.close()
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return float(result["elapsed"]), window


def post_office_path() -> Path:
    """A folder holding django-post-office, installed on first use for the bench alone.

    `--no-deps`: its requirements, Django and nh3, are the app's own (requirements/base.lock),
    so the peer runs on the same Django. Installed beside and renamed into place, so two
    benches starting at once cannot see half an install.
    """
    target = PEER_DIR / POST_OFFICE_REQUIREMENT.replace("==", "-")
    if (target / "post_office" / "mail.py").is_file():
        return target
    PEER_DIR.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=PEER_DIR))
    log(f"installing {POST_OFFICE_REQUIREMENT} into {target} (for the bench only)")
    done = subprocess.run(
        [
            stack.PYTHON,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--target",
            str(staging),
            POST_OFFICE_REQUIREMENT,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise BenchFailure(f"pip could not install {POST_OFFICE_REQUIREMENT}:\n{done.stderr}")
    try:
        staging.rename(target)
    except OSError:  # another run installed it meanwhile
        shutil.rmtree(staging, ignore_errors=True)
    return target


def post_office_database_url() -> str:
    return postgres.suffixed(stack.database_url(), "_post_office")


@dataclass(frozen=True)
class PeerRun:
    seconds: float  # from the go to the last message at the sink
    sent: int  # post_office's Email rows marked sent
    recipients: list[str]  # as the sink received them
    window: CpuWindow


def post_office_peer(
    messages: Path,
    *,
    sink: Sink,
    port: int,
    db_url: str,
    var_dir: Path,
    processes: int | None = None,
) -> PeerRun:
    """django-post-office's `send_queued_mail` sending `messages` to the sink.

    Its own process and database (recreated), queued untimed through `mail.send_many`;
    the clock runs from the go to the last message at the sink, as for the worker.
    `processes` None: the command's defaults (1 process, 5 sending threads).
    """
    peer_path = post_office_path()
    postgres.recreate_database(db_url)
    env = stack.inherited_env()
    env.update(
        DJANGO_SETTINGS_MODULE="bench.drivers.post_office_settings",
        PYTHONUNBUFFERED="1",
        DATABASE_URL=db_url,
        POST_OFFICE_SMTP_PORT=str(port),
        # Where the bench installed post_office: the peer's only package beside the venv's.
        PYTHONPATH=str(peer_path),
    )
    command = stack.driver_command(
        "post_office",
        str(messages),
        "--lockfile",
        str(var_dir / "post_office"),
    )
    if processes is not None:
        command += ["--processes", str(processes)]
    log_path = var_dir / "post_office.log"
    with log_path.open("w") as log_file:
        process = subprocess.Popen(
            command,
            cwd=stack.ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log_file,
            text=True,
        )
    assert process.stdin is not None and process.stdout is not None  # noqa: S101
    try:
        if process.stdout.readline().strip() != "ready":
            process.wait(timeout=30)
            raise BenchFailure(f"the post_office peer failed to queue:\n{stack.tail(log_path)}")
        before = len(sink)
        with CpuWindow("send_throughput post_office", roots=[process.pid], db_url=db_url) as window:
            started = time.monotonic()
            process.stdin.write("go\n")
            process.stdin.flush()
            line = process.stdout.readline()
        if not line:
            process.wait(timeout=30)
            raise BenchFailure(f"the post_office peer failed to send:\n{stack.tail(log_path)}")
        result = json.loads(line)
        process.stdin.close()
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    # aiosmtpd notes a message before it answers 250, so the command's return means every
    # message it sent is in `sink.arrivals`.
    arrivals = sink.arrivals[before:]
    seconds = (arrivals[-1][0] - started) if arrivals else float("inf")
    return PeerRun(
        seconds=seconds,
        sent=int(result["sent"]),
        recipients=[recipient for _, recipient in arrivals],
        window=window,
    )


def send_throughput(options: Options) -> list[str]:
    """N queued deliveries through a real worker vs an smtplib loop and django-post-office
    sending the same mail to the same sink."""
    count = stack.env_int("BENCH_NURTURE_SENDS", 2000)
    # Unset: the management command's defaults (1 process of 5 threads, each with its own
    # connection); BENCH_POST_OFFICE_PROCESSES=2 matches the worker's two processes.
    peer_processes = stack.env_int("BENCH_POST_OFFICE_PROCESSES", 0) or None
    peer_setting = (
        f"--processes {peer_processes}" if peer_processes else "defaults: 1 process x 5 threads"
    )
    db_url = database_url()
    with (
        tempfile.TemporaryDirectory(prefix="leadfunnel-bench-") as tmp,
        smtp_sink() as (sink, port),
    ):
        var_dir = Path(tmp)
        env = app_env(db_url=db_url, var_dir=var_dir, email_url=f"smtp://127.0.0.1:{port}")
        log(f"send_throughput: recreating {db_url}, migrate, seed_demo, {count} due rows")
        prepare_database(env)
        sequence = demo_sequence(db_url)
        # The warm-up rows are queued and published directly; the measured ones are due and
        # go the real way: the tick (hand_out_due) claims them and publishes send_batch tasks.
        add_leads(
            db_url,
            first=FIRST_LEAD_ID,
            count=SEND_WARM_UP,
            sequence=sequence,
            status="queued",
            due=sql.SQL("now()"),
            one_step_each=True,
        )
        add_leads(
            db_url,
            first=FIRST_LEAD_ID + SEND_WARM_UP,
            count=count,
            sequence=sequence,
            status="scheduled",
            due=sql.SQL("now() - interval '1 minute'"),
            one_step_each=True,
        )
        vacuum_analyze(db_url)
        warm_up = ids(db_url, "SELECT id FROM nurture_delivery WHERE status = 'queued'")
        total = SEND_WARM_UP + count
        sender = sender_command()
        with celery_workers(
            env,
            count=1,
            concurrency=sender.concurrency,
            log_dir=var_dir,
            queues=SEND_QUEUE,
            pool=sender.pool,
        ) as workers:
            log("send_throughput: worker ready; warming up")
            publish(warm_up, broker_url=BROKER_URL)
            wait_for_mail(sink, total=len(warm_up), workers=workers, what="warm-up")
            sink.keep = True
            log(f"send_throughput: {count} due rows through the tick and the worker")
            with CpuWindow(
                "send_throughput worker", roots=workers.roots(), db_url=db_url
            ) as window:
                dispatcher = start_dispatcher(
                    env, low_water=env.get("NURTURE_DISPATCH_BATCH", "5000")
                )
                try:
                    wait_for_mail(sink, total=total, workers=workers, what="send_throughput")
                finally:
                    dispatcher.terminate()
                    dispatcher.communicate(timeout=30)
            # First to last measured arrival, as scale_100k: the dispatcher's own start
            # (Django's setup) is no part of sending.
            measured_arrivals = sink.arrivals[SEND_WARM_UP:total]
            worker_seconds = (
                (measured_arrivals[-1][0] - measured_arrivals[0][0]) * count / max(count - 1, 1)
            )
            sink.keep = False
            sent = wait_until_sent(db_url, total)
        messages = write_messages(sink, var_dir / "messages.json")
        log(f"send_throughput: the same {count} messages through one smtplib connection")
        loop_seconds, loop_window = _replay_over_one_connection(messages, port, db_url=db_url)
        stack.flush_redis(env)
        peer_db_url = post_office_database_url()
        log(
            f"send_throughput: the same {count} messages through django-post-office's "
            f"send_queued_mail ({peer_setting}), database {peer_db_url}"
        )
        peer = post_office_peer(
            messages,
            sink=sink,
            port=port,
            db_url=peer_db_url,
            var_dir=var_dir,
            processes=peer_processes,
        )

    received = [recipient for _, recipient in sink.arrivals[SEND_WARM_UP:total]]
    worker_rate, loop_rate = count / worker_seconds, count / loop_seconds
    peer_rate = count / peer.seconds
    ratio = worker_rate / loop_rate
    lines = [
        f"{label('nurture.send_throughput')}worker={worker_rate:.1f} msgs/s  smtplib loop="
        f"{loop_rate:.1f} msgs/s (baseline)  ratio={ratio:.2f} of the loop (target >= 0.5)  "
        f"peer_post_office={peer_rate:.1f} msgs/s  vs_post_office={worker_rate / peer_rate:.2f}x "
        f"(target >= 1.2)  [{count} messages, 1 worker --pool {sender.pool} --concurrency "
        f"{sender.concurrency}; post_office "
        f"{POST_OFFICE_REQUIREMENT.partition('==')[2]} send_queued_mail {peer_setting}]"
        + f"  [CPU per message, steadier than rates on a busy machine: worker "
        f"{window.per_unit(count)}, post_office {peer.window.per_unit(count)}, "
        f"loop {loop_window.per_unit(count)}]"
        + window.note.replace("[noisy:", "[noisy worker phase:")
        + loop_window.note.replace("[noisy:", "[noisy loop phase:")
        + peer.window.note.replace("[noisy:", "[noisy post_office phase:")
    ]
    problems = []
    if len(set(received)) != count or len(sink) != total + 2 * count:
        problems.append(
            f"the sink got {len(set(received))} distinct of {count} recipients from the worker "
            f"and {len(sink)} messages in all (expected {total + 2 * count})"
        )
    if sent != total:
        problems.append(f"{sent} of {total} deliveries are marked sent")
    if peer.sent != count or sorted(peer.recipients) != sorted(received):
        problems.append(
            f"post_office marked {peer.sent} of {count} emails sent and the sink got "
            f"{len(peer.recipients)} from it, not the worker's recipients"
        )
    if problems:
        raise BenchFailure("; ".join(problems), lines)
    return lines
