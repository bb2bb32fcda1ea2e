"""`systemfile`: upload, list, read and delete files (nitro.md section 4)."""

from __future__ import annotations

import base64
import binascii

from netscaler_certsync.simulator.errors import NitroError
from netscaler_certsync.simulator.resources.registry import Ctx, Record, flag, read, require, text, write
from netscaler_certsync.simulator.state import accessible, normalize_location

MAX_NAME, MAX_LOCATION, MAX_SIZE = 63, 127, 2 * 1024 * 1024


def _ctime(stamp: object) -> str:
    return f"{stamp:%a %b} {stamp.day:2d} {stamp:%H:%M:%S %Y}"  # type: ignore[attr-defined]


@write("systemfile", "add")
def add(ctx: Ctx, item: Record) -> None:
    filename, content = require(item, "filename", "filecontent")
    location = text(item, "filelocation")
    if location is None:
        raise NitroError(1095, "filelocation")
    if "/" in filename:
        raise NitroError(1097, "filename", filename)
    if len(filename) > MAX_NAME:
        raise NitroError(1106, "fileName", MAX_NAME)  # GenLeCertForNS #34: [fileName, 63]
    if len(location) > MAX_LOCATION:
        raise NitroError(1106, "fileLocation", MAX_LOCATION)
    if not location.startswith("/"):
        raise NitroError(1097, "filelocation", location)
    if (
        not accessible(normalize_location(location), ctx.part.name)
        and ctx.config.quirks.partition_uploads == "refuse"
    ):
        raise NitroError(1645)  # a partition writes under its own directory only (guess: gentool 1645)
    encoding = str(item.get("fileencoding") or "BASE64")
    if encoding.upper() != "BASE64":
        raise NitroError(1097, "fileencoding", encoding)
    try:
        data = base64.b64decode(str(content), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise NitroError(1097, "filecontent") from exc
    if len(data) > MAX_SIZE:
        raise NitroError(1097, "filecontent", "larger than 2 MB")
    override = flag(ctx.request.query.get("override")) and ctx.config.quirks.systemfile_override
    if ctx.part.get_file(location, filename) is not None and not override:
        raise NitroError(1642)  # also with idempotent=yes: a file is not an updatable object
    ctx.part.put_file(location, filename, data)


def _location(ctx: Ctx) -> str:
    location = ctx.request.args.get("filelocation")
    if not location:
        raise NitroError(1095, "filelocation")
    return normalize_location(location)


@write("systemfile", "delete")
def delete(ctx: Ctx, item: Record) -> None:
    location = text(item, "filelocation") or _location(ctx)
    name = require(item, "filename")[0]
    if not ctx.part.delete_file(location, name):
        raise NitroError(258, "filename", name)


@read("systemfile")
def get(ctx: Ctx) -> list[Record]:
    location = _location(ctx)
    directory = ctx.part.files.get(location, {})
    name = ctx.request.name
    if name is not None and not ctx.config.quirks.systemfile_get_by_name:
        raise NitroError(278, "method", "GET", status=405)
    name = name if name is not None else ctx.request.args.get("filename")  # the documented form
    if name is not None:
        stored = directory.get(name)
        if stored is None:
            raise NitroError(258, "filename", name)
        return [
            {
                "filename": name,
                "filelocation": location,
                "filecontent": base64.b64encode(stored.content).decode(),
                "fileencoding": "BASE64",
                "filesize": str(len(stored.content)),
                "fileaccesstime": _ctime(stored.accessed),
                "filemodifiedtime": _ctime(stored.modified),
            }
        ]
    return [
        {
            "filename": file_name,
            "filelocation": location,
            "filesize": str(len(stored.content)),
            "fileaccesstime": _ctime(stored.accessed),
            "filemodifiedtime": _ctime(stored.modified),
        }
        for file_name, stored in sorted(directory.items())
    ]
