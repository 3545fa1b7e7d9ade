"""Files: what the bot uploads, what users send, file_ids, URLs, and downloads through getFile."""

from __future__ import annotations

import mimetypes
import struct
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from standin.telegram.errors import JSON, ApiError, bad
from standin.telegram.records import Upload
from standin.telegram.state import StandinState
from standin.telegram.validation import MAX_DOWNLOAD_BYTES, MAX_PHOTO_BYTES, MAX_UPLOAD_BYTES


@dataclass(slots=True)
class StoredFile:
    """A file the stand-in holds; ``content`` is None for one only named by its URL."""

    file_id: str
    file_unique_id: str
    kind: str  # "photo" or "document"
    content: bytes | None
    file_name: str | None
    mime_type: str | None
    file_path: str
    width: int = 0
    height: int = 0

    def file_json(self) -> JSON:
        result: JSON = {"file_id": self.file_id, "file_unique_id": self.file_unique_id}
        if self.content is not None:
            result["file_size"] = len(self.content)
        result["file_path"] = self.file_path
        return result

    def document_json(self) -> JSON:
        result: JSON = {"file_id": self.file_id, "file_unique_id": self.file_unique_id}
        if self.file_name:
            result["file_name"] = self.file_name
        if self.mime_type:
            result["mime_type"] = self.mime_type
        if self.content is not None:
            result["file_size"] = len(self.content)
        return result

    def photo_json(self) -> list[JSON]:
        size: JSON = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "width": self.width,
            "height": self.height,
        }
        if self.content is not None:
            size["file_size"] = len(self.content)
        return [size]


def image_size(content: bytes) -> tuple[int, int]:
    """Read width and height of a PNG, GIF or JPEG, so photos carry plausible sizes."""
    if content.startswith(b"\x89PNG\r\n\x1a\n") and len(content) >= 24:
        width, height = struct.unpack(">II", content[16:24])
        return int(width), int(height)
    if content[:6] in (b"GIF87a", b"GIF89a") and len(content) >= 10:
        width, height = struct.unpack("<HH", content[6:10])
        return int(width), int(height)
    if content.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(content) and content[i] == 0xFF:
            marker = content[i + 1]
            (length,) = struct.unpack(">H", content[i + 2 : i + 4])
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", content[i + 5 : i + 9])
                return int(width), int(height)
            i += 2 + int(length)
    return 512, 512


class FileStore(StandinState):
    """Stores files by file_id and path; resolves what a send names as its file."""

    def add_file(
        self, content: bytes, file_name: str = "file.bin", *, mime_type: str | None = None
    ) -> str:
        """Store a file as if a user had sent it; return its file_id (see :meth:`file_object`)."""
        return self._store_file("document", content, file_name, mime_type).file_id

    def file_object(self, file_id: str) -> JSON:
        """Return the Document JSON of a stored file, to put in an injected message."""
        return self._files[file_id].document_json()

    def _store_file(
        self, kind: str, content: bytes | None, file_name: str | None, mime_type: str | None
    ) -> StoredFile:
        number = len(self._files) + 1
        prefix = "AgAC" if kind == "photo" else "BQAC"
        extension = Path(file_name or "").suffix or (".jpg" if kind == "photo" else "")
        if mime_type is None and file_name:
            mime_type = mimetypes.guess_type(file_name)[0]
        stored = StoredFile(
            file_id=f"{prefix}-standin-{kind}-{number:06d}",
            file_unique_id=f"AQAD{number:06d}",
            kind=kind,
            content=content,
            file_name=file_name,
            mime_type=mime_type,
            file_path=f"{kind}s/file_{number}{extension}",
        )
        if kind == "photo" and content is not None:
            stored.width, stored.height = image_size(content)
        elif kind == "photo":
            stored.width = stored.height = 512
        self._files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    def _input_file(
        self, params: JSON, field_name: str, kind: str
    ) -> tuple[StoredFile, Upload | None]:
        """Resolve an uploaded file, a known file_id or a URL into a stored file."""
        value = params.get(field_name)
        if isinstance(value, str) and value.startswith("attach://"):
            value = params.get(value.removeprefix("attach://"))
        if isinstance(value, Upload):
            if not value.content:
                raise bad("file must be non-empty")
            limit = MAX_PHOTO_BYTES if kind == "photo" else MAX_UPLOAD_BYTES
            if len(value.content) > limit:
                raise ApiError(413, "Request Entity Too Large")
            mime = value.content_type
            if mime in (None, "application/octet-stream") and value.filename:
                mime = mimetypes.guess_type(value.filename)[0] or mime
            return self._store_file(kind, value.content, value.filename, mime), value
        if isinstance(value, str) and value:
            known = self._files.get(value)
            if known is not None:
                if kind == "photo" and known.kind != "photo":
                    raise bad("can't use file of type Document as Photo")
                return known, None
            if value.startswith(("http://", "https://")):
                name = value.rstrip("/").rpartition("/")[2] or None
                return self._store_file(kind, None, name, None), None
            raise bad("wrong file identifier/HTTP URL specified")
        raise bad(f"there is no {field_name} in the request")

    def _get_file(self, params: JSON) -> JSON:
        stored = self._files.get(str(params.get("file_id")))
        if stored is None:
            raise bad("invalid file_id")
        if stored.content is not None and len(stored.content) > MAX_DOWNLOAD_BYTES:
            raise bad("file is too big")
        return stored.file_json()

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401, text="Unauthorized")
        stored = self._files_by_path.get(request.match_info["path"])
        if stored is None or stored.content is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(
            body=stored.content, content_type=stored.mime_type or "application/octet-stream"
        )
