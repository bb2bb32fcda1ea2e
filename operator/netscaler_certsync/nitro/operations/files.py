"""`systemfile`: upload (optionally overriding), read, list and delete files on the appliance.

Without an explicit `location`, files go to the session's admin partition's own SSL directory
(`ssl_dir`): an admin partition cannot load certificate files from /nsconfig/ssl (docs/nitro.md F10).
"""

from __future__ import annotations

import base64
import binascii

from netscaler_certsync.nitro import errors, parsing
from netscaler_certsync.nitro.models import SystemFile
from netscaler_certsync.nitro.session import NitroSession
from netscaler_certsync.nitro.wire import Call, arg_list

RESOURCE = "systemfile"
SSL_DIR = "/nsconfig/ssl"
MAX_FILE_BYTES = 2 * 1024 * 1024  # NITRO documents 2 MB per systemfile


def ssl_dir(partition: str | None) -> str:
    """Where a certkey's bare file names are looked up: /nsconfig/ssl in the default partition,
    `/nsconfig/partitions/<name>/ssl` in an admin partition (Citrix's tdToPartition.pl copies
    certkey files there; n8n's Citrix ADC node offers it as a partition's certificate location)."""
    if not partition or partition.lower() == "default":
        return SSL_DIR
    return f"/nsconfig/partitions/{partition}/ssl"


class FileOperations(NitroSession):
    @property
    def ssl_dir(self) -> str:
        """This session's partition's SSL directory, the default `location` of every call here."""
        return ssl_dir(self.partition)

    async def upload_file(
        self, filename: str, content: bytes, *, location: str | None = None, override: bool = False
    ) -> None:
        """Write `content` to `location/filename`; an existing file is 1642 unless `override`."""
        location = location or self.ssl_dir
        if len(content) > MAX_FILE_BYTES:
            raise errors.ConfigurationError(
                f"{filename}: {len(content)} bytes exceeds NITRO's 2 MB file limit"
            )
        body = {
            "filename": filename,
            "filelocation": location,
            "filecontent": base64.b64encode(content).decode("ascii"),
            "fileencoding": "BASE64",
        }

        async def took_effect() -> bool:
            found = await self.get_file(filename, location=location)
            return found is not None and found.content == content

        await self._call(
            Call(
                "POST",
                RESOURCE,
                "upload",
                name=None,
                query=[("override", "yes")] if override else [],
                body={RESOURCE: body},
                # The file body may be a private key: keep it out of any error text.
                secrets=(body["filecontent"], content.decode("utf-8", "replace"))
                if len(content) >= 16
                else (),
            ),
            readback=took_effect,
        )

    async def get_file(self, filename: str, *, location: str | None = None) -> SystemFile | None:
        """One file with its content, or None when it does not exist.

        Asked in the documented form, `GET systemfile?args=filename:…,filelocation:…` (reference
        pages of 12.1 and 13 list GET (ALL) only; Terraform reads one file so): not every build
        answers `GET systemfile/<name>`."""
        location = location or self.ssl_dir
        try:
            reply = await self._call(
                Call(
                    "GET",
                    RESOURCE,
                    "get",
                    name=None,
                    query=[("args", arg_list({"filename": filename, "filelocation": location}))],
                    idempotent=True,
                )
            )
        except errors.APIError as exc:
            if errors.is_not_found(exc) or errors.is_file_missing(exc):
                return None
            raise
        # A build that ignores `filename` lists the directory: only the file asked for counts.
        found = [row for row in parsing.rows(reply.body, RESOURCE) if row.get("filename") == filename]
        if not found:
            return None
        row = found[0]
        content = None
        if row.get("filecontent") is not None:
            try:
                content = base64.b64decode(str(row["filecontent"]), validate=False)
            except (binascii.Error, ValueError) as exc:
                raise errors.ProtocolError(f"{filename}: filecontent is not base64") from exc
        return parsing.system_file(row, location, content)

    async def list_files(self, location: str | None = None) -> list[SystemFile]:
        location = location or self.ssl_dir
        reply = await self._call(
            Call(
                "GET",
                RESOURCE,
                "list",
                query=[("args", arg_list({"filelocation": location}))],
                idempotent=True,
            )
        )
        return [parsing.system_file(row, location) for row in parsing.rows(reply.body, RESOURCE)]

    async def delete_file(self, filename: str, *, location: str | None = None) -> None:
        location = location or self.ssl_dir
        await self._call(
            Call(
                "DELETE",
                RESOURCE,
                "delete",
                name=filename,
                query=[("args", arg_list({"filelocation": location}))],
                idempotent=True,
                gone_ok=True,
            )
        )


__all__ = ["MAX_FILE_BYTES", "SSL_DIR", "FileOperations", "ssl_dir"]
