"""runtime.progress: a supervisor's year at a glance, counted in the database."""

from __future__ import annotations

import datetime as dt

from engine.runtime import act_on, progress

from .support import BANGKA_KECAMATAN, KABUPATEN_BANGKA, NOW, YEAR, user, walk_to_done

LATE = dt.datetime(2026, 1, 20, 3, 0, tzinfo=dt.timezone.utc)  # analisis_situasi (15 Jan) past due


def _row(rows, level: str, stage: str):
    return next(r for r in rows if r.level == level and r.stage == stage)


def test_counts_by_state_done_and_overdue_below_an_area(started):
    with started.session() as s:
        walk_to_done(s, BANGKA_KECAMATAN[0], "analisis_situasi")
        act_on(s, BANGKA_KECAMATAN[1], "analisis_situasi", YEAR, "submit",
               user("operator", BANGKA_KECAMATAN[1]), now=NOW)
    with started.session() as s:
        rows = progress(s, [KABUPATEN_BANGKA], YEAR, now=LATE)
        whole = progress(s, ["19"], YEAR, now=LATE)
        nothing = progress(s, ["19.01.01"], YEAR + 1, now=LATE)
    kec = _row(rows, "kecamatan", "analisis_situasi")
    assert kec.total == len(BANGKA_KECAMATAN)
    assert kec.done == 1 and kec.done_percent == round(100 / len(BANGKA_KECAMATAN))
    assert kec.overdue == len(BANGKA_KECAMATAN) - 1  # all but the approved one
    assert kec.by_state == {"Disetujui": 1, "Menunggu verifikasi": 1,
                            "Siap diisi": len(BANGKA_KECAMATAN) - 2}
    assert _row(rows, "kabkota", "analisis_situasi").total == 1  # Bangka itself
    assert not any(r.level == "provinsi" for r in rows)  # the province is above the area
    # Levels from the top, stages in their definition's order.
    assert [r.level for r in whole][0] == "provinsi"
    kec_stages = [r.stage for r in whole if r.level == "kecamatan"]
    assert kec_stages.index("analisis_situasi") < kec_stages.index("pra_musrenbang")
    assert _row(whole, "kecamatan", "analisis_situasi").total > kec.total
    assert nothing == []


def test_before_the_deadline_nothing_is_overdue(started):
    with started.session() as s:
        rows = progress(s, [KABUPATEN_BANGKA], YEAR, now=NOW)
    assert sum(r.overdue for r in rows) == 0
