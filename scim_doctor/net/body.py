"""Pure helpers for response bodies: capped decoding, media types, charsets, JSON, Retry-After.

No I/O here, so each hostile input (gzip bomb, undecodable charset, JSON nested a million deep,
a Retry-After in the past) is tested without a server. The HTTP layer feeds raw bytes in; probes
ask the questions (`is_scim_json`, `parse_json`, `charset_problem`).
"""

from __future__ import annotations

import codecs
import datetime as dt
import email.utils
import json
import tempfile
import threading
import zlib
from collections.abc import Iterator
from typing import IO, Any, NamedTuple

SCIM_JSON = "application/scim+json"

# How far past the decoded cap the raw (compressed) bytes may go before we stop reading: deflate
# never grows data by more than a few bytes per 16 KiB block, so more raw than decoded bytes
# means something is wrong and reading on only costs time.
_RAW_SLACK = 64 * 1024
_GZIP_MAGIC = b"\x1f\x8b"


class _Inflate:
    """One gzip or deflate layer that inflates on demand, `max_out` bytes at a time.

    `zlib.decompressobj(...).decompress(data, max_length)` keeps what it could not inflate in
    `unconsumed_tail` instead of producing it, so a bomb never expands in memory past what is
    pulled, and what is pulled is bounded by the cap.
    """

    def __init__(self, coding: str) -> None:
        self.coding = coding
        self._gzip = coding != "deflate"
        self._wbits = zlib.MAX_WBITS | 16 if self._gzip else zlib.MAX_WBITS
        self._obj: Any = zlib.decompressobj(self._wbits)
        self._pending = b""
        self._started = False
        self.complete = False

    def push(self, data: bytes) -> None:
        self._pending += data

    def pull(self, max_out: int) -> bytes:
        """Up to `max_out` inflated bytes from the input pushed so far (b'' when it needs more).

        Raises zlib.error when the stream is corrupt.
        """
        while self._pending and max_out > 0:
            if self._obj is None:
                if not (self._gzip and self._pending.startswith(_GZIP_MAGIC)):
                    self._pending = b""  # padding after the stream's end: ignored, as curl does
                    return b""
                self._obj = zlib.decompressobj(self._wbits)  # the next member of a gzip file
                self.complete = False
            try:
                out: bytes = self._obj.decompress(self._pending, max_out)
            except zlib.error:
                if self._gzip or self._started:
                    raise
                # "deflate" means zlib-wrapped (RFC 9110 §8.4.1.2), but some servers send raw
                # deflate; browsers and httpx accept both, so do we.
                self._wbits = -zlib.MAX_WBITS
                self._obj = zlib.decompressobj(self._wbits)
                self._started = True
                continue
            self._started = True
            before = self._pending
            if self._obj.eof:
                self.complete = True
                self._pending = self._obj.unused_data
                self._obj = None
            else:
                self._pending = self._obj.unconsumed_tail
            if out:
                return out
            if self._pending == before:
                break
        return b""


_STEP = 256 * 1024
"""Bytes inflated per step: the working memory of decoding, whatever the compression ratio."""


def _stages(content_encoding: str | None) -> tuple[list[_Inflate], str | None]:
    """The inflate stages that undo `content_encoding`, or why it cannot be undone."""
    stages: list[_Inflate] = []
    codings = [c.strip().lower() for c in (content_encoding or "").split(",") if c.strip()]
    for coding in reversed(codings):  # the last coding applied is the first to undo
        if coding in ("gzip", "x-gzip", "deflate"):
            stages.append(_Inflate(coding))
        elif coding != "identity":
            return [], (
                f"the body uses Content-Encoding {coding!r}, which scim-doctor did not ask "
                "for (it sends Accept-Encoding: gzip, deflate) and cannot decode"
            )
    return stages, None


SPILL_AT = 256 * 1024
"""Decoded bytes of one body held in memory while it is read. Past this a body goes on into an
unnamed temporary file until it is known to fit under the cap: many requests in flight (a
fleet's, or one check's requests at once to a server answering 200 MB each) then hold at most
this much each in memory, not --max-body each (issue 21). A body over the cap keeps only these
first bytes (enough for the transcript's excerpt and for recognising what it is)."""


