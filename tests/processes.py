"""Real processes for end-to-end tests: an SMTP sink, a private Redis, gunicorn, Celery."""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check: Callable[[], bool], *, timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    return check()


def port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


@dataclass
class Received:
    rcpt_tos: list[str]
    content: bytes
    at: float


class SmtpSink:
    """An SMTP server that keeps what it receives, or answers with the codes it is told."""

    def __init__(self) -> None:
        self.messages: list[Received] = []
        # Consumed first, e.g. "451 4.3.0 Try later"; "DROP" hangs up mid-message; "" accepts.
        self.answers: list[str] = []
        self.connections = 0
        self.lock = threading.Lock()
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        with self.lock:
            self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            answer = self.answers.pop(0) if self.answers else ""
            if answer == "DROP":
                server.transport.close()  # the connection dies before the reply
                return "421 4.4.2 Connection dropped"
            if answer:
                return answer
            self.messages.append(
                Received(list(envelope.rcpt_tos), envelope.content, time.monotonic())
            )
        return "250 Message accepted"

    def count_for(self, address: str) -> int:
        with self.lock:
            return sum(address in message.rcpt_tos for message in self.messages)

    def recipients(self) -> list[str]:
        with self.lock:
            return [rcpt for message in self.messages for rcpt in message.rcpt_tos]

    def __enter__(self) -> "SmtpSink":
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


class PrivateRabbit:
    """A vhost of our own on the machine's RabbitMQ (127.0.0.1:5672, guest), deleted after:
    the fault tests run on the second broker production users run."""

    def __init__(self) -> None:
        self.vhost = f"leadfunnel-test-{uuid.uuid4().hex[:12]}"

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:5672/{self.vhost}"

    @staticmethod
    def available() -> bool:
        return shutil.which("rabbitmqctl") is not None and port_open(5672)

    def _ctl(self, *args: str) -> None:
        subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)

    def __enter__(self) -> "PrivateRabbit":
        self._ctl("add_vhost", self.vhost)
        self._ctl("set_permissions", "-p", self.vhost, "guest", ".*", ".*", ".*")
        return self

    def __exit__(self, *exc: object) -> None:
        self._ctl("delete_vhost", self.vhost)


class PrivateRedis:
    """A redis-server of our own on a spare port, which a test may stop and start again."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="leadfunnel-redis-")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.dir,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if not wait_until(lambda: port_open(self.port), timeout=10):
            raise RuntimeError("private redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None
        wait_until(lambda: not port_open(self.port), timeout=5)

    def __enter__(self) -> "PrivateRedis":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@dataclass
class Stack:
    """Environment and processes of one app instance on the test database."""

    env: dict[str, str]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def start(self, *args: str, name: str) -> subprocess.Popen[bytes]:
        log = Path(tempfile.mkstemp(prefix=f"leadfunnel-{name}-", suffix=".log")[1])
        self.logs.append(log)
        process = subprocess.Popen(
            [sys.executable, "-m", *args],
            cwd=ROOT,
            env=self.env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append(process)
        return process

    def web(self, port: int, *, workers: int = 2) -> subprocess.Popen[bytes]:
        process = self.start(
            "gunicorn",
            "leadfunnel.wsgi:application",
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--timeout",
            "60",
            name="web",
        )
        if not wait_until(lambda: port_open(port), timeout=30):
            raise RuntimeError(f"gunicorn did not start:\n{self.tail()}")
        return process

    def worker(
        self,
        *,
        concurrency: int = 2,
        name: str = "worker",
        supervised: bool = False,
        queues: str = "celery,sending",
    ) -> subprocess.Popen[bytes]:
        """A Celery worker (of every queue unless told); `supervised`: started again whenever
        it exits, as production's supervisor does (docker-compose's `restart: unless-stopped`)."""
        args = (
            "celery",
            "-A",
            "leadfunnel",
            "worker",
            "-Q",
            queues,
            "--concurrency",
            str(concurrency),
            "--loglevel",
            "INFO",
            "--without-mingle",
            "--without-gossip",
        )
        process = self.start(*args, "-n", f"{name}-{free_port()}@%h", name=name)
        if supervised:
            threading.Thread(
                target=self._supervise, args=(process, args, name), daemon=True
            ).start()
        return process

    def _supervise(
        self, process: subprocess.Popen[bytes], args: tuple[str, ...], name: str
    ) -> None:
        # Celery 5.7 / kombu can die with "Unrecoverable error" when the Redis broker goes
        # away mid-connection (celery/kombu#582, celery/celery#10205): a real deployment's
        # supervisor restarts it, and so does this.
        while not self.stopping.is_set():
            if process.poll() is None:
                time.sleep(0.2)
                continue
            if self.stopping.is_set():
                return
            process = self.start(*args, "-n", f"{name}-{free_port()}@%h", name=f"{name}-again")
            if self.stopping.is_set():  # stop_all ran meanwhile and did not see this one
                os.killpg(process.pid, signal.SIGTERM)
                return

    def beat(self) -> subprocess.Popen[bytes]:
        schedule = tempfile.mktemp(prefix="leadfunnel-beat-")  # noqa: S306 - beat's own file
        return self.start(
            "celery",
            "-A",
            "leadfunnel",
            "beat",
            "--loglevel",
            "INFO",
            "--schedule",
            schedule,
            name="beat",
        )

    @staticmethod
    def kill(process: subprocess.Popen[bytes]) -> None:
        """SIGKILL the process and its children, as the OOM killer or a power cut would."""
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop_all(self) -> None:
        self.stopping.set()
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)

    def tail(self, lines: int = 60) -> str:
        return "\n".join(
            f"== {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
            for log in self.logs
        )


def app_env(*, broker_url: str, cache_url: str, smtp_port: int, **extra: str) -> dict[str, str]:
    """Production-like settings pointing at the test database and the given services."""
    db = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_ALLOW"))}
    env.update(
        {
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "REDIS_URL": cache_url,
            "CELERY_BROKER_URL": broker_url,
            "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "DEBUG": "0",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "0",
            "SESSION_COOKIE_SECURE": "0",
            "CSRF_COOKIE_SECURE": "0",
            "STATIC_MANIFEST": "0",
            "WHITENOISE_USE_FINDERS": "1",
            "CAPTURE_MIN_FILL_SECONDS": "0",
            "NURTURE_TICK_SECONDS": "1",
            "SITE_URL": "http://127.0.0.1:8000",
            **extra,
        }
    )
    return env


def form_session(base_url: str, slug: str) -> tuple[Any, dict[str, str]]:
    """An httpx client holding the CSRF cookie, and the hidden fields of the form."""
    import httpx

    client = httpx.Client(base_url=base_url, timeout=30)
    html = client.get(f"/l/{slug}/").text
    hidden = dict(re.findall(r'name="(csrfmiddlewaretoken|started)" value="([^"]+)"', html))
    return client, hidden
