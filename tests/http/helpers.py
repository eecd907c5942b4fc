"""Helpers shared by the HTTP layer's tests: a ProbeContext factory and the run's client."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from scim_doctor.core.secrets import Secret
from scim_doctor.net.context import DEFAULT_MAX_BODY, Options, ProbeContext
from scim_doctor.net.http import HttpClient
from scim_doctor.net.target import ResolvePin, parse_base_url
from scim_doctor.net.trust import Trust

TOKEN = "tok-7Qx2LmN9pR4sT8vW"
"""The canary: it must show in no transcript, message or error."""


def make_ctx(
    base_url: str,
    trust: Trust,
    *,
    token: str | None = TOKEN,
    timeout: float = 3.0,
    deadline: float = 30.0,
    max_body: int = DEFAULT_MAX_BODY,
    resolve: Sequence[ResolvePin] = (),
    insecure: bool = False,
    proxy: str | None = None,
) -> ProbeContext:
    return ProbeContext(
        target=parse_base_url(base_url),
        options=Options(
            timeout=timeout,
            deadline=deadline,
            max_body=max_body,
            resolve=tuple(resolve),
            insecure=insecure,
            proxy=proxy,
        ),
        token=Secret(token) if token is not None else None,
        trust=trust,
        deadline_at=time.monotonic() + deadline,
    )


@asynccontextmanager
async def client_for(ctx: ProbeContext) -> AsyncIterator[HttpClient]:
    """The run's client, closed afterwards the way the runner closes it."""
    client = HttpClient.for_context(ctx)
    try:
        yield client
    finally:
        await ctx.http.aclose()
