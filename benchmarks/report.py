"""Collects benchmark results and renders them as text and as docs/performance.md."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Row:
    section: str
    name: str
    value: str
    baseline: str = ""
    ratio: str = ""
    target: str = ""
    met: bool | None = None
    if_missed: str = ""


@dataclass
class Report:
    quick: bool = False
    machine: str = ""
    elapsed: float = 0.0
    rows: list[Row] = field(default_factory=list)
    notes: dict[str, list[str]] = field(default_factory=dict)

    def add(self, section: str, name: str, value: str, *, baseline: str = "", ratio: float | None = None,
            target: float | None = None, higher_is_better: bool = True, if_missed: str = "") -> None:
        """``if_missed``: why a target may be missed and the plan, printed when it is."""
        met = None
        if ratio is not None and target is not None:
            met = ratio >= target if higher_is_better else ratio <= target
        self.rows.append(Row(section, name, value, baseline, f"{ratio:.2f}" if ratio is not None else "",
                             (f"≥ {target}" if higher_is_better else f"≤ {target}") if target is not None else "",
                             met, if_missed))
        print(f"  {name}: {value}" + (f" | baseline {baseline}" if baseline else "")
              + (f" | ratio {ratio:.2f}" if ratio is not None else "")
              + ("" if met is None else (" | target met" if met else " | TARGET MISSED")), flush=True)

    def note(self, section: str, text: str) -> None:
        self.notes.setdefault(section, []).append(text)
        print(f"  note: {text}", flush=True)

    def render_text(self) -> str:
        lines = [f"machine: {self.machine}", f"elapsed: {self.elapsed:.0f} s"]
        for row in self.rows:
            lines.append(f"[{row.section}] {row.name}: {row.value} {row.baseline} {row.ratio} {row.target}")
        return "\n".join(lines)

    def render_markdown(self) -> str:
        out = ["# Performance", "", "Written by `make bench` (`python -m benchmarks`); every ratio compares "
               "OKPay with a baseline measured in the same run on the same machine.", "",
               f"- Machine: {self.machine}",
               f"- Run time: {self.elapsed:.0f} s" + (" (quick mode)" if self.quick else ""), ""]
        missed = [row for row in self.rows if row.met is False]
        out += ["## Targets not met", ""]
        if not missed:
            out += ["None: every target was met in this run.", ""]
        for row in missed:
            out.append(f"- **{row.section} — {row.name}**: ratio {row.ratio}, target {row.target}. "
                       + (row.if_missed or "No reason or plan recorded: the benchmark must say why."))
        if missed:
            out.append("")
        sections: list[str] = []
        for row in self.rows:
            if row.section not in sections:
                sections.append(row.section)
        for section in sections:
            out += [f"## {section}", "", "| measure | OKPay | baseline | ratio | target | met |",
                    "| --- | --- | --- | --- | --- | --- |"]
            for row in (r for r in self.rows if r.section == section):
                met = "" if row.met is None else ("yes" if row.met else "**no**")
                out.append(f"| {row.name} | {row.value} | {row.baseline} | {row.ratio} | {row.target} | {met} |")
            out.append("")
            for text in self.notes.get(section, []):
                out.append(f"- {text}")
            if self.notes.get(section):
                out.append("")
        return "\n".join(out)
