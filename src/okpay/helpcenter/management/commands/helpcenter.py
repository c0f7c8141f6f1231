"""``okpay helpcenter load | reindex | gaps``: seed articles, rebuild the search index, list content gaps."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Help centre: load the seed articles (idempotent), rebuild the search index, list content gaps."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        load = sub.add_parser("load", help="create or update the seed articles (staff edits are kept)")
        load.add_argument("--force", action="store_true", help="overwrite articles edited by staff too")
        sub.add_parser("reindex", help="re-tokenise every article and rebuild the full-text index")
        gaps = sub.add_parser("gaps", help="the most frequent searches that found nothing")
        gaps.add_argument("--limit", type=int, default=30)

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "load":
            from okpay.helpcenter.seed import load

            stats = load(force=options["force"])
            self.stdout.write(f"help centre: {stats.created} created, {stats.updated} updated, "
                              f"{stats.unchanged} unchanged, {len(stats.kept_edited)} kept (edited by staff)")
        elif action == "reindex":
            from okpay.helpcenter.search import rebuild_index

            self.stdout.write(f"help centre: {rebuild_index()} articles indexed")
        elif action == "gaps":
            from okpay.helpcenter.selectors import content_gaps

            for gap in content_gaps(limit=options["limit"]):
                self.stdout.write(f"{gap.count:6d}  {gap.lang:8s} {gap.query}")
