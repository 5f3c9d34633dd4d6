"""`make screenshots`: the app's main screens as PNGs, for the README and for review.

Runs the app on a throwaway SQLite database with the demo data, drives Debian's Chromium
with Playwright and writes var/screenshots/*.png; with --docs, also docs/screenshots/.
"""

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "screenshot-demo-pass"  # noqa: S105 - a throwaway demo database


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", action="store_true", help="also copy to docs/screenshots/")
    args = parser.parse_args()
    out = ROOT / "var" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as var_dir:
        for folder in ("mail", "broker/out", "broker/processed"):  # as scripts/run makes them
            Path(var_dir, folder).mkdir(parents=True)
        port = _free_port()
        env = {
            **os.environ,
            "DEBUG": "1",
            "VAR_DIR": var_dir,
            "DEMO_PASSWORD": PASSWORD,
            "SITE_URL": f"http://127.0.0.1:{port}",
            "CAPTURE_MIN_FILL_SECONDS": "0",
        }
        for name in ("DATABASE_URL", "REDIS_URL", "EMAIL_URL", "CELERY_BROKER_URL"):
            env.pop(name, None)
        python = sys.executable
        subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        subprocess.run(
            [python, "manage.py", "seed_demo"],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        server = subprocess.Popen(
            [python, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        email_html = subprocess.run(
            [python, "manage.py", "shell", "-c", EMAIL_SNIPPET],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        email_html = email_html[email_html.lower().find("<!doctype") :]  # shell's own chatter
        try:
            _wait_for(port)
            taken = _shoot(f"http://127.0.0.1:{port}", out, email_html=email_html)
        finally:
            server.terminate()
            server.wait(timeout=10)
    if args.docs:
        docs = ROOT / "docs" / "screenshots"
        docs.mkdir(parents=True, exist_ok=True)
        for name in taken:  # only this run's shots, not the e2e tests' under var/screenshots/
            shutil.copy(out / name, docs / name)
    print(f"Screenshots in {out}")


# The Day-1 email as a demo lead gets it: the real layout, rendered by the app itself.
EMAIL_SNIPPET = """
from capture.models import Lead
from nurture.models import Step
from nurture.services.composing import build_preview
lead = Lead.objects.get(email="maria.gonzalez@northwind.example")
step = Step.objects.get(sequence__name="Free consultation follow-up", day=1)
print(build_preview(step=step, lead=lead).html)
"""


def _shoot(base: str, out: Path, *, email_html: str) -> list[str]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        desktop = browser.new_page(viewport={"width": 1280, "height": 900})
        desktop.goto(f"{base}/l/free-consultation/?utm_source=google&utm_campaign=spring-consult")
        desktop.screenshot(path=out / "landing-page.png", full_page=True)
        desktop.click("text=Book my free consultation")
        desktop.screenshot(path=out / "landing-page-errors.png", full_page=True)

        phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
        phone.goto(f"{base}/l/free-consultation/")
        phone.screenshot(path=out / "landing-page-phone.png", full_page=True)

        desktop.goto(f"{base}/admin/login/")
        desktop.fill("#id_username", "marketer")
        desktop.fill("#id_password", PASSWORD)
        desktop.click("input[type=submit]")
        desktop.goto(f"{base}/admin/capture/lead/")
        desktop.screenshot(path=out / "admin-leads.png")
        desktop.goto(f"{base}/admin/capture/landingpage/")
        desktop.screenshot(path=out / "admin-landing-pages.png")

        sales = browser.new_page(viewport={"width": 1280, "height": 700})
        sales.goto(f"{base}/accounts/login/")
        sales.fill("#id_username", "sales")
        sales.fill("#id_password", PASSWORD)
        sales.click("button[type=submit]")
        sales.wait_for_selector("h1")
        sales.screenshot(path=out / "sales-dashboard.png")
        sales.click("text=Maria Gonzalez")
        sales.wait_for_selector("#timeline")
        sales.set_viewport_size({"width": 1280, "height": 1100})
        sales.screenshot(path=out / "sales-lead.png")
        sales.goto(f"{base}/sales/board/")
        sales.wait_for_selector("#board")
        sales.set_viewport_size({"width": 1280, "height": 700})
        sales.screenshot(path=out / "sales-board.png")

        email = browser.new_page(viewport={"width": 720, "height": 560})
        email.set_content(email_html)
        email.screenshot(path=out / "email-day1.png", full_page=True)
        browser.close()
    return [
        "landing-page.png",
        "landing-page-errors.png",
        "landing-page-phone.png",
        "admin-leads.png",
        "admin-landing-pages.png",
        "sales-dashboard.png",
        "sales-lead.png",
        "sales-board.png",
        "email-day1.png",
    ]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the server did not start")


if __name__ == "__main__":
    main()
