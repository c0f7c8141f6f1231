"""Issue 17, item 6: NPS answers are counted. The supervisor dashboard shows the score (% promoters −
% detractors) by week and for the period, with the answers' comments; so does its CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from okpay.support import selectors
from okpay.support.models import NpsResponse
from tests.factories import sign_in, user_create

pytestmark = pytest.mark.django_db

WEEK1 = datetime(2026, 11, 2, 4, 0, tzinfo=UTC)  # a Monday
WEEK2 = WEEK1 + timedelta(days=7)


def _answers() -> None:
    """Week 1: 10, 9, 8, 3 → (2 − 1) / 4 = 25. Week 2: 6, 0, 10 → (1 − 2) / 3 = −33. One dismissed."""
    scores = [(WEEK1, 10, "转账很快"), (WEEK1, 9, ""), (WEEK1 + timedelta(days=2), 8, "还行"),
              (WEEK1 + timedelta(days=3), 3, "客服太慢"), (WEEK2, 6, ""), (WEEK2 + timedelta(days=1), 0, "钱被冻结了"),
              (WEEK2 + timedelta(days=4), 10, "Great app"), (WEEK2, None, "")]
    for i, (at, score, comment) in enumerate(scores):
        NpsResponse.objects.create(user=user_create(f"nps{i}@example.com"), quarter="2026Q4", score=score,
                                   comment=comment, created_at=at)
    NpsResponse.objects.create(user=user_create("early@example.com"), quarter="2026Q4", score=0,
                               comment="before the period", created_at=WEEK1 - timedelta(days=30))


def test_the_score_is_promoters_minus_detractors_by_week_and_for_the_period() -> None:
    _answers()
    d = selectors.dashboard(since=WEEK1.date(), until=(WEEK2 + timedelta(days=6)).date())
    assert d.nps == {"score": 0, "responses": 7, "promoters": 3, "passives": 1, "detractors": 3}
    assert [(week.isoformat(), score, n) for week, score, n in d.nps_by_week] == [("2026-11-02", 25, 4),
                                                                                  ("2026-11-09", -33, 3)]
    assert [(r.score, r.comment) for r in d.nps_comments] == [(10, "Great app"), (0, "钱被冻结了"), (3, "客服太慢"),
                                                              (8, "还行"), (10, "转账很快")]
    assert selectors.nps_score(0, 0, 0) is None


def test_the_dashboard_and_its_csv_show_nps_with_comments(supervisor) -> None:
    _answers()
    browser = sign_in(supervisor)
    query = f"?since={WEEK1.date()}&until={(WEEK2 + timedelta(days=6)).date()}"
    zh = browser.get("/desk/dashboard/" + query).content.decode()
    assert '<span class="kpi-value" id="kpi-nps">0</span>' in zh and "净推荐值（7 份回答）" in zh
    assert "每周净推荐值" in zh and "推荐者（9–10 分）：3 · 中立者（7–8 分）：1 · 贬损者（0–6 分）：3" in zh
    assert "钱被冻结了" in zh and "before the period" not in zh
    browser.cookies["django_language"] = "en"
    en = browser.get("/desk/dashboard/" + query).content.decode()
    assert "NPS (7 answers)" in en and "What customers said (NPS)" in en and "Great app" in en
    rows = list(csv.reader(io.StringIO(browser.get("/desk/dashboard.csv" + query).content.decode("utf-8-sig"))))
    nps = {r[1]: r[2] for r in rows if r[0] == "nps"}
    assert nps == {"score": "0", "responses": "7", "promoters": "3", "passives": "1", "detractors": "3"}
    assert [r[1:] for r in rows if r[0] == "nps_by_week"] == [["2026-11-02", "25"], ["2026-11-09", "-33"]]
    comments = [r[1:] for r in rows if r[0] == "nps_comment"]
    assert comments[0] == ["2026-11-13 10", "Great app"] and len(comments) == 5


def test_no_answers_show_a_dash_not_a_number(supervisor) -> None:
    page = sign_in(supervisor).get("/desk/dashboard/").content.decode()
    assert '<span class="kpi-value" id="kpi-nps">—</span>' in page and "本期间没有评论。" in page
