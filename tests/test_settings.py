"""Settings come from the environment; run in fresh interpreters to see real defaults."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROBE = """
import json, django, os
os.environ["DJANGO_SETTINGS_MODULE"] = "leadfunnel.settings"
django.setup()
from django.conf import settings as s
print(json.dumps({
    "debug": s.DEBUG,
    "db_engine": s.DATABASES["default"]["ENGINE"],
    "db_name": str(s.DATABASES["default"]["NAME"]),
    "broker": s.CELERY_BROKER_URL,
    "broker_folder": getattr(s, "CELERY_BROKER_TRANSPORT_OPTIONS", {}).get("data_folder_in"),
    "broker_control": getattr(s, "CELERY_BROKER_TRANSPORT_OPTIONS", {}).get("control_folder"),
    "cache": s.CACHES["default"]["BACKEND"],
    "mailer": s.MAILERS["default"],
    "site_url": s.SITE_URL,
    "allowed_hosts": s.ALLOWED_HOSTS,
    "min_fill": s.CAPTURE_MIN_FILL_SECONDS,
    "rate": s.CAPTURE_RATE_LIMIT,
    "bench": s.BENCH_ENDPOINTS,
    "acks_late": s.CELERY_TASK_ACKS_LATE,
    "reject_on_lost": s.CELERY_TASK_REJECT_ON_WORKER_LOST,
    "prefetch": s.CELERY_WORKER_PREFETCH_MULTIPLIER,
    "serializer": s.CELERY_TASK_SERIALIZER,
    "accept": s.CELERY_ACCEPT_CONTENT,
    "beat": s.CELERY_BEAT_SCHEDULER,
    "health_checks": s.DATABASES["default"].get("CONN_HEALTH_CHECKS"),
}))
"""
CONFIG_VARS = (
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "EMAIL_URL",
    "SITE_URL",
    "SECRET_KEY",
    "DEBUG",
    "ALLOWED_HOSTS",
    "DEFAULT_FROM_EMAIL",
    "STATIC_MANIFEST",
    "SECURE_SSL_REDIRECT",
    "WHITENOISE_USE_FINDERS",
    "VAR_DIR",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
    "NURTURE_POSTAL_ADDRESS",
    "NURTURE_REPLY_TO",
    "DKIM_PRIVATE_KEY",
    "DKIM_PRIVATE_KEY_FILE",
    "DKIM_SELECTOR",
    "DKIM_DOMAIN",
    "ESP",
)
# A sender and postal address as production has them: `check --deploy` refuses placeholders.
REAL_SENDER = {
    "DEFAULT_FROM_EMAIL": "Northwind Traders <hello@northwind-traders.co.uk>",
    "NURTURE_POSTAL_ADDRESS": "Northwind Traders Ltd · 12 Harbour Road · Bristol",
}


def _clean_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CONFIG_VARS}
    env.update(overrides)
    return env


def _run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=_clean_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _probe(**env: str) -> dict:
    result = _run("-c", PROBE, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_development_defaults_need_no_server() -> None:
    values = _probe(DEBUG="1")
    assert values["db_engine"] == "django.db.backends.sqlite3"
    assert values["db_name"] == str(ROOT / "var" / "db.sqlite3")
    assert values["broker"] == "filesystem://localhost/"
    assert values["broker_folder"] == str(ROOT / "var" / "broker" / "out")
    # Not kombu's default, control/ in the working directory: a checkout stays clean.
    assert values["broker_control"] == str(ROOT / "var" / "broker" / "control")
    assert values["cache"] == "django.core.cache.backends.locmem.LocMemCache"
    assert values["mailer"] == {
        "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "OPTIONS": {"file_path": str(ROOT / "var" / "mail")},
    }
    assert values["site_url"] == "http://localhost:8000"
    assert values["min_fill"] == 2 and values["rate"] == "10/m" and values["bench"] is False


def test_celery_is_configured_for_no_lost_work() -> None:
    values = _probe(DEBUG="1")
    assert values["acks_late"] and values["reject_on_lost"]
    assert values["prefetch"] == 1
    assert values["serializer"] == "json" and values["accept"] == ["json"]
    assert values["beat"] == "django_celery_beat.schedulers:DatabaseScheduler"


def test_environment_overrides_every_default() -> None:
    values = _probe(
        DEBUG="0",
        SECRET_KEY="x" * 60,
        ALLOWED_HOSTS="leads.example.com",
        DATABASE_URL="postgres://u:p@db.example:5432/leads",
        REDIS_URL="redis://cache:6379/2",
        CELERY_BROKER_URL="redis://cache:6379/3",
        EMAIL_URL="smtp://mailer:p@smtp.example:2525",
        SITE_URL="https://leads.example.com/",
    )
    assert values["debug"] is False
    assert values["db_engine"] == "django.db.backends.postgresql"
    assert values["health_checks"] is True
    assert values["broker"] == "redis://cache:6379/3"
    assert values["cache"] == "django.core.cache.backends.redis.RedisCache"
    assert values["mailer"]["BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert values["mailer"]["OPTIONS"]["host"] == "smtp.example"
    assert values["mailer"]["OPTIONS"]["port"] == 2525
    assert values["site_url"] == "https://leads.example.com"
    assert values["allowed_hosts"] == ["leads.example.com"]


DKIM_TEST_KEY = "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n"


def test_dkim_settings_make_the_smtp_mailer_sign(tmp_path: Path) -> None:
    key_file = tmp_path / "dkim.pem"
    key_file.write_text(DKIM_TEST_KEY)
    smtp = {
        "DEBUG": "0",
        "SECRET_KEY": "x" * 60,
        "EMAIL_URL": "smtp://smtp.acme.com:2525",
        "DKIM_SELECTOR": "lf2026",
        "DKIM_DOMAIN": "acme.com",
    }
    escaped = DKIM_TEST_KEY.replace("\n", "\\n")  # how a one-line .env file holds it
    for key in ({"DKIM_PRIVATE_KEY": escaped}, {"DKIM_PRIVATE_KEY_FILE": str(key_file)}):
        mailer = _probe(**smtp, **key)["mailer"]
        assert mailer["BACKEND"] == "leadfunnel.mail.DkimEmailBackend"
        assert mailer["OPTIONS"] == {
            "host": "smtp.acme.com",
            "port": 2525,
            "timeout": 15,
            "dkim_private_key": DKIM_TEST_KEY,
            "dkim_selector": "lf2026",
            "dkim_domain": "acme.com",
        }
    # An ESP signs for its customers: its backend stays as it is.
    esp = _probe(**smtp, DKIM_PRIVATE_KEY=escaped, ESP="postmark")["mailer"]
    assert esp == {"BACKEND": "anymail.backends.postmark.EmailBackend"}


def test_half_a_dkim_configuration_refuses_to_start() -> None:
    result = _run("-c", PROBE, DEBUG="0", SECRET_KEY="x" * 60, DKIM_SELECTOR="lf2026")
    assert result.returncode != 0
    assert (
        "DKIM needs DKIM_PRIVATE_KEY (or _FILE), DKIM_SELECTOR and DKIM_DOMAIN; missing: "
        "DKIM_PRIVATE_KEY, DKIM_DOMAIN" in result.stderr
    )


def test_production_refuses_to_start_without_a_secret_key() -> None:
    result = _run("-c", PROBE)
    assert result.returncode != 0
    assert "Set SECRET_KEY" in result.stderr


@pytest.mark.parametrize("debug", ["0", ""])
def test_debug_is_off_unless_asked_for(debug: str) -> None:
    env = {"SECRET_KEY": "y" * 60}
    if debug:
        env["DEBUG"] = debug
    values = _probe(**env)
    assert values["debug"] is False
    assert values["allowed_hosts"] == []
    assert values["mailer"]["BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"


def test_check_deploy_is_clean_in_production() -> None:
    result = _run(
        "manage.py",
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="0",
        SECRET_KEY="k3y-" + "Zq8#vR2!mW9$pL4&" * 4,
        ALLOWED_HOSTS="leads.example.com",
        DATABASE_URL=os.environ["DATABASE_URL"],
        REDIS_URL=os.environ["REDIS_URL"],
        **REAL_SENDER,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_fails_for_a_placeholder_sender_and_postal_address() -> None:
    result = _run(
        "manage.py",
        "check",
        "--deploy",
        DEBUG="0",
        SECRET_KEY="k3y-" + "Zq8#vR2!mW9$pL4&" * 4,
        ALLOWED_HOSTS="leads.example.com",
        DATABASE_URL=os.environ["DATABASE_URL"],
        REDIS_URL=os.environ["REDIS_URL"],
    )
    assert result.returncode == 1
    assert (
        "nurture.E001) DEFAULT_FROM_EMAIL is 'leadfunnel <hello@localhost>': 'localhost' is "
        "not a domain you can publish SPF, DKIM and DMARC for" in result.stderr
    )
    assert (
        "nurture.E002) NURTURE_POSTAL_ADDRESS is the placeholder 'leadfunnel · 1 Example "
        "Street · Springfield'" in result.stderr
    )


def test_migrations_match_the_models() -> None:
    result = _run(
        "manage.py",
        "makemigrations",
        "--check",
        "--dry-run",
        DEBUG="1",
        DATABASE_URL=os.environ["DATABASE_URL"],
    )
    assert result.returncode == 0, result.stdout + result.stderr


# The development env file `make run` writes (scripts/dev-env) ------------------------------


def _without_env_file(var_dir: Path, **env: str) -> dict[str, str]:
    """A shell in a checkout whose var/ is `var_dir`, with ENV_FILE unset as outside tests."""
    values = _clean_env()
    values.pop("ENV_FILE", None)
    values.update(VAR_DIR=str(var_dir), **env)
    values["PATH"] = f"{ROOT / '.venv' / 'bin'}:{values.get('PATH', '')}"
    return values


def _manage(var_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=_without_env_file(var_dir, **env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _write_dev_env(var_dir: Path) -> dict[str, str]:
    done = subprocess.run(
        [str(ROOT / "scripts" / "dev-env")],
        cwd=ROOT,
        env=_without_env_file(var_dir),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = (var_dir / "dev.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


SHOW = "from django.conf import settings as s; print(s.DEBUG, s.SECRET_KEY, s.ALLOWED_HOSTS)"


def test_plain_manage_py_gets_the_development_settings_make_run_wrote(tmp_path: Path) -> None:
    written = _write_dev_env(tmp_path)
    assert written["DEBUG"] == "1" and len(written["SECRET_KEY"]) >= 50
    assert (tmp_path / "dev.env").stat().st_mode & 0o777 == 0o600

    shell = _manage(tmp_path, "shell", "-v0", "-c", SHOW)
    assert shell.returncode == 0, shell.stderr
    assert shell.stdout.split(None, 2) == [
        "True",
        written["SECRET_KEY"],
        "['localhost', '127.0.0.1', '[::1]']\n",
    ]
    check = _manage(tmp_path, "check")
    assert check.returncode == 0, check.stderr
    assert "System check identified no issues" in check.stdout
    # Run again (every `make run`), the key stays: sessions and sent links depend on it.
    assert _write_dev_env(tmp_path) == written


def test_real_environment_variables_win_over_the_env_file(tmp_path: Path) -> None:
    _write_dev_env(tmp_path)
    shell = _manage(
        tmp_path,
        "shell",
        "-v0",
        "-c",
        SHOW,
        DEBUG="0",
        SECRET_KEY="e" * 60,
        ALLOWED_HOSTS="leads.example.com",
    )
    assert shell.returncode == 0, shell.stderr
    assert shell.stdout.split() == ["False", "e" * 60, "['leads.example.com']"]


def test_a_checkout_without_the_env_file_still_refuses_to_start(tmp_path: Path) -> None:
    # Production, or a checkout where `make run` never ran: no file, DEBUG and SECRET_KEY unset.
    shell = _manage(tmp_path, "shell", "-v0", "-c", SHOW)
    assert shell.returncode != 0
    assert "Set SECRET_KEY (it has no default when DEBUG is off)." in shell.stderr
    assert not (tmp_path / "dev.env").exists()


def test_an_env_file_named_but_missing_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "leadfunnel.env"
    shell = _manage(tmp_path, "shell", "-v0", "-c", SHOW, ENV_FILE=str(missing))
    assert shell.returncode != 0
    assert f"ENV_FILE={missing} does not exist." in shell.stderr


PYTEST_PROBE = """
from django.conf import settings


def test_settings_are_the_suites() -> None:
    assert settings.DEBUG is False
    assert settings.SECRET_KEY == "test-only-secret-key-not-for-production-use-0123456789"
    assert settings.SITE_URL == "http://localhost:8000"
"""


def test_the_suite_ignores_a_dev_env_file_in_the_checkout(tmp_path: Path) -> None:
    # Developers run the tests in a checkout where `make run` wrote var/dev.env.
    var_dir = tmp_path / "var"
    var_dir.mkdir()
    (var_dir / "dev.env").write_text(
        "DEBUG=1\nSECRET_KEY=from-the-dev-file\nSITE_URL=http://dev-file.invalid\n"
    )
    probe = tmp_path / "test_probe.py"
    probe.write_text(PYTEST_PROBE)
    env = {k: v for k, v in _without_env_file(var_dir).items() if not k.startswith("PYTEST")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:xdist",
            "-c",
            str(ROOT / "pyproject.toml"),
            "--rootdir",
            str(ROOT),
            str(probe),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
