"""The production-shaped stack files: docker-compose.yml, Dockerfile and .dockerignore.

Docker does not run where the suite runs, so these tests are what keeps the files correct:
they parse them and check the wiring (services, health checks, dependencies, environment)
against the app itself (settings.py, manage.py, the packages). No database is needed.
"""

import fnmatch
import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
import urllib.parse
from functools import cache
from pathlib import Path
from typing import Any

import environ
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
SETTINGS_FILE = ROOT / "leadfunnel" / "settings.py"

APP_SERVICES = ("migrate", "web", "worker", "sender", "beat")
LONG_RUNNING_APP_SERVICES = ("web", "worker", "sender", "beat")
ALL_SERVICES = ("postgres", "redis", *APP_SERVICES)
# What `docker compose up` needs from the shell: SECRET_KEY and EMAIL_URL have no default on
# purpose (the stack has no mail server, and a development backend fails `check --deploy`),
# nor have the sender and its postal address (a placeholder fails `check --deploy` too).
REQUIRED_HOST_ENV = {
    "SECRET_KEY": "compose-test-secret-key",
    "EMAIL_URL": "smtp+tls://mailer:s3cret@smtp.example.com:587",
    "DEFAULT_FROM_EMAIL": "Northwind Traders <hello@northwind-traders.co.uk>",
    "NURTURE_POSTAL_ADDRESS": "Northwind Traders Ltd · 12 Harbour Road · Bristol BS1 5TY",
}


class MissingVariableError(LookupError):
    """A `${NAME:?message}` variable is unset, so `docker compose` would refuse to run."""


