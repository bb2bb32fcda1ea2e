"""Naming: NetScaler's character and length rules, stable ids, collision-free shortening."""

from __future__ import annotations

import pytest

from netscaler_certsync.domain import (
    FileTag,
    NamingError,
    ca_certkey_name,
    ca_file_name,
    certificate_id,
    cluster_tag,
    file_tag,
    is_ca_certkey_name,
    is_ca_file_name,
    leaf_file_fingerprint,
    leaf_file_names,
    leaf_file_owner,
    owner_id,
    owner_tag,
    reasons,
    render_certkey_name,
    successor_name,
    validate_name,
)

FP = "ab" * 32


def render(template: str, **kw: object) -> str:
    args: dict[str, object] = {
        "namespace": "shop",
        "secret_name": "web-tls",
        "common_name": "www.example.com",
    }
    args.update(kw)
    return render_certkey_name(template, **args)  # type: ignore[arg-type]


def test_certificate_id_is_stable_short_and_distinct() -> None:
    a = certificate_id("shop", "web-tls")
    assert a == certificate_id("shop", "web-tls")
    assert len(a) == 10 and validate_name(a) == a
    assert a != certificate_id("shop2", "web-tls") != certificate_id("shop", "web-tls2")
    # "a/b" + "c" must not equal "a" + "b/c": the separator is part of the hashed text.
    assert certificate_id("a-b", "c") != certificate_id("a", "b-c")


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{namespace}}.{{secretName}}", "shop.web-tls"),
        ("{{commonName}}", "www.example.com"),
        ("k8s-{{certificateId}}", "k8s-" + certificate_id("shop", "web-tls")),
        ("{{ secretName }}", "web-tls"),
    ],
)
def test_templates_render(template: str, expected: str) -> None:
    assert render(template) == expected


def test_wildcard_common_name_becomes_a_legal_name() -> None:
    assert render("{{commonName}}", common_name="*.example.com") == "wildcard.example.com"


def test_illegal_characters_in_values_are_replaced() -> None:
    assert render("{{commonName}}", common_name="a/b+c") == "a-b-c"


def test_name_must_start_with_alnum_or_underscore() -> None:
    assert render("{{commonName}}", common_name="-x") == "_-x"


@pytest.mark.parametrize(
    "template", ["cert/{{certificateId}}", "{{secretName}}+x", "na\u00efve-{{certificateId}}"]
)
def test_illegal_literal_characters_are_rejected(template: str) -> None:
    with pytest.raises(NamingError) as err:
        render(template)
    assert err.value.reason == reasons.InvalidName


def test_unknown_placeholder_is_rejected() -> None:
    with pytest.raises(NamingError) as err:
        render("{{secretname}}")
    assert err.value.reason == reasons.InvalidName and "secretname" in err.value.message


def test_too_long_without_anything_naming_the_secret_is_rejected_not_truncated() -> None:
    with pytest.raises(NamingError) as err:
        render("{{namespace}}.{{commonName}}", common_name="a-very-long-host-name.example.com")
    assert err.value.reason == reasons.NameTooLong and "{{certificateId}}" in err.value.message


@pytest.mark.parametrize("template", ["{{commonName}}-{{certificateId}}", "{{namespace}}-{{secretName}}"])
def test_too_long_naming_the_secret_is_shortened_deterministically_and_uniquely(template: str) -> None:
    cn = "a-very-long-host-name.with.many.labels.example.com"
    one = render(template, common_name=cn, secret_name="a-secret-with-a-rather-long-name-1")
    two = render(template, common_name=cn, secret_name="a-secret-with-a-rather-long-name-2")
    assert len(one) == 31 and len(two) == 31
    assert one == render(template, common_name=cn, secret_name="a-secret-with-a-rather-long-name-1")
    assert one != two and one[:8] == two[:8]  # same readable start, different hash suffix


def test_configurable_limit() -> None:
    name = render("{{commonName}}-{{certificateId}}", common_name="x" * 40, limit=63)
    assert len(name) == 51
    with pytest.raises(NamingError):
        validate_name("x" * 32)
    assert validate_name("x" * 32, limit=63)


def test_successor_name_differs_and_fits() -> None:
    base = "x" * 31
    assert successor_name(base, FP) != base and len(successor_name(base, FP)) == 31
    assert successor_name("short", FP) == "short-abababab"


def test_ca_names_come_from_the_fingerprint() -> None:
    name = ca_certkey_name(FP)
    assert len(name) <= 31 and is_ca_certkey_name(name) and FP[:16] in name
    assert not is_ca_certkey_name("csca-mine")
    ca = ca_file_name(FP, cluster_tag("cluster-a"))
    assert is_ca_file_name(ca) and len(ca) <= 63
    assert file_tag(ca) == FileTag(cluster_tag("cluster-a"), None, FP[:40])


def test_leaf_files_carry_owner_and_fit_the_file_limit() -> None:
    owner = owner_tag("cluster-a", "shop/web")
    files = leaf_file_names(owner, FP)
    assert len(files.cert) <= 63 and len(files.key) <= 63
    assert leaf_file_owner(files.cert) == owner == leaf_file_owner(files.key)
    assert leaf_file_owner("cs-" + owner + "-ab.crt") is None  # not our full scheme
    assert leaf_file_owner("www.example.com.crt") is None
    assert leaf_file_names(owner_tag("cluster-a", "shop/other"), FP) != files
    assert leaf_file_names(owner_tag("cluster-b", "shop/web"), FP) != files


def test_file_tags_say_which_cluster_wrote_them() -> None:
    """Two clusters with the same CertificateSync write differently tagged files; the tag names the
    cluster. Files of an earlier version (no cluster in the name) are still recognised as ours."""
    a, b = owner_tag("uid-a", "web/shop"), owner_tag("uid-b", "web/shop")
    fa, fb = leaf_file_names(a, FP), leaf_file_names(b, FP)
    assert len(fa.cert) == 63 and a != b
    assert file_tag(fa.cert) == FileTag(cluster_tag("uid-a"), owner_id("web/shop"), FP[:40])
    assert file_tag(fb.key).cluster == cluster_tag("uid-b") != cluster_tag("uid-a")
    legacy = leaf_file_names(owner_id("web/shop"), FP)  # what the previous release wrote
    assert file_tag(legacy.cert) == FileTag(None, owner_id("web/shop"), FP[:40])
    assert leaf_file_owner(legacy.cert) == owner_id("web/shop") != leaf_file_owner(fa.cert)
    assert file_tag("cs-ca-" + FP[:40] + ".crt") == FileTag(None, None, FP[:40])
    assert is_ca_file_name("cs-ca-" + FP[:40] + ".crt") and not is_ca_file_name(fa.cert)
    assert leaf_file_fingerprint(fa.cert) == leaf_file_fingerprint(legacy.cert) == FP[:40]