class MemoryBudget:
    """Decoded body bytes that all the bodies being read in one process may hold in memory
    together (a fleet's targets, every check's requests in flight): a body whose head would
    go past it goes to its temporary file from there on. Taken and given back under a lock
    (the lifecycle's clean-up reads in a thread of its own); never waited for, so it cannot
    deadlock, and what a body reads is the same wherever its bytes wait."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.used = 0
        self._lock = threading.Lock()

    def take(self, wanted: int) -> int:
        """Up to `wanted` bytes of the budget (0 when it is spent); give them back later."""
        with self._lock:
            granted = max(0, min(wanted, self.total - self.used))
            self.used += granted
            return granted

    def give_back(self, amount: int) -> None:
        with self._lock:
            self.used -= amount


BODY_MEMORY = MemoryBudget(16 * 1024 * 1024)
"""The process's budget: 64 bodies' worth of SPILL_AT, far more than healthy runs read at once."""


class CappedBody:
    """A response body decoded chunk by chunk (Content-Encoding), never past `limit` bytes.

    `too_large` says the body went past the cap; `size` counts the decoded bytes read (at most
    `limit`). `body` holds the first `spill_at` of them, the rest waits in a temporary file;
    `contents()` gives the whole body, or only `body` when it was too large. An unsupported or
    corrupt encoding sets `error` and stops decoding (the raw bytes read so far are kept, so
    the transcript still shows something).
    """

    def __init__(
        self,
        content_encoding: str | None,
        limit: int,
        spill_at: int = SPILL_AT,
        budget: MemoryBudget = BODY_MEMORY,
    ) -> None:
        self.limit = max(0, limit)
        self.spill_at = spill_at
        self._budget = budget
        self._reserved = 0
        self.body = bytearray()
        self.size = 0
        self.raw_bytes = 0
        self.too_large = False
        self.error: str | None = None
        self._spill: IO[bytes] | None = None
        self._stages, self.error = _stages(content_encoding)
        self._failing = ""

    @property
    def done(self) -> bool:
        """True when reading more of the body would change nothing."""
        return self.too_large or (self.error is not None and bool(self._stages))

    def feed(self, data: bytes) -> None:
        if self.done or not data:
            return
        self.raw_bytes += len(data)
        try:
            self._pump(0, data)
        except zlib.error as exc:
            self.error = f"the {self._failing} body is corrupt ({exc})"
            return
        if self.raw_bytes > self.limit + _RAW_SLACK:
            self.too_large = True

    def _pump(self, index: int, data: bytes) -> None:
        if index == len(self._stages):
            room = self.limit - self.size
            if len(data) > room:
                self.too_large = True
                data = data[:room]
            self._keep(data)
            return
        stage = self._stages[index]
        self._failing = stage.coding
        stage.push(data)
        while not self.too_large:
            out = stage.pull(min(_STEP, self.limit + 1 - self.size))
            if not out:
                return
            self._pump(index + 1, out)

    def _keep(self, data: bytes) -> None:
        self.size += len(data)
        head = min(self.spill_at - len(self.body), len(data))
        if self._spill is None and head > 0:  # once in the file, the rest follows it there
            head = self._budget.take(head)
            self._reserved += head
            self.body += data[:head]
            data = data[head:]
        if data and (not self.too_large or len(self.body) + self._spilled < self.spill_at):
            if self._spill is None:
                self._spill = tempfile.TemporaryFile(prefix="scim-doctor-body-")
            self._spill.write(data)

    @property
    def _spilled(self) -> int:
        return self._spill.tell() if self._spill is not None else 0

    def contents(self) -> bytes:
        """The decoded body (its first `spill_at` bytes only when it was too large); closes
        the temporary file and gives the memory budget back."""
        spill, self._spill = self._spill, None
        self._give_back()
        if spill is None:
            return bytes(self.body)
        with spill:
            spill.seek(0)
            rest = spill.read(self.spill_at - len(self.body)) if self.too_large else spill.read()
            return bytes(self.body) + rest

    def close(self) -> None:
        """Drop the temporary file, if any, and give the memory budget back (`contents()`
        does both too)."""
        spill, self._spill = self._spill, None
        self._give_back()
        if spill is not None:
            spill.close()

    def _give_back(self) -> None:
        self._budget.give_back(self._reserved)
        self._reserved = 0

    def finish(self) -> None:
        """The whole body arrived: a compressed stream must have reached its end marker."""
        if self.too_large or self.error is not None or not self.raw_bytes:
            return
        for stage in self._stages:
            if not stage.complete:
                self.error = f"the {stage.coding} body ends before the end of its compressed stream"
                return


class StreamingBody:
    """A response body decoded chunk by chunk for a reader that keeps none of it.

    The streaming twin of `CappedBody`: the same Content-Encoding handling, the same cap on
    decoded bytes (`limit`) and on raw bytes, but each decoded piece (at most 256 KiB, whatever
    the compression ratio) is handed on instead of kept, so a 500 MB page of users or a gzip
    bomb costs one piece of memory at a time. `decoded` counts what was handed on.
    """

    def __init__(self, content_encoding: str | None, limit: int) -> None:
        self.limit = max(0, limit)
        self.decoded = 0
        self.raw_bytes = 0
        self.too_large = False
        self._stages, self.error = _stages(content_encoding)
        self._failing = ""

    @property
    def done(self) -> bool:
        """True when reading more of the body would change nothing."""
        return self.too_large or self.error is not None

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The decoded pieces of `data` (consume them all before feeding more)."""
        if self.done or not data:
            return
        self.raw_bytes += len(data)
        try:
            yield from self._pump(0, data)
        except zlib.error as exc:
            self.error = f"the {self._failing} body is corrupt ({exc})"
            return
        if self.raw_bytes > self.limit + _RAW_SLACK:
            self.too_large = True

    def _pump(self, index: int, data: bytes) -> Iterator[bytes]:
        if index == len(self._stages):
            room = self.limit - self.decoded
            if len(data) > room:
                self.too_large = True
                data = data[:room]
            self.decoded += len(data)
            if data:
                yield data
            return
        stage = self._stages[index]
        self._failing = stage.coding
        stage.push(data)
        while not self.too_large:
            out = stage.pull(min(_STEP, self.limit + 1 - self.decoded))
            if not out:
                return
            yield from self._pump(index + 1, out)

    def finish(self) -> None:
        """The whole body arrived: a compressed stream must have reached its end marker."""
        if self.done or not self.raw_bytes:
            return
        for stage in self._stages:
            if not stage.complete:
                self.error = f"the {stage.coding} body ends before the end of its compressed stream"
                return


