"""The names other packages code against exist and nothing public is left out of `__all__`."""

from __future__ import annotations

import inspect

import netscaler_certsync.nitro as nitro
from netscaler_certsync.nitro import NitroClient, errors

PROMISED = [
    "NitroClient",
    "Credentials",
    "TLSConfig",
    "RetryPolicy",
    "RequestEvent",
    "CertKey",
    "CertBinding",
    "SystemFile",
    "SSLVServer",
    "NSVersion",
    "HAState",
    "ConfigState",
    "CertLink",
    "errors",
]

OPERATIONS = [
    "list_certkeys",
    "get_certkey",
    "add_certkey",
    "change_certkey",
    "link_certkey",
    "unlink_certkey",
    "delete_certkey",
    "upload_file",
    "delete_file",
    "list_files",
    "bind_certkey",
    "unbind_certkey",
    "list_bindings",
    "list_all_bindings",
    "list_ssl_vservers",
    "list_cert_links",
    "save_config",
    "config_state",
    "version",
    "ha_state",
    "switch_partition",
]


def test_promised_names_are_exported() -> None:
    assert set(PROMISED) <= set(nitro.__all__)
    for name in nitro.__all__:
        assert hasattr(nitro, name), name


def test_every_public_module_member_is_listed() -> None:
    public = {name for name in vars(nitro) if not name.startswith("_")}
    submodules = {name for name, value in vars(nitro).items() if inspect.ismodule(value)} - {"errors"}
    assert public - submodules - {"annotations"} == set(nitro.__all__)


def test_operations_exist_and_are_coroutines() -> None:
    for name in OPERATIONS:
        assert inspect.iscoroutinefunction(getattr(NitroClient, name)), name


def test_error_tree() -> None:
    assert issubclass(errors.TLSVerificationError, errors.TransportError)
    assert issubclass(errors.NitroTimeoutError, errors.TransportError)
    for cls in (
        errors.AuthenticationError,
        errors.ForbiddenError,
        errors.NotFoundError,
        errors.AlreadyExistsError,
        errors.NetScalerError,
        errors.ServerError,
    ):
        assert issubclass(cls, errors.APIError) and issubclass(cls, errors.NitroError)
    assert issubclass(errors.ProtocolError, errors.NitroError)
