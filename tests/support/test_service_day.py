"""The simulated service day's CI variant (``benchmarks/service_day.py``): two morning hours at a
fraction of the volume, through the real servers (``okpay serve``, ``okpay smtpd``) on a SQLite
database of their own, with the Erlang C plan's staffing. Checks the report's invariants, never a
wall-clock time: every contact is recorded by OKPay once, the counts add up, no answer was a 5xx,
and with the planned staffing every contact got its first reply."""

from __future__ import annotations

import pytest
from benchmarks import service_day

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def day(tmp_path_factory):  # type: ignore[no-untyped-def]
    return service_day.play(seed=5, half=False, hours=range(9, 11), scale=0.4,
                            work=tmp_path_factory.mktemp("service-day"))


def test_no_errors_and_no_5xx(day) -> None:  # type: ignore[no-untyped-def]
    assert day["error_count"] == 0, day["errors"]
    assert "5xx" not in day["statuses"]
    assert sum(day["sent"].values()) == len(day["contacts"]) > 0


def test_every_contact_recorded_once(day) -> None:  # type: ignore[no-untyped-def]
    sent = day["sent"]
    tickets = day["tickets"]

    def count(channel: str, kind: str | None = None) -> int:
        return sum(1 for t in tickets if t["channel"] == channel and (kind is None or t["kind"] == kind))

    assert day["inbound_email"] == sent.get("email", 0) == count("email") - day["left_message"]
    assert day["social_in"] == sent.get("social", 0) == count("social")
    assert count("api") == sent.get("api", 0)
    assert len(day["conversations"]) == sent.get("chat", 0)
    assert day["calls"]["reported"] == sent.get("phone", 0)


def test_counts_add_up(day) -> None:  # type: ignore[no-untyped-def]
    summary = service_day.summarize(day)
    chat, phone = summary["chat"], summary["phone"]
    assert chat["assistant"] + chat["queued"] + chat["left_message"] == chat["contacts"]
    assert chat["assistant"] == day["assistant_only_script"]
    assert chat["queued"] == chat["abandoned"] + sum(1 for c in day["conversations"] if c["assigned"])
    # a chat that reached a person is a chat ticket; one that left a message is an email ticket
    assert summary["chat"]["tickets"] == chat["queued"]
    # every call was answered live, or missed and then asked for a call back
    assert phone["answered_live"] + day["calls"]["missed"] == phone["calls"]
    assert phone["callbacks"] == day["calls"]["missed"]


def test_planned_staffing_answers_everyone(day) -> None:  # type: ignore[no-untyped-def]
    summary = service_day.summarize(day)
    for channel in ("email", "api", "phone", "social"):
        assert summary[channel]["unanswered"] == 0, channel
    # a chat customer may give up before a person comes (their patience is random): that ticket has no reply
    assert summary["chat"]["unanswered"] == summary["chat"]["abandoned"]
    assert summary["phone"]["callbacks_kept"] == summary["phone"]["callbacks"]
    assert summary["email"]["breaches"] == 0


def test_report_renders(day, tmp_path) -> None:  # type: ignore[no-untyped-def]
    images = service_day.plots({"planned": day, "half": day}, tmp_path, "ci-")
    assert all((tmp_path / name).stat().st_size > 0 for name in images)
    text = service_day.render({"planned": day, "half": day}, images, command="test", seed=5, elapsed=0)
    for channel in service_day.CHANNELS:
        assert f"| {channel} |" in text