# --- media types and charsets -----------------------------------------------------------------


def media_type(content_type: str | None) -> str:
    """`application/scim+json; charset=utf-8` -> `application/scim+json` ('' when missing)."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def charset_of(content_type: str | None) -> str | None:
    """The declared `charset` parameter, lower case, without quotes (None when not declared)."""
    for param in (content_type or "").split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            return value.strip().strip("\"'").lower()
    return None


def is_scim_json(content_type: str | None) -> bool:
    return media_type(content_type) == SCIM_JSON


def is_json(content_type: str | None) -> bool:
    """application/json, application/scim+json or any other `+json` type."""
    kind = media_type(content_type)
    return kind == "application/json" or (
        kind.startswith("application/") and kind.endswith("+json")
    )


def is_html(content_type: str | None) -> bool:
    return media_type(content_type) in ("text/html", "application/xhtml+xml")


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_text(body: bytes, content_type: str | None = None) -> str:
    """The body as text for humans: declared charset (else UTF-8), bad bytes replaced."""
    return body.decode(_codec(charset_of(content_type)) or "utf-8", errors="replace")


def charset_problem(content_type: str | None, body: bytes) -> str | None:
    """Why the body cannot be read as the text it claims to be, with the byte offset; else None.

    JSON without a charset parameter is UTF-8 by definition (RFC 8259 §8.1), so it is checked
    too; other undeclared types are not judged.
    """
    declared = charset_of(content_type)
    if declared is None and not is_json(content_type):
        return None
    codec = _codec(declared or "utf-8")
    if codec is None:
        return f"Content-Type declares charset={declared!r}, which is not a known character set"
    try:
        body.decode(codec)
    except UnicodeDecodeError as exc:
        byte = body[exc.start]
        if declared is None:
            return (
                f"the JSON body is not UTF-8 (byte 0x{byte:02X} at offset {exc.start}); JSON "
                "without a charset parameter must be UTF-8 (RFC 8259 §8.1)"
            )
        return (
            f"Content-Type declares charset={declared} but byte 0x{byte:02X} at offset "
            f"{exc.start} is not valid {declared}"
        )
    return None


# --- JSON ---------------------------------------------------------------------------------------


class ParsedJson(NamedTuple):
    """A JSON body or why it is not one: `error` is None on success (`value` may be None: null)."""

    value: Any
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None


def parse_json(body: bytes, content_type: str | None = None) -> ParsedJson:
    """Parse a body as JSON without ever raising; errors name the byte offset.

    Lenient where real servers are sloppy but the meaning is clear: a UTF-8 byte order mark and
    surrounding whitespace are accepted; a declared charset other than UTF-8 is honoured.
    """
    skip = len(codecs.BOM_UTF8) if body.startswith(codecs.BOM_UTF8) else 0
    if not body[skip:].strip():
        return ParsedJson(None, "the body is empty, expected JSON")
    codec = _codec(charset_of(content_type)) or "utf-8"
    try:
        text = body[skip:].decode(codec)
    except UnicodeDecodeError as exc:
        offset = skip + exc.start
        return ParsedJson(
            None, f"the body is not valid {codec}: byte 0x{body[offset]:02X} at offset {offset}"
        )
    try:
        return ParsedJson(json.loads(text), None)
    except json.JSONDecodeError as exc:
        offset = skip + len(text[: exc.pos].encode(codec, errors="replace"))
        return ParsedJson(
            None,
            f"invalid JSON at byte {offset} (line {exc.lineno}, column {exc.colno}): {exc.msg}",
        )
    except RecursionError:
        return ParsedJson(None, "the JSON is nested too deeply to parse")
    except ValueError as exc:  # e.g. an integer longer than Python's digit limit
        return ParsedJson(None, f"the JSON cannot be parsed: {exc}")


# --- Retry-After --------------------------------------------------------------------------------


def _http_date(value: str) -> dt.datetime | None:
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def parse_retry_after(
    value: str | None, *, date: str | None = None, now: dt.datetime | None = None
) -> float | None:
    """Seconds to wait per a Retry-After header (delay-seconds or HTTP-date, RFC 9110 §10.2.3).

    An HTTP-date is measured from the response's own Date header when it has one (so a skewed
    local clock does not distort it), else from `now`. A date in the past gives 0; a value that
    is neither form gives None.
    """
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(int(text))
    when = _http_date(text)
    if when is None:
        return None
    reference = (_http_date(date) if date else None) or now or dt.datetime.now(dt.timezone.utc)
    return max(0.0, (when - reference).total_seconds())
