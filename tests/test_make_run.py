"""What `make run` prints: one block of URLs and logins, not banners and warnings per process.

Each process `make run` starts (migrate, seed_demo, runserver, worker, beat) loads the
settings, so a line printed at start-up appears five times. Run in fresh interpreters with
development settings (DEBUG=1, as `make run` has).
"""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG_VARS = (
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "EMAIL_URL",
    "SITE_URL",
    "SECRET_KEY",
    "DEBUG",
    "ALLOWED_HOSTS",
    "VAR_DIR",
    "ENV_FILE",
    "LOG_LEVEL",
    "PYTHONWARNINGS",
)


def _development(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in CONFIG_VARS}
    env.update(
        VAR_DIR=str(tmp_path),
        DJANGO_SETTINGS_MODULE="leadfunnel.settings",
        DEBUG="1",
        SECRET_KEY="d" * 50,
    )
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_management_command_prints_only_its_own_output(tmp_path: Path) -> None:
    done = _development(tmp_path, "manage.py", "check")
    assert done.returncode == 0, done.stderr
    # Not django-axes' "AXES: BEGIN version …" banner before it.
    assert done.stdout + done.stderr == "System check identified no issues (0 silenced).\n"


def test_djangos_log_lines_print_once_in_development(tmp_path: Path) -> None:
    done = _development(
        tmp_path,
        "-c",
        "import django, logging; django.setup();"
        " logging.getLogger('django.utils.autoreload').info('Watching for file changes')",
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == "Watching for file changes\n"


def test_the_embedded_broker_connects_without_a_warning(tmp_path: Path) -> None:
    done = _development(
        tmp_path,
        "-c",
        "import django; django.setup(); from leadfunnel.celery import app;"
        " print(app.connection_for_write().info()['hostname'])",
    )
    assert done.returncode == 0, done.stderr
    assert (done.stdout, done.stderr) == ("localhost\n", "")


def test_the_worker_line_silences_only_celerys_warning_about_root() -> None:
    procfile = (ROOT / "Procfile.dev").read_text()
    (worker,) = re.findall(r"^worker: (.*)$", procfile, flags=re.MULTILINE)
    (assignment,) = re.findall(r'^PYTHONWARNINGS="[^"]+"', worker)
    probe = "from celery.platforms import check_privileges; check_privileges(['json'])"
    # Through a shell, as honcho runs the line. Without the assignment, root sees the warning.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    silenced = subprocess.run(
        ["sh", "-c", f'{assignment} "$0" -c "$1"', sys.executable, probe],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (silenced.returncode, silenced.stderr) == (0, "")
    # Only that warning: another of Celery's security warnings is still shown.
    other = subprocess.run(
        [
            "sh",
            "-c",
            f'{assignment} "$0" -c "$1"',
            sys.executable,
            "import warnings; from celery.exceptions import SecurityWarning;"
            " warnings.warn(SecurityWarning('You are running something else'))",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "SecurityWarning: You are running something else" in other.stderr
