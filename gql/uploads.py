"""GraphQL multipart requests, parsed as they stream in: each file part is written once.

The [GraphQL multipart request spec](https://github.com/jaydenseric/graphql-multipart-request-spec)
puts `operations`, then `map`, then the files. `parse_multipart_form` feeds the request body to
python-multipart's streaming `MultipartParser` (the parser Starlette itself uses) and, instead
of spooling every file part to a temp file for a later copy (Starlette's `request.form()`),
writes each file part that `map` names straight into a staging file of the blob store
(`BlobStore.open_staging`), hashing it on the way. The resolver then only sniffs the staged
file and commits it (`services.attachments`).

Refused with 400 `BAD_REQUEST` (cross_web `HTTPException`), every staged file deleted:

- a file part before `operations` and `map`, a `map` that is not an object of path lists, a
  part without a name, a file part named twice;
- a body that ends before the closing boundary (truncated), or a client that disconnects;
- a non-file part over `MAX_FIELD_BYTES` (or all of them over `MAX_FIELDS_TOTAL_BYTES`: they
  are held in memory), more than `MAX_FIELDS` fields, a `map` naming more
  than `MAX_FILES` parts, part headers over `MAX_HEADER_BYTES`, malformed multipart.

A file part over the attachment size limit is read to its end but not kept (its staging file
is deleted at the limit) and answers `ATTACHMENT_TOO_LARGE` in the mutation's payload. File
parts `map` does not name are read and dropped, never written. The body limit
(`gql/limits.py`) still bounds the whole request; a disk error while staging propagates as
itself (a full disk is a 503 `storage` from `gql.faults`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from cross_web import HTTPException
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from services.attachments import ReceivedFile
from services.blobs import BlobStore, StagingFile

MAX_FIELD_BYTES = 1024 * 1024  # `operations` and `map`: JSON bodies have the same limit
MAX_FIELDS_TOTAL_BYTES = 2 * MAX_FIELD_BYTES  # all non-file parts together (held in memory)
MAX_FIELDS = 100
MAX_FILES = 100  # parts `map` may name (a message takes 10: more is a typed payload error)
MAX_HEADER_BYTES = 16 * 1024  # all headers of one part


@dataclass
class _Part:
    name: str = ""
    filename: str | None = None
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    header_bytes: int = 0
    data: bytearray = field(default_factory=bytearray)
    staging: StagingFile | None = None
    skip: bool = False  # a file part `map` does not name


@dataclass
class ParsedForm:
    """`operations` and `map` as text, the received files by part name."""

    fields: dict[str, str]
    files: dict[str, ReceivedFile]


def _bad(message: str) -> HTTPException:
    return HTTPException(400, message)


class _FormParser:
    def __init__(self, blobs: BlobStore, max_file_bytes: int, received: list[ReceivedFile]):
        self.blobs = blobs
        self.max_file_bytes = max_file_bytes
        self.received = received  # every file staged for this request, for the final cleanup
        self.fields: dict[str, str] = {}
        self.files: dict[str, ReceivedFile] = {}
        self.file_names: set[str] = set()
        self.mapped: set[str] | None = None
        self.part = _Part()
        self.header_name = b""
        self.header_value = b""
        self.ended = False
        self.field_bytes = 0
        # What the synchronous callbacks found, done (awaited) after each parser.write().
        self.events: list[tuple[str, _Part, bytes]] = []
        self.open: list[StagingFile] = []

    # python-multipart callbacks (synchronous; file I/O is queued in self.events)
    def on_part_begin(self) -> None:
        self.part = _Part()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._count_header(end - start)
        self.header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._count_header(end - start)
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.part.headers.append((self.header_name.lower(), self.header_value))
        self.header_name = self.header_value = b""

    def on_headers_finished(self) -> None:
        part = self.part
        disposition = next((v for k, v in part.headers if k == b"content-disposition"), b"")
        _, options = parse_options_header(disposition)
        if b"name" not in options:
            raise _bad('A multipart part has no Content-Disposition "name".')
        part.name = options[b"name"].decode("utf-8", "replace")
        if b"filename" not in options:
            if len(self.fields) >= MAX_FIELDS:
                raise _bad(f"A multipart request has at most {MAX_FIELDS} fields.")
            return
        part.filename = options[b"filename"].decode("utf-8", "replace")
        if self.mapped is None:
            raise _bad("Misordered multipart fields: files must follow 'operations' and 'map'.")
        if part.name in self.file_names:
            raise _bad(f"The multipart file part {part.name!r} appears twice.")
        self.file_names.add(part.name)
        if part.name not in self.mapped:
            part.skip = True
            return
        self.events.append(("begin", part, b""))

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        part = self.part
        if part.filename is None:
            if len(part.data) + end - start > MAX_FIELD_BYTES:
                raise _bad(f"A multipart field is larger than {MAX_FIELD_BYTES} bytes.")
            self.field_bytes += end - start
            if self.field_bytes > MAX_FIELDS_TOTAL_BYTES:
                raise _bad(f"The multipart fields exceed {MAX_FIELDS_TOTAL_BYTES} bytes in all.")
            part.data += data[start:end]
        elif not part.skip:
            self.events.append(("data", part, data[start:end]))

    def on_part_end(self) -> None:
        part = self.part
        if part.filename is None:
            self._field(part.name, part.data.decode("utf-8", "replace"))
        elif not part.skip:
            self.events.append(("end", part, b""))

    def on_end(self) -> None:
        self.ended = True

    def _count_header(self, size: int) -> None:
        self.part.header_bytes += size
        if self.part.header_bytes > MAX_HEADER_BYTES:
            raise _bad(f"The headers of a multipart part exceed {MAX_HEADER_BYTES} bytes.")

    def _field(self, name: str, value: str) -> None:
        if name in self.fields:
            raise _bad(f"The multipart field {name!r} appears twice.")
        if name == "map":
            if "operations" not in self.fields:
                raise _bad("Misordered multipart fields: 'operations' must come before 'map'.")
            self.mapped = _map_keys(value)
        self.fields[name] = value

    async def run_events(self) -> None:
        events, self.events = self.events, []
        for kind, part, data in events:
            if kind == "begin":
                part.staging = await self.blobs.open_staging(self.max_file_bytes)
                self.open.append(part.staging)
            elif kind == "data":
                assert part.staging is not None
                await part.staging.write(data)
            else:
                assert part.staging is not None
                staging = part.staging
                blob = await staging.finish()
                self.open.remove(staging)
                received = ReceivedFile(part.filename, staging.size, blob)
                self.received.append(received)
                self.files[part.name] = received

    def abort(self) -> None:
        for staging in self.open:
            staging.abort()
        self.open.clear()


def _map_keys(text: str) -> set[str]:
    try:
        value = json.loads(text)
    except ValueError:
        raise _bad("The multipart 'map' field is not JSON.") from None
    if not isinstance(value, dict) or not all(
        isinstance(paths, list) and all(isinstance(p, str) for p in paths)
        for paths in value.values()
    ):
        raise _bad("The multipart 'map' field must map part names to lists of paths.")
    if len(value) > MAX_FILES:
        raise _bad(f"A multipart request carries at most {MAX_FILES} files.")
    return set(value)


async def parse_multipart_form(
    request: Request, blobs: BlobStore, *, max_file_bytes: int, received: list[ReceivedFile]
) -> ParsedForm:
    """Parse a GraphQL multipart body as it arrives (see the module doc). Every file staged is
    appended to `received`: the caller deletes what was not committed once the request is
    answered, whatever happened."""
    _, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if not boundary:
        raise _bad("The multipart Content-Type has no boundary.")
    form = _FormParser(blobs, max_file_bytes, received)
    try:
        parser = MultipartParser(
            boundary,
            {
                "on_part_begin": form.on_part_begin,
                "on_part_data": form.on_part_data,
                "on_part_end": form.on_part_end,
                "on_header_field": form.on_header_field,
                "on_header_value": form.on_header_value,
                "on_header_end": form.on_header_end,
                "on_headers_finished": form.on_headers_finished,
                "on_end": form.on_end,
            },
        )
        async for chunk in request.stream():
            parser.write(chunk)
            await form.run_events()
        parser.finalize()
        if not form.ended:
            raise _bad("The multipart body ends before its closing boundary.")
    except FormParserError:
        form.abort()
        raise _bad("The multipart body is malformed.") from None
    except ClientDisconnect:
        form.abort()
        raise _bad("The client disconnected before the request body was complete.") from None
    except BaseException:
        form.abort()
        raise
    return ParsedForm(form.fields, form.files)
