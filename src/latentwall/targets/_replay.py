"""`replay:PATH`: recorded responses served as a target.

Logs, earlier runs and third-party data sets go through the same runner, judges and
reports as a live model. PATH is JSON lines (`.jsonl`, `.json`, `.ndjson`) or CSV
(`.csv`, read with the csv module, strictly: an unclosed quote is an error), UTF-8 (a
leading BOM is accepted; UTF-16, other encodings and binary files are refused in one
line). Lone surrogates in JSON strings are replaced with U+FFFD and the served response
notes it. A file with no rows is an error.

Columns:
- `response` (required; aliases `output`, `completion`, `answer`, first present wins);
- `probe_id` (alias `id`) and/or `prompt`: at least one per row;
- optional `sample` (int >= 0, default 0), `reasoning`, `model`, `finish_reason`,
  `status` (ERROR, FILTERED, TRUNCATED, OK or empty) and `error`. Other columns are ignored.

Lookup is strict, never a guess: by (probe_id, sample) first, else by (prompt, sample),
the prompt compared after NFKC and whitespace normalisation. A request with no recorded
row gets `Response(status="ERROR", error="no recorded response for probe X sample N")`;
sample 0 is never reused for sample 1. Only the last user message is matched: system
prompts, prefills and sampling parameters of the request are ignored.
A prompt recorded for two different answers in the same sample is ambiguous and also
served as ERROR (give those rows a probe_id or distinct samples).
"""

from __future__ import annotations

import asyncio
import csv
import gc
import hashlib
import os
import sys
import unicodedata
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from latentwall.datafiles import check_text_file, decode_line, iter_jsonl
from latentwall.errors import ConfigError, DataError, TargetError
from latentwall.targets._base import Request, Response, Target, register_target
from latentwall.text import repaired_note

RESPONSE_KEYS = ("response", "output", "completion", "answer")
ID_KEYS = ("probe_id", "id")
JSON_SUFFIXES = (".jsonl", ".json", ".ndjson")
CSV_SUFFIXES = (".csv",)
_PASS_STATUSES = ("ERROR", "FILTERED", "TRUNCATED")
_NO_STATUS = ("", "OK")
# Finish reasons that are statuses in their own right (OpenAI naming).
_FINISH_STATUS = {"length": "TRUNCATED", "content_filter": "FILTERED"}
_CHUNK = 1 << 20
_CSV_FIELD_LIMIT = 1 << 26

# One recorded answer: (text, reasoning, model, finish_reason, status, error, line, lone
# surrogates replaced on reading). A tuple, not a dataclass, so 100k rows stay small.
_Row = tuple[str, str | None, str | None, str | None, str | None, str | None, int, int]


class _Ambiguous:
    """Marks a prompt key recorded with more than one answer in one sample."""

    __slots__ = ("lines",)

    def __init__(self, lines: list[int]) -> None:
        self.lines = lines


