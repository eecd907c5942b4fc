"""Masking of personal data in reports: on by default, in every format.

A report goes into support tickets, CI logs and chat; the users a SCIM server returns are real
people. `mask_report()` returns a copy of a report in which their user names, e-mail addresses,
names, phone numbers and postal addresses keep their shape but lose their content
(`a***@e***.com`, `A*** L***`, `+1 *** *** **67`), so a reader can still see that a value was
there and what kind it was. The command line applies it once before any reporter runs, unless
`--show-pii` is given; reporters never mask.

Three sources say what is personal:
  * structure: the SCIM attributes that hold personal data (userName, name.*, displayName,
    emails[].value, phoneNumbers[].value, addresses[].*, ...) wherever they appear in a fact or
    in a JSON body excerpt, even a truncated one;
  * patterns: anything shaped like an e-mail address or an international/NANP phone number;
  * the registry: values probes announce with `register_personal_data()` when they see
    resources, and every value the structural pass found in the report itself, masked wherever
    they appear in free text (messages, summaries, URLs, headers).

What is never changed: check ids, finding codes, severities and references (fields masking does
not touch), resource `id` values, the host part of URLs, the target host, and numbers that are
not shaped like phone numbers. Masking is idempotent: masking a masked report changes nothing.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from msgspec.structs import replace

from scim_doctor.core.model import CheckResult, Exchange, Finding, IdpVerdict, Report, TargetInfo

# The shapes and key-path rules live in pii_shapes; the `X as X` names are re-exported: other
# modules import TEST_NAME and mask_value from here, and the tests read the rest through `pii.`.
from scim_doctor.core.pii_shapes import _AFTER as _AFTER
from scim_doctor.core.pii_shapes import _AT, MASK, _mask_email, _mask_phone, _worth_remembering
from scim_doctor.core.pii_shapes import _BEFORE as _BEFORE
from scim_doctor.core.pii_shapes import _EMAIL as _EMAIL
from scim_doctor.core.pii_shapes import _PHONE as _PHONE
from scim_doctor.core.pii_shapes import _URL_AUTHORITY as _URL_AUTHORITY
from scim_doctor.core.pii_shapes import TEST_NAME as TEST_NAME
from scim_doctor.core.pii_shapes import _personal as _personal
from scim_doctor.core.pii_shapes import mask_value as mask_value

# A registered value shorter than this is not masked in free text: it would hit ordinary words.
_MIN_LENGTH = 2
# Parts of a registered name or e-mail local part also masked on their own from this length.
_MIN_PART_LENGTH = 3

# --- the registry --------------------------------------------------------------------------------

_registry_lock = threading.Lock()
_registered: set[str] = set()


def _forms(value: str) -> set[str]:
    """The forms a personal value takes in output: as is, its parts, URL- and JSON-encoded."""
    value = value.strip()
    if len(value) < _MIN_LENGTH or MASK in value or mask_value(value) == value:
        return set()
    forms = {value}
    at = re.search(_AT, value)
    if at and len(value[: at.start()]) >= _MIN_PART_LENGTH:
        forms.add(value[: at.start()])
    words = value.split()
    if len(words) > 1:
        forms.update(w for w in words if len(w) >= _MIN_PART_LENGTH and w[:1].isalnum())
    for form in list(forms):
        forms.add(urllib.parse.quote(form, safe="", errors="surrogatepass"))
        forms.add(urllib.parse.quote_plus(form, safe="", errors="surrogatepass"))
        forms.add(json.dumps(form)[1:-1])
    return {f for f in forms if len(f) >= _MIN_LENGTH and "*" not in f}


def register_personal_data(values: Iterable[str]) -> None:
    """Mask these values (and their encodings) in every report from now on.

    Probes call this with what they see in resources they sample (user names, names,
    addresses); thread-safe, like `secrets.register_secret`.
    """
    new: set[str] = set()
    for value in values:
        if isinstance(value, str):
            new |= _forms(value)
    if not new:
        return
    with _registry_lock:
        _registered.update(new)


def forget_personal_data() -> None:
    """Empty the registry: for tests, and for a long-lived process between unrelated runs."""
    with _registry_lock:
        _registered.clear()


def registered_personal_data() -> frozenset[str]:
    with _registry_lock:
        return frozenset(_registered)


# --- masking text --------------------------------------------------------------------------------


# The pattern rules, compiled once: a fleet masks hundreds of reports, and compiling these
# shapes (some 2 ms) for each report cost more than masking it.
_SHAPES = re.compile(
    rf"(?P<keep>{_URL_AUTHORITY}|(?<![\w.\-]){TEST_NAME}(?![\w\-]))"
    rf"|(?P<email>{_EMAIL})|(?P<phone>{_PHONE})",
    re.IGNORECASE,
)

# An e-mail or phone shape at any position, whatever the scan would keep around it: when there
# is none, and no known value, a text is left as it is.
_MASKABLE = re.compile(rf"{_EMAIL}|{_PHONE}", re.IGNORECASE)


_SHAPE_CHARACTER = re.compile(r"[0-9@]|%40")
_MEMO_ENTRIES = 4096


def _needs_shapes(text: str) -> bool:
    """False when no e-mail or phone shape can occur: ASCII text with no '@' and no digit.
    Without known values that is enough to leave a text alone: what the shapes keep (URL
    authorities, test names) matters only when a known value could match inside it."""
    return not text.isascii() or _SHAPE_CHARACTER.search(text) is not None


def _may_hold_shape(text: str) -> bool:
    """Whether any of the shapes can match, a kept URL authority or test name included."""
    return _needs_shapes(text) or "://" in text or "scim-doctor-" in text.lower()


class _TextMasker:
    """The free-text rules for one report: URL authorities and protected words kept, e-mail
    and phone shapes masked, known personal values masked.

    Two patterns scanned as one: the shapes (compiled once) and this report's literal words
    (protected words, then known values). At each position the earlier match wins; on a tie,
    a protected word first, then a shape, then a known value, the order of one alternation
    `keep | email | phone | known` would give.
    """

    def __init__(self, known: Iterable[str], protected: Iterable[str]) -> None:
        alternatives = []
        words = sorted({p for p in protected if p}, key=len, reverse=True)
        if words:
            alternatives.append(
                rf"(?P<protect>(?<![\w.\-])(?:{'|'.join(map(re.escape, words))})(?![\w\-]))"
            )
        values = sorted({v for v in known if v}, key=len, reverse=True)
        self._has_known = bool(values)
        self._known_lower = (
            tuple(v.lower() for v in values) if all(v.isascii() for v in values) else None
        )
        if values:
            alternatives.append(
                f"(?P<known>{_BEFORE}(?:{'|'.join(map(re.escape, values))}){_AFTER})"
            )
        # Compiled on first use: most texts of a report need no word at all, and a fleet builds
        # one masker per target.
        self._words_source = "|".join(alternatives) if alternatives else None
        self._words_pattern: re.Pattern[str] | None = None
        # A report repeats its strings (media types, dates, schema URNs): each is masked once.
        self._done: dict[str, str] = {}

    def _words(self) -> re.Pattern[str] | None:
        if self._words_pattern is None and self._words_source is not None:
            self._words_pattern = re.compile(self._words_source, re.IGNORECASE)
        return self._words_pattern

    def may_change(self, text: str) -> bool:
        """False only when no part of `text` can be masked: an ASCII text without a backslash
        (so every string in it reads as written), no e-mail or phone shape anywhere and no
        known value. A shape or value inside one JSON string is one in the whole text too:
        the quotes around a string pass every boundary rule the patterns have."""
        if not text.isascii() or "\\" in text or _MASKABLE.search(text) is not None:
            return True
        if self._known_lower is None:
            return True  # a known value that is not ASCII: only the pattern can tell
        lowered = text.lower()
        return any(value in lowered for value in self._known_lower)

    @staticmethod
    def _replace(match: re.Match[str]) -> str:
        kind = match.lastgroup
        text = match.group()
        if kind == "email":
            return _mask_email(text)
        if kind == "phone":
            return _mask_phone(text)
        if kind == "known":
            return mask_value(text)
        return text

    def __call__(self, text: str) -> str:
        if not text:
            return text
        masked = self._done.get(text)
        if masked is None:
            masked = self._mask(text)
            if len(self._done) < _MEMO_ENTRIES:
                self._done[text] = masked
        return masked

    def _mask(self, text: str) -> str:
        if not self._has_known:
            # Without known values only an e-mail or phone shape changes anything.
            if not _needs_shapes(text) or _MASKABLE.search(text) is None:
                return text
        elif not self.may_change(text):
            return text  # most strings of a report hold no shape and no known value
        words = self._words()
        if words is None:
            return _SHAPES.sub(self._replace, text)
        return self._merged(text, words)

    def _merged(self, text: str, words: re.Pattern[str]) -> str:
        out: list[str] = []
        pos = 0
        shape = _SHAPES.search(text) if _may_hold_shape(text) else None
        word = words.search(text)
        while True:
            if shape is not None and (
                word is None
                or shape.start() < word.start()
                or (shape.start() == word.start() and word.lastgroup != "protect")
            ):
                match = shape
            elif word is not None:
                match = word
            else:
                break
            out.append(text[pos : match.start()])
            out.append(self._replace(match))
            pos = match.end()
            if shape is not None and shape.start() < pos:
                shape = _SHAPES.search(text, pos)
            if word is not None and word.start() < pos:
                word = words.search(text, pos)
        out.append(text[pos:])
        return "".join(out)


_shapes_only = _TextMasker((), ())
"""Only the pattern rules: for dictionary keys, where known words would hit attribute names."""


# --- JSON text, possibly truncated ---------------------------------------------------------------

# Strings (possibly cut, possibly ending in a lone backslash) and the punctuation that moves the
# key path. Whitespace, numbers and literals change nothing and are copied between matches.
_JSON_TOKEN = re.compile(r'("[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)|[{}\[\]:,])', re.DOTALL)


def _decode(raw: str) -> str:
    if "\\" not in raw:
        return raw
    try:
        decoded = json.loads(f'"{raw}"')
    except ValueError:
        return raw
    return decoded if isinstance(decoded, str) else raw


def _encode(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)[1:-1]


def _scan_json(text: str, on_value: Callable[[tuple[str, ...], str], str]) -> str:
    """Rewrite every string value of a JSON text (which may be cut anywhere) through
    `on_value(key_path, raw_string)`, keeping all other bytes as they are."""
    # One split in C: the text before the first token, then each token and the text after it.
    pieces = _JSON_TOKEN.split(text)
    out = [pieces[0]]
    last = len(pieces) - 2  # the last token's index
    # One frame per open container: (is_object, key path of the container, current key,
    # expecting a key).
    stack: list[tuple[bool, tuple[str, ...], str | None, bool]] = []
    for index in range(1, len(pieces), 2):
        token = pieces[index]
        head = token[0]
        frame = stack[-1] if stack else None
        if head in "{[":
            # A key names the container only when nothing but blanks stands between them: in
            # `{"name": 1 {` (malformed) the braces open under no key, as the quick test reads it.
            key = frame[2] if frame and frame[0] and not pieces[index - 1].strip() else None
            path = frame[1] + ((key,) if key else ()) if frame else ()
            stack.append((head == "{", path, None, head == "{"))
        elif head in "}]":
            if stack:
                stack.pop()
        elif head == ":":
            if frame and frame[0]:
                stack[-1] = (True, frame[1], frame[2], False)
        elif head == ",":
            if frame and frame[0]:
                stack[-1] = (True, frame[1], None, True)
        elif head == '"':
            # Only a string cut at the very end of the text can end in an escaped quote.
            closed = (
                len(token) > 1
                and token.endswith('"')
                and (index < last or pieces[index + 1] != "" or not _dangling_escape(token))
            )
            raw = token[1:-1] if closed else token[1:]
            if frame and frame[0] and frame[3]:
                stack[-1] = (True, frame[1], _decode(raw).lower(), True)
            else:
                path = frame[1] + ((frame[2],) if frame[0] and frame[2] else ()) if frame else ()
                token = '"' + on_value(path, raw) + ('"' if closed else "")
                if frame and frame[0]:
                    stack[-1] = (True, frame[1], None, False)  # the key has had its value
        out.append(token)
        out.append(pieces[index + 1])
    return "".join(out)


def _dangling_escape(token: str) -> bool:
    """True when a token's final quote is escaped (`"abc\\"` cut mid-string)."""
    backslashes = len(token) - 1 - len(token[:-1].rstrip("\\"))
    return backslashes % 2 == 1