_INTERPOLATION = re.compile(
    r"""\$(?:
        (?P<escaped>\$)
      | (?P<bare>[A-Za-z_][A-Za-z0-9_]*)
      | \{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}
      | (?P<invalid>)
    )""",
    re.VERBOSE,
)


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's variable interpolation for one string, as `docker compose config` does it."""

    def replace(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        if match["bare"]:
            return env.get(match["bare"], "")
        if match["name"] is None:
            raise ValueError(f"invalid interpolation format in {value!r}")
        name, op, arg = match["name"], match["op"], match["arg"] or ""
        is_set = name in env
        is_usable = is_set and (env[name] != "" or not (op or "").startswith(":"))
        if op in (":-", "-"):
            return env[name] if is_usable else arg
        if op in (":?", "?"):
            if not is_usable:
                raise MissingVariableError(f"{name}: {arg}")
            return env[name]
        if op in (":+", "+"):
            return arg if is_usable else ""
        return env.get(name, "")

    return _INTERPOLATION.sub(replace, value)


def interpolate_all(node: Any, env: dict[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [interpolate_all(item, env) for item in node]
    if isinstance(node, dict):
        return {key: interpolate_all(value, env) for key, value in node.items()}
    return node


@cache
def raw_compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def compose(env: dict[str, str] | None = None) -> dict[str, Any]:
    """docker-compose.yml as `docker compose config` would see it with `env` in the shell."""
    return interpolate_all(raw_compose(), REQUIRED_HOST_ENV if env is None else env)


def service(name: str) -> dict[str, Any]:
    return compose()["services"][name]


def argv(command: str | list[str]) -> list[str]:
    return shlex.split(command) if isinstance(command, str) else [str(part) for part in command]


def healthcheck_argv(name: str) -> list[str]:
    test = argv(service(name)["healthcheck"]["test"])
    if test[0] == "CMD-SHELL":
        return shlex.split(" ".join(test[1:]))
    assert test[0] == "CMD", f"{name}: healthcheck test must start with CMD or CMD-SHELL"
    return test[1:]


def depends_on(name: str) -> dict[str, str]:
    """{dependency: condition}, from either the list or the mapping form."""
    deps = service(name).get("depends_on", {})
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {dep: spec.get("condition", "service_started") for dep, spec in deps.items()}


def settings_text() -> str:
    return SETTINGS_FILE.read_text()


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for line in DOCKERFILE.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        pending += " " + stripped.removesuffix("\\").strip()
        if stripped.endswith("\\"):
            continue
        keyword, _, args = pending.strip().partition(" ")
        instructions.append((keyword.upper(), args.strip()))
        pending = ""
    assert not pending, "Dockerfile ends in a continuation line"
    return instructions


def dockerfile_copies() -> list[tuple[list[str], str]]:
    """(sources, destination) of each COPY/ADD from the build context (not --from=)."""
    copies = []
    for keyword, args in dockerfile_instructions():
        if keyword not in ("COPY", "ADD"):
            continue
        parts = json.loads(args) if args.startswith("[") else shlex.split(args)
        if any(part.startswith("--from") for part in parts):
            continue
        parts = [part for part in parts if not part.startswith("--")]
        copies.append((parts[:-1], parts[-1]))
    return copies


def dockerfile_runs() -> list[str]:
    return [args for keyword, args in dockerfile_instructions() if keyword == "RUN"]


def dockerfile_command() -> list[str]:
    (cmd,) = [args for keyword, args in dockerfile_instructions() if keyword == "CMD"]
    command = json.loads(cmd) if cmd.startswith("[") else ["sh", "-c", cmd]
    if command[:2] == ["sh", "-c"]:
        command = shlex.split(command[2].removeprefix("exec "))
    return command


def dockerignored(path: str) -> bool:
    """Whether .dockerignore keeps `path` out of the build context (the last match wins)."""
    parts = path.split("/")
    path_and_parents = ["/".join(parts[:depth]) for depth in range(1, len(parts) + 1)]
    ignored = False
    for line in DOCKERIGNORE.read_text().splitlines():
        pattern = line.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negated = pattern.startswith("!")
        pattern = pattern.removeprefix("!").strip("/")
        if any(_ignore_pattern_matches(candidate, pattern) for candidate in path_and_parents):
            ignored = not negated
    return ignored


def _ignore_pattern_matches(path: str, pattern: str) -> bool:
    if pattern.startswith("**/"):  # at any depth
        segments = path.split("/")
        tail = pattern.removeprefix("**/")
        return any(fnmatch.fnmatchcase("/".join(segments[i:]), tail) for i in range(len(segments)))
    return fnmatch.fnmatchcase(path, pattern)


# Services and images ---------------------------------------------------------------------


def test_it_defines_postgres_redis_migrate_web_worker_and_beat() -> None:
    assert set(ALL_SERVICES) <= set(raw_compose()["services"])


def test_it_uses_no_obsolete_version_key() -> None:
    assert "version" not in raw_compose()


@pytest.mark.parametrize(("name", "minimum"), [("postgres", 15), ("redis", 7)])
def test_it_pins_a_supported_major_version(name: str, minimum: int) -> None:
    image = service(name)["image"]
    repository, _, tag = image.partition(":")
    assert repository == name
    major = re.match(r"\d+", tag)
    assert major, f"{image}: pin a numbered tag, not {tag or 'latest'!r}"
    assert int(major.group()) >= minimum
    if name == "redis":
        assert int(major.group()) == 7


def test_it_checks_postgres_health_with_pg_isready() -> None:
    check = healthcheck_argv("postgres")
    assert check[0] == "pg_isready"


def test_it_checks_redis_health_with_redis_cli_ping() -> None:
    assert healthcheck_argv("redis")[:2] == ["redis-cli", "ping"]


def test_it_keeps_postgres_data_on_a_declared_named_volume() -> None:
    mounts = [mount.split(":") for mount in service("postgres")["volumes"]]
    assert ["pgdata", "/var/lib/postgresql/data"] in [mount[:2] for mount in mounts]
    assert "pgdata" in (raw_compose().get("volumes") or {})


def test_it_declares_every_named_volume_a_service_mounts() -> None:
    declared = set(raw_compose().get("volumes") or {})
    for name, spec in raw_compose()["services"].items():
        for mount in spec.get("volumes", []):
            source = mount["source"] if isinstance(mount, dict) else mount.split(":")[0]
            if not source.startswith((".", "/", "~")):
                assert source in declared, f"{name}: volume {source!r} is not declared"


@pytest.mark.parametrize("password", [None, "s3cret-pass"])
def test_it_gives_postgres_the_credentials_in_database_url(password: str | None) -> None:
    env = dict(REQUIRED_HOST_ENV)
    if password:
        env["POSTGRES_PASSWORD"] = password
    services = compose(env)["services"]
    postgres = services["postgres"]["environment"]
    check = healthcheck_argv("postgres")
    for name in APP_SERVICES:
        url = urllib.parse.urlsplit(services[name]["environment"]["DATABASE_URL"])
        assert url.username == postgres["POSTGRES_USER"]
        assert url.password == postgres["POSTGRES_PASSWORD"]
        assert url.path.lstrip("/") == postgres["POSTGRES_DB"] == "leadfunnel"
        assert url.port in (None, 5432)
    assert check[check.index("-U") + 1] == postgres["POSTGRES_USER"]
    assert check[check.index("-d") + 1] == "leadfunnel"
    if password:
        assert postgres["POSTGRES_PASSWORD"] == password


# Commands ---------------------------------------------------------------------------------


def test_it_runs_gunicorn_on_the_wsgi_app_in_web() -> None:
    command = argv(service("web")["command"])
    assert command[0] == "gunicorn"
    assert "leadfunnel.wsgi:application" in command
    assert command[command.index("--bind") + 1] == "0.0.0.0:8000"
    assert "8000:8000" in [str(port) for port in service("web")["ports"]]


def test_it_runs_a_celery_worker_in_worker() -> None:
    assert argv(service("worker")["command"])[:4] == ["celery", "-A", "leadfunnel", "worker"]


def test_sending_has_its_own_workers_and_the_others_never_take_it() -> None:
    """Capture follow-ups, scoring and webhooks must not wait behind a 100,000-email send."""
    from django.conf import settings

    queue = settings.CELERY_TASK_ROUTES["nurture.tasks.send_batch"]["queue"]
    worker, sender = argv(service("worker")["command"]), argv(service("sender")["command"])
    assert worker[worker.index("-Q") + 1].split(",") == ["celery"]
    assert sender[:4] == ["celery", "-A", "leadfunnel", "worker"]
    assert sender[sender.index("-Q") + 1].split(",") == [queue]


def test_it_runs_celery_beat_in_beat() -> None:
    assert argv(service("beat")["command"])[:4] == ["celery", "-A", "leadfunnel", "beat"]
    # The schedule lives in the database: beat needs no state file, only migrations.
    assert "django_celery_beat.schedulers:DatabaseScheduler" in settings_text()


def test_it_migrates_once_after_postgres_is_healthy() -> None:
    command = argv(service("migrate")["command"])
    assert command[:3] == ["python", "manage.py", "migrate"]
    assert "--noinput" in command
    assert depends_on("migrate").get("postgres") == "service_healthy"
    # A quoted "no": YAML's bare `no` is the boolean false, which Compose rejects.
    assert raw_compose()["services"]["migrate"]["restart"] == "no"


@pytest.mark.parametrize("name", LONG_RUNNING_APP_SERVICES)
def test_it_starts_app_services_after_migrations_and_a_healthy_redis(name: str) -> None:
    deps = depends_on(name)
    assert deps.get("migrate") == "service_completed_successfully"
    assert deps.get("redis") == "service_healthy"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_it_builds_app_services_from_the_dockerfile(name: str) -> None:
    build = service(name)["build"]
    context = build if isinstance(build, str) else build.get("context", ".")
    dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
    assert (ROOT / context / dockerfile).resolve() == DOCKERFILE


def test_it_health_checks_web_on_a_page_that_exists() -> None:
    from django.urls import resolve

    check = healthcheck_argv("web")
    assert check[:2] == ["python", "-c"]
    code = check[2]
    compile(code, "<web healthcheck>", "exec")
    urls = re.findall(r"http://(?:127\.0\.0\.1|localhost):8000(/[^\"']*)", code)
    assert urls, "the web healthcheck requests no local URL"
    for path in urls:
        resolve(path)  # raises Resolver404 when the page is gone


def test_it_pings_the_worker_by_its_own_node_name() -> None:
    check = healthcheck_argv("worker")
    assert check[:5] == ["celery", "-A", "leadfunnel", "inspect", "ping"]
    # $$ in the file: the container's shell expands $HOSTNAME, not Compose on the host.
    assert check[check.index("-d") + 1] == "celery@$HOSTNAME"


def test_it_runs_commands_on_files_that_exist() -> None:
    """Every file, module or Celery app a command line names is in the repository."""
    command_lines = [argv(service(name)["command"]) for name in APP_SERVICES]
    command_lines += [healthcheck_argv(name) for name in ("web", "worker")]
    command_lines += [dockerfile_command()]
    checked = 0
    for command in command_lines:
        for index, token in enumerate(command):
            if token.endswith(".py"):
                assert (ROOT / token).is_file(), f"{token} (in {command})"
                checked += 1
            if re.fullmatch(r"[a-z_][\w.]*:\w+", token):  # gunicorn's module:callable
                module, _, attribute = token.partition(":")
                source = ROOT / (module.replace(".", "/") + ".py")
                assert source.is_file(), f"{token} (in {command})"
                assert re.search(rf"^{attribute}\b", source.read_text(), re.MULTILINE)
                checked += 1
            if token == "-A":  # celery -A <package>: its __init__ must expose the app
                package = ROOT / command[index + 1]
                assert (package / "celery.py").is_file(), f"-A {command[index + 1]}"
                assert "celery_app" in (package / "__init__.py").read_text()
                checked += 1
    assert checked >= 5


# Environment ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", APP_SERVICES)
def test_it_wires_each_app_service_to_the_stack(name: str) -> None:
    env = service(name)["environment"]
    database = urllib.parse.urlsplit(env["DATABASE_URL"])
    assert database.scheme in ("postgres", "postgresql", "pgsql")
    assert database.hostname == "postgres"
    for variable in ("REDIS_URL", "CELERY_BROKER_URL"):
        url = urllib.parse.urlsplit(env[variable])
        assert (url.scheme, url.hostname) == ("redis", "redis"), variable
    assert env["REDIS_URL"] != env["CELERY_BROKER_URL"], "cache and broker share a database"
    assert env["SECRET_KEY"] == REQUIRED_HOST_ENV["SECRET_KEY"]
    assert env["DEBUG"] == "0"
    for variable in ("ALLOWED_HOSTS", "EMAIL_URL", "SITE_URL"):
        assert env.get(variable), variable


def test_it_gives_every_app_service_the_same_environment() -> None:
    environments = [service(name)["environment"] for name in APP_SERVICES]
    assert all(env == environments[0] for env in environments)


def test_it_quotes_environment_values_as_strings() -> None:
    """YAML turns bare 0/no/on into numbers and booleans; Compose wants strings."""
    for name, spec in raw_compose()["services"].items():
        for variable, value in (spec.get("environment") or {}).items():
            assert isinstance(value, str), f"{name}: {variable}={value!r}"


def test_it_sets_only_variables_settings_reads() -> None:
    """Keeps compose and settings in sync: a renamed setting fails here, not in production."""
    text = settings_text()
    names = {variable for name in APP_SERVICES for variable in service(name)["environment"]}
    unread = sorted(name for name in names if not re.search(rf"[\"']{name}[\"']", text))
    assert not unread, f"settings.py does not read {unread}"


@pytest.mark.parametrize("name", sorted(REQUIRED_HOST_ENV))
def test_it_requires_secrets_mail_server_and_sender_and_defaults_everything_else(
    name: str,
) -> None:
    without = {key: value for key, value in REQUIRED_HOST_ENV.items() if key != name}
    with pytest.raises(MissingVariableError, match=f"^{name}: set {name}"):
        compose(without)
    compose(REQUIRED_HOST_ENV)  # any other variable left unset has a usable default


def test_the_compose_defaults_pass_check_deploy() -> None:
    """The web service's environment, as compose gives it, passes `manage.py check --deploy`.

    Only warnings remain (the three *_SECURE switches default to off for plain-http localhost);
    an error such as mail.E001 for a development email backend fails it. No server is needed:
    the checks connect to neither PostgreSQL nor Redis.
    """
    env = {"PATH": os.environ.get("PATH", ""), **service("web")["environment"]}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ERRORS:" not in result.stdout + result.stderr


def test_it_defaults_to_values_settings_can_parse() -> None:
    env = service("web")["environment"]
    database = environ.Env.db_url_config(env["DATABASE_URL"])
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert environ.Env.email_url_config(env["EMAIL_URL"])["EMAIL_BACKEND"]
    for variable in ("SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE"):
        # Off by default: the local stack is plain http; TLS terminates at a proxy.
        assert environ.Env.parse_value(env[variable], bool) is False, variable
    assert environ.Env.parse_value(env["DEBUG"], bool) is False
    assert urllib.parse.urlsplit(env["SITE_URL"]).scheme in ("http", "https")


# Dockerfile -------------------------------------------------------------------------------


def test_it_builds_on_python_312_slim_as_a_non_root_user() -> None:
    instructions = dockerfile_instructions()
    assert instructions[0] == ("FROM", "python:3.12-slim")
    users = [args for keyword, args in instructions if keyword == "USER"]
    assert users, "the image runs as root"
    assert users[-1].split(":")[0] not in ("root", "0")


def test_it_installs_the_lock_without_resolving() -> None:
    installs = [run for run in dockerfile_runs() if "pip install" in run]
    assert installs
    for run in installs:
        tokens = shlex.split(run)
        assert "--no-deps" in tokens
        assert tokens[tokens.index("-r") + 1] == "requirements/base.lock"
    copied = [source for sources, _ in dockerfile_copies() for source in sources]
    assert "requirements/base.lock" in copied


def test_it_copies_only_paths_that_exist() -> None:
    for sources, _ in dockerfile_copies():
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: no such path"
            assert not dockerignored(source), f"COPY {source}: excluded by .dockerignore"


def test_it_copies_directories_whole() -> None:
    """`COPY a b ./` flattens a's and b's contents together; one directory per COPY."""
    for sources, destination in dockerfile_copies():
        for source in sources:
            if (ROOT / source).is_dir():
                assert len(sources) == 1, f"COPY {' '.join(sources)}"
                assert Path(destination.rstrip("/")).name == Path(source).name


def test_it_copies_the_whole_app() -> None:
    copied = {source.rstrip("/") for sources, _ in dockerfile_copies() for source in sources}
    if "." in copied:
        return
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {
        pattern.rstrip("*")
        for pattern in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    # Directories settings.py points at (templates, static); var is runtime state.
    directories = set(re.findall(r'BASE_DIR / "(\w+)"', settings_text())) - {"var"}
    missing = sorted((packages | directories | {"manage.py"}) - copied)
    assert not missing, f"the Dockerfile does not COPY {missing}"


def test_it_collects_static_files_at_build_time_with_a_throwaway_key() -> None:
    (collect,) = [run for run in dockerfile_runs() if "collectstatic" in run]
    assert "SECRET_KEY=" in collect
    assert "--noinput" in collect
    # Not ENV or ARG: those would leave the key in the image's config for every process.
    for keyword, args in dockerfile_instructions():
        assert not (keyword in ("ENV", "ARG") and "SECRET_KEY" in args), f"{keyword} {args}"


def test_it_serves_gunicorn_on_port_8000_by_default() -> None:
    instructions = dockerfile_instructions()
    assert ("EXPOSE", "8000") in instructions
    command = dockerfile_command()
    assert command[:2] == ["gunicorn", "leadfunnel.wsgi:application"]
    assert command[command.index("--bind") + 1] == "0.0.0.0:8000"
    assert command[command.index("--workers") + 1] == "${WEB_CONCURRENCY:-2}"


def test_it_keeps_local_state_out_of_the_build_context() -> None:
    for path in (".venv", "var", ".git", "capture/__pycache__", "tests/e2e/screenshots"):
        assert dockerignored(path), path
