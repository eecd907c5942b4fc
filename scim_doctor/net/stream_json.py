"""Incremental reading of a SCIM ListResponse: each resource as soon as it has arrived.

A page of 100,000 users is 30 to 60 MB of JSON; `json.loads` would hold all of it, as text and
as objects, several times over. `ListStream` takes the body in pieces cut anywhere (inside a
string, an escape, a multi-byte character or a number) and yields each element of `Resources`
as soon as its text is complete, holding at most one element's text plus one piece. Only the
document's outline (`{`, keys, `:`, `,`, the `Resources` array) is walked here, in Python; each
element and every other top-level value is parsed by the standard library's C scanner (the
machinery behind `json.loads`), so a user costs what `json.loads` would charge for it.

The other top-level members (totalResults, startIndex, itemsPerPage, schemas, anything else)
are collected in `head`, as sent. `Resources` is recognised case-insensitively, as SCIM
attribute names are (RFC 7643 §2.1); a bare top-level array is streamed the same way (`shape`
says which it was). Malformed input raises `StreamError` with the byte offset, and nothing
else: a body is whatever a server sent.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Iterator
from typing import Any, Final, Literal, NamedTuple

__all__ = [
    "DEFAULT_MAX_ITEM",
    "ListStream",
    "StreamError",
    "WholeList",
    "first_item",
    "read_typed",
    "read_whole",
]

DEFAULT_MAX_ITEM: Final = 16 * 1024 * 1024
"""Characters one element (or other top-level value) may span: the parser's memory bound."""

_TAIL: Final = 16
"""An error this close to the end of the text read so far may only mean "more to come"
(`tru`, `-Infinit`, `1.`, half a `\\u` escape)."""

_WS = re.compile(r"[ \t\n\r]*")
_ESCAPED_KEY = re.compile(rb'\\u[0-9a-fA-F]{4}[^"\\]*"[ \t\n\r]*:')
"""A member name spelled with a \\u escape (which could spell Resources a second time)."""
_scan_once: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
_scan_string: Callable[[str, int], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]

# Where the outline walk is.
_START, _KEY_FIRST, _KEY, _COLON, _VALUE, _AFTER_MEMBER = range(6)
_ITEM_FIRST, _ITEM, _AFTER_ITEM, _END = range(6, 10)


class WholeList(NamedTuple):
    """A ListResponse body read in one go (`read_whole`): what `ListStream` would have given."""

    items: list[Any]
    """The elements of Resources (of every member named so, in document order)."""
    head: dict[str, Any]
    """The other top-level members, as `ListStream.head`."""
    shape: Literal["object", "array"]


def read_whole(body: bytes | bytearray) -> WholeList | None:
    """`body` parsed in one call of msgspec's C decoder (about half of `json.loads`' time), or
    None when only `ListStream` can say what it holds: not valid JSON for msgspec (a BOM, NaN,
    a lone surrogate, a number out of a double's range: json and ListStream accept some of
    those, so their verdict stands), no object or array at the top, or a Resources member
    named twice alike (a dict keeps the last; ListStream streams both). Where it answers, it
    answers exactly what feeding `body` to a `ListStream` and closing it would have: the same
    values (msgspec keeps big integers exact, as json does), the same order."""
    import msgspec  # the deep sweep only: no start-up cost for any other run

    if not _utf8(body):
        return None
    try:
        document = msgspec.json.decode(body)
    except (msgspec.DecodeError, RecursionError):
        return None
    if type(document) is list:
        return WholeList(document, {}, "array")
    if type(document) is not dict:
        return None
    items: list[Any] = []
    head: dict[str, Any] = {}
    for key, value in document.items():
        if key.lower() == "resources" and type(value) is list:
            if not _named_once(body, key):
                return None  # maybe the same name twice: ListStream's reading of it
            items.extend(value)
        else:
            head[key] = value
    return WholeList(items, head, "object")