_PERSONAL_KEY = re.compile(
    r'"(?:username|displayname|nickname|emails|phonenumbers|ims|addresses|members|manager)"'
    r'|"name"\s*:?\s*[\[{]',
    re.IGNORECASE,
)
# No colon required: the scanner reads a cut or malformed body leniently (`{"emails"["a"]`
# puts "a" under emails), so the quick test must not be stricter than the scanner.


def _may_name_personal_data(text: str) -> bool:
    """False when no key in this JSON text is one `_personal` looks at (a string-valued `name`
    is not; an object under `name` is). Keys spelled with escapes or non-ASCII letters are
    not checked here: such a text is always scanned."""
    if not text.isascii() or "\\" in text:
        return True
    return _PERSONAL_KEY.search(text) is not None


def _looks_like_json(text: str) -> bool:
    return text.lstrip()[:1] in ("{", "[")


# --- the report ----------------------------------------------------------------------------------


class _Members(list[tuple[str, Any]]):
    """A JSON object's (key, value) pairs in document order, repeated keys kept."""


class _Masker:
    """Masks one report: collects the personal values it holds, then rewrites every string."""

    def __init__(self, report: Report) -> None:
        self.found: set[str] = set()
        # A report repeats its bodies (each check that reads a user keeps the same resource):
        # each distinct JSON text is scanned once to collect, and masked once.
        self._collected: set[str] = set()
        self._json_done: dict[str, str] = {}
        for check in report.checks:
            self._collect_data(check.facts, ())
            for exchange in check.exchanges:
                self._collect_json(exchange.body_excerpt)
        known = registered_personal_data() | self.found
        target = report.target
        try:
            path = urllib.parse.urlsplit(target.base_url).path
        except ValueError:
            path = ""
        protected = {target.base_url, target.host, path.rstrip("/"), *(c.id for c in report.checks)}
        protected |= {f.code for c in report.checks for f in c.findings}
        self.text = _TextMasker(known, protected)

    def _remember(self, path: tuple[str, ...], value: str) -> None:
        if _worth_remembering(path):
            self.found |= _forms(value)

    def _collect_raw(self, path: tuple[str, ...], raw: str) -> str:
        if _personal(path):
            self._remember(path, _decode(raw))
        return raw

    def _collect_json(self, text: str) -> None:
        if text in self._collected:
            return
        self._collected.add(text)
        if not _looks_like_json(text) or not _may_name_personal_data(text):
            return
        try:  # a whole document: the C parser, many times faster than the token scan
            parsed = json.loads(text, object_pairs_hook=_Members)
        except ValueError:  # cut or malformed: the scanner reads what is there
            _scan_json(text, self._collect_raw)
        else:
            self._collect_parsed(parsed, ())

    def _collect_parsed(self, value: Any, path: tuple[str, ...]) -> None:
        """What `_scan_json(text, self._collect_raw)` collects, from the parsed document (every
        member of an object, a repeated key included, as the scanner sees them)."""
        if isinstance(value, str):
            if _personal(path):
                self._remember(path, value)
        elif isinstance(value, _Members):
            for key, item in value:
                self._collect_parsed(item, (*path, key.lower()))
        elif isinstance(value, list):
            for item in value:
                self._collect_parsed(item, path)

    def _collect_data(self, value: Any, path: tuple[str, ...]) -> None:
        if isinstance(value, str):
            if _personal(path):
                self._remember(path, value)
            else:
                self._collect_json(value)
        elif isinstance(value, Mapping):
            for key, item in value.items():
                self._collect_data(item, (*path, str(key).lower()))
        elif isinstance(value, (list, tuple)):
            for item in value:
                self._collect_data(item, path)

    def _json_value(self, path: tuple[str, ...], raw: str) -> str:
        if path and path[-1] == "id":
            return raw
        if _personal(path):
            return _encode(mask_value(_decode(raw)))
        return self.text(raw)

    def json_text(self, text: str) -> str:
        if not _looks_like_json(text):
            return self.text(text)
        masked = self._json_done.get(text)
        if masked is None:
            if not _may_name_personal_data(text) and not self.text.may_change(text):
                masked = text
            else:
                masked = _scan_json(text, self._json_value)
            self._json_done[text] = masked
        return masked

    def data(self, value: Any, path: tuple[str, ...] = ()) -> Any:
        if isinstance(value, str):
            if path and path[-1] == "id":
                return value
            if _personal(path):
                return mask_value(value)
            return self.json_text(value)
        if isinstance(value, Mapping):
            return {
                self._key(key): self.data(item, (*path, str(key).lower()))
                for key, item in value.items()
            }
        if isinstance(value, (list, tuple)):
            return [self.data(item, path) for item in value]
        return value

    @staticmethod
    def _key(key: Any) -> Any:
        """Keys are attribute names: only e-mail and phone shapes are masked in them."""
        return _shapes_only(key) if isinstance(key, str) else key

    def finding(self, finding: Finding) -> Finding:
        return _replaced(
            finding,
            message=self.text(finding.message),
            remediation=self.text(finding.remediation),
        )

    def exchange(self, exchange: Exchange) -> Exchange:
        return _replaced(
            exchange,
            url=self.text(exchange.url),
            request_headers=tuple((n, self.text(v)) for n, v in exchange.request_headers),
            response_headers=tuple((n, self.text(v)) for n, v in exchange.response_headers),
            body_excerpt=self.json_text(exchange.body_excerpt),
            error=self.text(exchange.error) if exchange.error is not None else None,
        )

    def verdict(self, verdict: IdpVerdict) -> IdpVerdict:
        """Identity-provider verdicts quote observations, so they are free text too."""
        return _replaced(
            verdict,
            reasons=tuple(self.text(r) for r in verdict.reasons),
            rules=tuple(_replaced(rule, reason=self.text(rule.reason)) for rule in verdict.rules),
        )

    def check(self, check: CheckResult) -> CheckResult:
        return _replaced(
            check,
            summary=self.text(check.summary),
            skip_reason=self.text(check.skip_reason) if check.skip_reason is not None else None,
            findings=tuple(self.finding(f) for f in check.findings),
            facts=self.data(check.facts),
            exchanges=tuple(self.exchange(e) for e in check.exchanges),
        )


_Record = TypeVar("_Record")


def _replaced(record: _Record, **fields: Any) -> _Record:
    """`record` itself when masking changed none of these fields, else a copy with them: most
    findings and exchanges hold no personal data, and copying each (structs.replace) cost
    more than masking it."""
    if all(getattr(record, name) == value for name, value in fields.items()):
        return record
    return replace(record, **fields)  # type: ignore[type-var]


def mask_report(report: Report) -> Report:
    """A copy of `report` with personal data masked everywhere; idempotent."""
    masker = _Masker(report)
    target = report.target
    return replace(
        report,
        target=TargetInfo(
            base_url=masker.text(target.base_url), host=target.host, port=target.port
        ),
        checks=tuple(masker.check(c) for c in report.checks),
        environment=masker.data(report.environment),
        idp_verdicts=tuple(masker.verdict(v) for v in report.idp_verdicts),
    )


def mask_text(text: str) -> str:
    """Free text masked with the pattern rules and the registered values (no report context)."""
    return _TextMasker(registered_personal_data(), ())(text)
