"""The console's cases of `make bench` (issue 15): the home page, a company's page and one mentor's week in the
calendar as a browser asks for
them (an HTTP/1.1 GET with the session cookie, over kept-alive connections, one per request in flight), with
p50/p99 of the time to the first byte; each beside the gRPC calls that page makes, made at once through the
console's own backend ("home/gRPC", "company/gRPC", "calendar/gRPC"). The ratio is what the console adds: the
session, the rendering, HTTP."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from http.cookiejar import CookieJar
from typing import Any
from zoneinfo import ZoneInfo

from hub.companies.v1 import companies_pb2 as cpb

from bench.results import Failed, Result, percentile
from hubcore.settings import PROJECT_DIR
from hublocal.natsserver import free_port
from services.console.backend import Hub
from services.console.pages.companies import company_calls
from services.console.pages.directory import directory_calls, every_session
from services.console.pages.home import home_calls
from services.console.weeks import Week, rfc3339

Measure = Callable[[str, Callable[[int], Awaitable[Any]], int, str], Awaitable[Result]]


class Browser:
    """Kept-alive HTTP/1.1 connections to the console, each carrying the signed-in session's cookie."""

    def __init__(self, port: int, cookie: str) -> None:
        self.port, self.cookie = port, cookie
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.first_bytes: list[float] = []

    async def get(self, path: str) -> None:
        reader, writer = await self._connection()
        began = time.perf_counter()
        writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {self.cookie}\r\n\r\n".encode())
        status = await reader.readline()
        self.first_bytes.append(time.perf_counter() - began)
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
        await reader.readexactly(length)
        self.idle.append((reader, writer))
        if not status.startswith(b"HTTP/1.1 200"):
            raise Failed(f"GET {path}: {status.decode(errors='replace').strip()}")

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A kept-alive connection, or a new one: the console closes one left idle past its keep-alive time
        (while a baseline runs), as a browser finds."""
        while self.idle:
            reader, writer = self.idle.pop()
            if not writer.is_closing() and not reader.at_eof():
                return reader, writer
            writer.close()
        return await asyncio.open_connection("127.0.0.1", self.port)

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()


def sign_in(port: int, token: str) -> str:
    """The session cookie a program manager gets by pasting the admin token (the sign-in form, CSRF and all)."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    base = f"http://127.0.0.1:{port}"
    page = opener.open(f"{base}/sign-in", timeout=10).read().decode()
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    if not found:
        raise Failed("the sign-in page has no CSRF field")
    form = urllib.parse.urlencode({"csrf": found.group(1), "token": token}).encode()
    home = opener.open(f"{base}/sign-in/token", form, timeout=30)
    if not home.url.endswith("/") or home.url.endswith("/sign-in"):
        raise Failed(f"signing in with the admin token landed on {home.url}")
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def start_console(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([sys.executable, "-m", "services.console"], cwd=PROJECT_DIR,
                               env=env | {"HUB_CONSOLE_PORT": str(port)})  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return process
        except OSError:
            if process.poll() is not None:
                raise Failed("the console did not start") from None
            time.sleep(0.2)
    process.kill()
    raise Failed("the console did not answer within 60 s")


async def console_cases(
    env: dict[str, str],
    addresses: dict[str, str],
    token: str,
    company: str,
    mentor: str,
    in_flight: list[int],
    once: Measure,
) -> list[Result]:
    port = free_port()
    process = await asyncio.to_thread(start_console, env, port)
    hub = Hub(addresses, timeout=30.0)
    results: list[Result] = []
    try:
        browser = Browser(port, await asyncio.to_thread(sign_in, port, token))
        signed = hub.signed(token)

        async def home_rpcs(n: int) -> Any:
            return await asyncio.gather(*home_calls(signed).values())

        async def company_rpcs(n: int) -> Any:
            await signed.companies.GetCompany(cpb.GetCompanyRequest(name=company))
            return await asyncio.gather(*company_calls(signed, company, True).values())

        # One mentor's week in the calendar: next week, where the bench's sessions begin (50 for a mentor).
        zone = ZoneInfo("Asia/Seoul")
        week = Week.of((datetime.now(zone) + timedelta(days=7)).date().isoformat(), datetime.now(zone).date(), zone)
        start, end = week.bounds()
        terms = [f"start_after={rfc3339(start)}", f"start_before={rfc3339(end)}", f"mentor={mentor}"]

        async def calendar_rpcs(n: int) -> Any:
            return await asyncio.gather(every_session(signed, terms), *directory_calls(signed).values())

        cases = [
            ("home/gRPC", home_rpcs, "console /", "/"),
            ("company/gRPC", company_rpcs, "console company", f"/{company}"),
            ("calendar/gRPC", calendar_rpcs, "console calendar week",
             f"/calendar?week={week.monday.isoformat()}&mentor={mentor}"),
        ]  # fmt: skip
        for baseline, rpcs, name, path in cases:
            for flight in in_flight:
                results.append(await once(baseline, rpcs, flight, "echo"))
                browser.first_bytes.clear()

                async def page(n: int, path: str = path) -> None:
                    await browser.get(path)

                result = await once(name, page, flight, baseline)
                # The measured calls are the last ones (the warm-up came first): their time to first byte.
                ttfb = sorted(browser.first_bytes[-result.calls :]) if result.calls else []
                if ttfb:
                    result.p50_ms = round(percentile(ttfb, 0.50) * 1000, 3)
                    result.p99_ms = round(percentile(ttfb, 0.99) * 1000, 3)
                result.note = "p50/p99: time to the first byte"
                results.append(result)
        browser.close()
    finally:
        await hub.close()
        process.terminate()
        await asyncio.to_thread(process.wait, 15)
    return results