def read_typed(body: bytes | bytearray, resources: Any) -> WholeList | None:
    """`read_whole` with the elements of Resources decoded by `resources` (a msgspec decoder of
    a list of some type): None, as there, when only ListStream can tell, and when an element
    is not of that type (msgspec's own check, in C, skipping what the type does not name)."""
    import msgspec

    if not _utf8(body):
        return None
    try:
        top = _top_decoder().decode(body)
    except (msgspec.DecodeError, RecursionError):
        return None
    names = [key for key in top if key.lower() == "resources"]
    if len(names) != 1 or not _alone(body, names[0], top[names[0]]):
        return None
    head: dict[str, Any] = {}
    try:
        items = resources.decode(top.pop(names[0]))
        for key, raw in top.items():
            head[key] = msgspec.json.decode(raw)
    except (msgspec.DecodeError, RecursionError):
        return None
    return WholeList(items, head, "object")


def first_item(body: bytes | bytearray) -> Any:
    """The first element of Resources as a Python value, parsed alone (None when the body is
    not a ListResponse msgspec reads, or Resources is empty): what a typed decoder for the
    rest of the page can be built from without every element as a dict first."""
    import msgspec

    try:
        top = _top_decoder().decode(body)
        names = [key for key in top if key.lower() == "resources"]
        if len(names) != 1:
            return None
        items = msgspec.json.decode(top[names[0]], type=list[msgspec.Raw])
        return msgspec.json.decode(items[0]) if items else None
    except (msgspec.DecodeError, RecursionError):
        return None


def _utf8(body: bytes | bytearray) -> bool:
    """Valid UTF-8, as ListStream's strict decoder wants it (msgspec does not look inside
    what it skips)."""
    if body.isascii():
        return True
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _named_once(body: bytes | bytearray, key: str) -> bool:
    """`key` written once only, and no member name spelled with a \\u escape: a member named
    twice is one entry of a dict but two for ListStream."""
    return body.count(b'"' + key.encode() + b'"') == 1 and not (
        b"\\u" in body and _ESCAPED_KEY.search(body) is not None
    )


def _alone(body: bytes | bytearray, key: str, value: Any) -> bool:
    """`key` names one member only: its first spelling in `body` is followed by `value`
    (msgspec.Raw, the last member of that name), and what lies outside that value (the
    other members: a few hundred bytes, where `body.count` would read all of it) names no
    other member alike, not even through a \\u escape."""
    start = body.find(b'"' + key.encode() + b'"')
    if start < 0:
        return False
    at = _WS_BYTES.match(body, start + len(key.encode()) + 2)
    colon = at.end() if at is not None else -1
    if body[colon : colon + 1] != b":":
        return False
    at = _WS_BYTES.match(body, colon + 1)
    begin = at.end() if at is not None else -1
    raw = memoryview(value)
    end = begin + len(raw)
    if not body.startswith(raw, begin):  # a memcmp in place (memoryviews compare per item)
        return False
    for outside in (body[:start], body[end:]):
        if b"esources" in outside.lower() or _ESCAPED_KEY.search(outside) is not None:
            return False
    return True


_WS_BYTES = re.compile(rb"[ \t\n\r]*")
_top: Any = None


def _top_decoder() -> Any:
    """A decoder of the top-level object with every member left undecoded (msgspec.Raw)."""
    global _top
    if _top is None:
        import msgspec

        _top = msgspec.json.Decoder(dict[str, msgspec.Raw])
    return _top


