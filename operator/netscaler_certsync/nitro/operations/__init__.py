"""Typed NITRO operations, one mixin per resource family, all built on `NitroSession._call`."""

from __future__ import annotations

from netscaler_certsync.nitro.operations.bindings import BindingOperations
from netscaler_certsync.nitro.operations.certkeys import CertKeyOperations
from netscaler_certsync.nitro.operations.files import FileOperations
from netscaler_certsync.nitro.operations.system import SystemOperations

__all__ = ["BindingOperations", "CertKeyOperations", "FileOperations", "SystemOperations"]