def normalise_prompt(text: str) -> str:
    """NFKC, then collapse runs of whitespace: logs re-wrap and re-encode prompts."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def _prompt_key(text: str) -> bytes:
    """A 16-byte digest of the normalised prompt, so the index does not hold every prompt."""
    return hashlib.blake2b(normalise_prompt(text).encode("utf-8"), digest_size=16).digest()


def _opt_str(obj: dict[str, Any], key: str, path: str, line: int) -> str | None:
    """An optional text column: absent, null or blank is None; anything else must be text."""
    val = obj.get(key)
    if val is None:
        return None
    if not isinstance(val, str):
        raise DataError(path, line, key, f"must be a string, got {type(val).__name__}")
    return val if val.strip() else None


def _parse_sample(val: Any, path: str, line: int) -> int:
    """CSV gives '2', pandas-written JSON may give 2.0: accept whole numbers >= 0 only."""
    if val is None or (isinstance(val, str) and not val.strip()):
        return 0
    n: int | None = None
    if isinstance(val, bool):
        n = None
    elif isinstance(val, int):
        n = val
    elif isinstance(val, float) and val.is_integer():
        n = int(val)
    elif isinstance(val, str):
        try:
            n = int(val.strip())
        except ValueError:
            n = None
    if n is None or n < 0:
        raise DataError(path, line, "sample", f"must be a whole number >= 0, got {val!r}")
    return n


class _Index:
    """What start() builds: answers by probe id and by prompt digest, plus a summary."""

    def __init__(self) -> None:
        self.by_id: dict[tuple[str, int], _Row] = {}
        self.by_prompt: dict[tuple[bytes, int], _Row | _Ambiguous] = {}
        self.rows = 0
        self.models: set[str] = set()
        self.sha256 = ""
        self.size = 0
        self.mtime_ns = 0

    def add(self, obj: dict[str, Any], path: str, line: int, repaired: int = 0) -> None:
        """Validate one row and index it; every error names file, line and field."""
        rkey = next((k for k in RESPONSE_KEYS if k in obj), None)
        status_raw = _opt_str(obj, "status", path, line)
        status = status_raw.strip().upper() if status_raw else None
        if status is None or status in _NO_STATUS:
            status = None
        elif status not in _PASS_STATUSES:
            raise DataError(path, line, "status", f"'{status_raw}' is not one of "
                            f"{', '.join(_PASS_STATUSES)}, OK or empty")
        if rkey is None:
            raise DataError(path, line, "response",
                            f"is required (or one of {', '.join(RESPONSE_KEYS[1:])})")
        text = obj[rkey]
        if text is None:
            if status not in ("ERROR", "FILTERED"):
                raise DataError(path, line, rkey, "is null (allowed only with status ERROR or FILTERED)")
            text = ""
        elif not isinstance(text, str):
            raise DataError(path, line, rkey, f"must be a string, got {type(text).__name__}")

        pid: str | None = None
        id_field = next((k for k in ID_KEYS if obj.get(k) not in (None, "")), None)
        if id_field is not None:
            raw_id = obj[id_field]
            if isinstance(raw_id, bool) or not isinstance(raw_id, str | int):
                raise DataError(path, line, id_field, "must be a string or an integer")
            pid = str(raw_id).strip() or None
        prompt = obj.get("prompt")
        if prompt is not None and not isinstance(prompt, str):
            raise DataError(path, line, "prompt", f"must be a string, got {type(prompt).__name__}")
        pkey = _prompt_key(prompt) if prompt and prompt.strip() else None
        if pid is None and pkey is None:
            raise DataError(path, line, "probe_id", "each row needs probe_id (or id) or prompt")
        sample = _parse_sample(obj.get("sample"), path, line)

        model = _opt_str(obj, "model", path, line)
        finish = _opt_str(obj, "finish_reason", path, line)
        if status is None and finish is not None:
            status = _FINISH_STATUS.get(finish.strip().lower())
        error = _opt_str(obj, "error", path, line)
        if status == "ERROR" and error is None:
            error = "recorded status ERROR"
        row: _Row = (
            text,
            _opt_str(obj, "reasoning", path, line),
            sys.intern(model) if model else None,
            sys.intern(finish) if finish else None,
            status,
            error,
            line,
            repaired,
        )
        if pid is not None:
            prev = self.by_id.get((pid, sample))
            if prev is not None:
                raise DataError(path, line, id_field,
                                f"probe '{pid}' sample {sample} already recorded on line {prev[6]}")
            self.by_id[(pid, sample)] = row
        if pkey is not None:
            old = self.by_prompt.get((pkey, sample))
            if old is None:
                self.by_prompt[(pkey, sample)] = row
            elif isinstance(old, _Ambiguous):
                old.lines.append(line)
            elif old[:6] != row[:6]:
                self.by_prompt[(pkey, sample)] = _Ambiguous([old[6], line])
        if model:
            self.models.add(model)
        self.rows += 1


def _lines(path: Path, digest: Any) -> Iterator[tuple[int, str]]:
    """(line number, decoded line) for the csv reader while feeding the raw bytes to `digest`:
    one read serves both the index and the content hash, so they cannot disagree."""
    check_text_file(path)
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            digest.update(raw)
            yield lineno, decode_line(raw, path, lineno)


def _read_jsonl(path: Path, index: _Index, digest: Any) -> None:
    repairs: list[tuple[int, int]] = []
    for lineno, obj in iter_jsonl(path, comments=False, digest=digest, repairs=repairs):
        index.add(obj, str(path), lineno, repairs[-1][1] if repairs and repairs[-1][0] == lineno else 0)


def _read_csv(path: Path, index: _Index, digest: Any) -> None:
    # Reasoning traces can outgrow the csv module's default 128 KiB field limit.
    csv.field_size_limit(max(csv.field_size_limit(), _CSV_FIELD_LIMIT))
    src = _lines(path, digest)
    reader = csv.reader((line for _, line in src), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        raise DataError(str(path), 1, None, f"invalid CSV header: {exc}") from None
    header = [h.strip() for h in header]
    if not any(k in header for k in RESPONSE_KEYS):
        raise DataError(str(path), 1, "response",
                        f"no response column (or {', '.join(RESPONSE_KEYS[1:])}) in the header")
    if not any(k in header for k in (*ID_KEYS, "prompt")):
        raise DataError(str(path), 1, "probe_id", "the header needs probe_id (or id) or prompt")
    start = reader.line_num + 1
    try:
        for cells in reader:
            line = start
            start = reader.line_num + 1
            if not cells or all(not c.strip() for c in cells):
                continue
            if len(cells) > len(header) and any(c.strip() for c in cells[len(header):]):
                raise DataError(str(path), line, None,
                                f"{len(cells)} cells but the header has {len(header)} columns")
            # Short rows leave trailing columns out: a missing response is then reported.
            index.add(dict(zip(header, cells, strict=False)), str(path), line)
    except csv.Error as exc:
        raise DataError(str(path), reader.line_num, None, f"invalid CSV: {exc}") from None


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


@register_target("replay")
class ReplayTarget(Target):
    """Answers from a file of recorded responses; no model, no network."""

    kind = "replay"
    usage = "replay:PATH (JSONL or CSV)"
    batch_size = 256
    concurrency = 1

    def __init__(self, spec: str, path: Path | str, *, batch_size: int = 256) -> None:
        super().__init__(spec)
        self.path = Path(path).expanduser()
        suffix = self.path.suffix.lower()
        if suffix in JSON_SUFFIXES:
            self.format = "jsonl"
        elif suffix in CSV_SUFFIXES:
            self.format = "csv"
        else:
            raise ConfigError(f"replay file '{self.path}': cannot tell the format from "
                              f"'{suffix or 'no extension'}' (use .jsonl, .json or .csv)")
        if batch_size < 1:
            raise ConfigError("replay: batch_size must be >= 1")
        self.batch_size = batch_size
        self._index: _Index | None = None
        self._fingerprint: str | None = None

    @classmethod
    def from_spec(cls, spec: str, rest: str, **options: Any) -> ReplayTarget:
        """'replay:logs/run.jsonl'; options other than batch_size are not ours and ignored."""
        if not rest.strip():
            raise ConfigError("replay needs a file: replay:PATH (.jsonl or .csv)")
        bs = options.get("batch_size")
        target = cls(spec, rest.strip(), batch_size=int(bs) if bs is not None else 256)
        target._stat()  # a missing file fails here, before any run is set up
        return target

    def _stat(self) -> os.stat_result:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            raise TargetError(f"replay file not found: {self.path}") from None
        except OSError as exc:
            raise TargetError(f"replay file {self.path}: {exc.strerror}") from None
        if not self.path.is_file():
            raise TargetError(f"replay path is not a file: {self.path}")
        return st

    def _make_fingerprint(self, size: int, mtime_ns: int, sha: str) -> str:
        return f"{self.spec}|size={size}|mtime_ns={mtime_ns}|sha256={sha}"

    def load(self) -> _Index:
        """Read and validate the whole file (blocking); start() runs it in a thread."""
        st = self._stat()
        index = _Index()
        digest = hashlib.sha256()
        # The index holds only acyclic tuples; pausing the cyclic GC saves ~20% on big files.
        gc_was_on = gc.isenabled()
        gc.disable()
        try:
            if self.format == "csv":
                _read_csv(self.path, index, digest)
            else:
                _read_jsonl(self.path, index, digest)
        except OSError as exc:
            raise TargetError(f"replay file {self.path}: {exc.strerror}") from None
        finally:
            if gc_was_on:
                gc.enable()
        if index.rows == 0:
            raise DataError(str(self.path), None, None, "no recorded responses in the file")
        index.sha256, index.size, index.mtime_ns = digest.hexdigest(), st.st_size, st.st_mtime_ns
        self._index = index
        self._fingerprint = self._make_fingerprint(index.size, index.mtime_ns, index.sha256)
        return index

    async def start(self) -> None:
        await asyncio.to_thread(self.load)

    @property
    def fingerprint(self) -> str:
        """Spec + size + mtime + content hash: an edited file never hits stale cache entries."""
        if self._fingerprint is None:
            st = self._stat()
            self._fingerprint = self._make_fingerprint(
                st.st_size, st.st_mtime_ns, _file_sha256(self.path))
        return self._fingerprint

    @property
    def label(self) -> str:
        return f"replay:{self.path.name}"

    def describe(self) -> dict[str, Any]:
        index = self._index or self.load()
        return {
            "kind": self.kind, "spec": self.spec, "path": str(self.path.resolve()),
            "format": self.format, "rows": index.rows, "models": sorted(index.models),
            "sha256": index.sha256, "size": index.size,
        }

    def _lookup(self, index: _Index, req: Request) -> Response:
        row: _Row | _Ambiguous | None = None
        if req.probe_id is not None:
            row = index.by_id.get((req.probe_id, req.sample))
        if row is None and req.prompt.strip():
            row = index.by_prompt.get((_prompt_key(req.prompt), req.sample))
        if isinstance(row, _Ambiguous):
            lines = ", ".join(str(n) for n in row.lines[:5])
            return Response(status="ERROR", error=(
                f"ambiguous: different recorded responses for this prompt, sample {req.sample} "
                f"(lines {lines}); add probe_id or sample"))
        if row is None:
            who = (f"probe {req.probe_id}" if req.probe_id is not None
                   else f"prompt {normalise_prompt(req.prompt)[:60]!r}")
            return Response(status="ERROR",
                            error=f"no recorded response for {who} sample {req.sample}")
        text, reasoning, model, finish, status, error, _line, repaired = row
        return Response(text=text, reasoning=reasoning, finish_reason=finish, status=status,
                        error=error, model=model,
                        notes=[repaired_note(repaired, f"recorded line {_line}")] if repaired else [])

    async def generate(self, batch: Sequence[Request]) -> list[Response]:
        index = self._index or await asyncio.to_thread(self.load)
        return [self._lookup(index, req) for req in batch]

    async def close(self) -> None:
        self._index = None