class StreamError(ValueError):
    """The body is not the JSON it should be; `offset` is the byte where that shows."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


class _More(Exception):
    """Internal: the text so far ends inside a value; wait for the next piece."""


class ListStream:
    """Feed pieces of a ListResponse body; get its resources one by one.

        parser = ListStream()
        async for piece in response.chunks():
            for user in parser.feed(piece):
                ...
        parser.close()  # raises StreamError if the document is incomplete

    Consume what `feed` yields before feeding the next piece.
    """

    def __init__(self, *, max_item: int = DEFAULT_MAX_ITEM, encoding: str = "utf-8") -> None:
        self.max_item = max_item
        self.encoding = encoding
        self.head: dict[str, Any] = {}
        """Top-level members other than Resources, as sent (last one wins, like json.loads)."""
        self.shape: Literal["object", "array"] | None = None
        """The top-level value: a ListResponse-like object, or a bare array."""
        self.items = 0
        """Elements yielded so far."""
        self._decoder = codecs.getincrementaldecoder(encoding)("strict")
        self._buf = ""
        self._pos = 0
        self._base = 0
        """Byte offset of `_buf[0]`."""
        self._fed = 0
        self._state = _START
        self._key = ""
        self._closed = False
        self._fresh = 0
        self._wanted = 0
        """Characters to receive before trying again a value found incomplete: as many as it
        had, so a value sent one byte at a time is parsed a few times, not once per byte."""

    # public

    def feed(self, data: bytes) -> Iterator[Any]:
        """The elements of Resources completed by this piece."""
        if self._closed:
            raise StreamError("the body was already closed", self._fed)
        pending = len(self._decoder.getstate()[0])
        try:
            text = self._decoder.decode(data)
        except UnicodeDecodeError as exc:
            offset = self._fed - pending + exc.start
            bad = bytes(exc.object[exc.start : exc.start + 1]).hex().upper()
            raise StreamError(
                f"the body is not valid {self.encoding}: byte 0x{bad} at offset {offset}", offset
            ) from None
        self._fed += len(data)
        if text:
            self._append(text)
            self._fresh += len(text)
        if self._fresh < self._wanted:
            return iter(())  # a value is still incomplete: parse it again once it may be whole
        return self._walk(final=False)

    def close(self) -> list[Any]:
        """The end of the body: any last elements; StreamError if the document is incomplete."""
        try:
            tail = self._decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            pending = len(self._decoder.getstate()[0])
            raise StreamError(
                f"the body ends inside a {self.encoding} character", self._fed - pending
            ) from None
        if tail:
            self._append(tail)
        items = list(self._walk(final=True))
        self._closed = True
        if self._state != _END:
            if self._state == _START:
                raise StreamError("the body is empty, expected JSON", self._fed)
            raise StreamError(
                f"the JSON ends early, at byte {self._fed}: the document is incomplete",
                self._fed,
            )
        return items

    # the walk

    def _append(self, text: str) -> None:
        if self._pos:
            consumed = self._buf[: self._pos]
            self._base += len(consumed) if consumed.isascii() else self._bytes(consumed)
            self._buf = self._buf[self._pos :] + text
            self._pos = 0
        else:
            self._buf += text

    def _bytes(self, text: str) -> int:
        return len(text.encode(self.encoding, "surrogatepass"))

    def _offset(self, pos: int) -> int:
        before = self._buf[:pos]
        return self._base + (len(before) if before.isascii() else self._bytes(before))

    def _fail(self, pos: int, message: str) -> StreamError:
        offset = self._offset(pos)
        return StreamError(f"invalid JSON at byte {offset}: {message}", offset)

    def _walk(self, *, final: bool) -> Iterator[Any]:
        buf = self._buf
        end = len(buf)
        pos = self._pos
        state = self._state
        ws = _WS.match
        try:
            while True:
                pos = ws(buf, pos).end()  # type: ignore[union-attr]
                if pos >= end:
                    break
                char = buf[pos]
                if state == _ITEM:
                    value, after = self._value(buf, pos, final)
                    pos = after
                    state = _AFTER_ITEM
                    self.items += 1
                    self._pos, self._state = pos, state
                    yield value
                elif state == _AFTER_ITEM:
                    if char == ",":
                        state, pos = _ITEM, pos + 1
                    elif char == "]":
                        state, pos = (_END if self.shape == "array" else _AFTER_MEMBER), pos + 1
                    else:
                        raise self._fail(pos, "Expecting ',' delimiter")
                elif state == _START:
                    if char == "\ufeff" and pos == 0 and self._base == 0:
                        pos += 1
                    elif char == "{":
                        self.shape, state, pos = "object", _KEY_FIRST, pos + 1
                    elif char == "[":
                        self.shape, state, pos = "array", _ITEM_FIRST, pos + 1
                    else:
                        self._value(buf, pos, final)  # a clean error for non-JSON bodies
                        raise self._fail(pos, "expected a JSON object (a ListResponse)")
                elif state in (_KEY_FIRST, _KEY):
                    if char == "}" and state == _KEY_FIRST:
                        state, pos = _END, pos + 1
                    elif char == '"':
                        self._key, pos = self._string(buf, pos, final)
                        state = _COLON
                    else:
                        raise self._fail(pos, "Expecting property name enclosed in double quotes")
                elif state == _COLON:
                    if char != ":":
                        raise self._fail(pos, "Expecting ':' delimiter")
                    state, pos = _VALUE, pos + 1
                elif state == _VALUE:
                    if char == "[" and self._key.lower() == "resources":
                        state, pos = _ITEM_FIRST, pos + 1
                    else:
                        value, pos = self._value(buf, pos, final)
                        self.head[self._key] = value
                        state = _AFTER_MEMBER
                elif state == _AFTER_MEMBER:
                    if char == ",":
                        state, pos = _KEY, pos + 1
                    elif char == "}":
                        state, pos = _END, pos + 1
                    else:
                        raise self._fail(pos, "Expecting ',' delimiter")
                elif state == _ITEM_FIRST:
                    if char == "]":
                        state, pos = (_END if self.shape == "array" else _AFTER_MEMBER), pos + 1
                    else:
                        state = _ITEM
                else:  # _END
                    raise self._fail(pos, "extra data after the JSON document")
                self._pos, self._state = pos, state
        except _More:
            self._wanted = end - pos
        else:
            self._wanted = 0
        self._fresh = 0
        self._pos, self._state = pos, state

    def _value(self, buf: str, pos: int, final: bool) -> tuple[Any, int]:
        """One complete JSON value starting at `pos` (raises _More when it may go on)."""
        try:
            value, after = _scan_once(buf, pos)
        except StopIteration as stop:  # no value where one must start (the inner-most one)
            at = stop.value if isinstance(stop.value, int) else pos
            self._incomplete(buf, pos, at, final, "Expecting value")
            raise self._fail(at, "Expecting value") from None
        except json.JSONDecodeError as exc:
            self._incomplete(buf, pos, exc.pos, final, exc.msg)
            raise self._fail(exc.pos, exc.msg) from None
        except RecursionError:
            raise self._fail(pos, "the JSON is nested too deeply to parse") from None
        except ValueError as exc:  # e.g. an integer longer than Python's digit limit
            raise self._fail(pos, f"the value cannot be parsed ({exc})") from None
        if after >= len(buf) and not final and isinstance(value, (int, float)):
            raise _More  # 12 may be the start of 1234
        return value, after

    def _string(self, buf: str, pos: int, final: bool) -> tuple[str, int]:
        try:
            return _scan_string(buf, pos + 1)
        except json.JSONDecodeError as exc:
            self._incomplete(buf, pos, exc.pos, final, exc.msg)
            raise self._fail(exc.pos, exc.msg) from None

    def _incomplete(self, buf: str, start: int, at: int, final: bool, message: str) -> None:
        """Raise _More when the error may be the end of the text so far, not a real error."""
        if final:
            if at >= len(buf) or message.startswith("Unterminated string"):
                offset = self._offset(len(buf))
                raise StreamError(
                    f"the JSON ends early, at byte {offset}: the document is incomplete "
                    f"({message})",
                    offset,
                )
            return
        maybe = message.startswith("Unterminated string") or at >= len(buf) - _TAIL
        if not maybe:
            return
        if len(buf) - start > self.max_item:
            raise self._fail(start, f"a value longer than {self.max_item} characters")
        raise _More
