"""Records survive a trip through CR status (JSON) unchanged, and old/unknown shapes are tolerated."""

from __future__ import annotations

import datetime as dt
import json

from netscaler_certsync.engine import BindingSpec, CertRecord, Records


def test_records_round_trip_through_json() -> None:
    records = Records(
        (
            CertRecord(
                "shop/web",
                "www",
                "ab" * 32,
                "0A",
                "2027-01-01T00:00:00+00:00",
                ("a.crt", "a.key"),
                (BindingSpec("vs", sni=True),),
            ),
            CertRecord(
                "shop/web",
                "www-old",
                "cd" * 32,
                "0B",
                "2026-01-01T00:00:00+00:00",
                ("b.crt",),
                superseded=True,
            ),
            CertRecord("shop/api", "api", "ef" * 32, "0C", "2027-01-01T00:00:00+00:00", (), shared=True),
        ),
        unsaved=True,
    )
    assert Records.from_dict(json.loads(json.dumps(records.to_dict()))) == records


def test_missing_or_empty_records_mean_nothing_deployed() -> None:
    assert Records.from_dict(None) == Records() == Records.from_dict({})


def test_record_expiry() -> None:
    r = CertRecord("x", "x", "", "", "2026-06-01T00:00:00+00:00", ())
    assert r.expired(dt.datetime(2026, 6, 2, tzinfo=dt.UTC))
    assert not r.expired(dt.datetime(2026, 5, 31, tzinfo=dt.UTC))
    assert not CertRecord("x", "x", "", "", "garbage", ()).expired(dt.datetime.now(dt.UTC))
