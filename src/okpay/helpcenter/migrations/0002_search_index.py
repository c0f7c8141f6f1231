"""The full-text index of the database in use: an FTS5 table on SQLite, a tsvector table on PostgreSQL
(see okpay/helpcenter/search/backends.py, which keeps them filled)."""

from django.db import migrations

SQLITE = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS helpcenter_article_fts USING fts5("
    "title, summary, body, lang UNINDEXED, category UNINDEXED, "
    "tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3')",
]
POSTGRES = [
    "CREATE TABLE IF NOT EXISTS helpcenter_article_tsv ("
    "article_id bigint PRIMARY KEY, "
    "lang varchar(10) NOT NULL, category varchar(20) NOT NULL, document tsvector NOT NULL)",
    "CREATE INDEX IF NOT EXISTS helpcenter_article_tsv_document ON helpcenter_article_tsv USING gin (document)",
    "CREATE INDEX IF NOT EXISTS helpcenter_article_tsv_lang ON helpcenter_article_tsv (lang, category)",
]


def create_index(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for statement in {"sqlite": SQLITE, "postgresql": POSTGRES}.get(vendor, []):
        schema_editor.execute(statement)


def drop_index(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute("DROP TABLE IF EXISTS helpcenter_article_fts")
    elif vendor == "postgresql":
        schema_editor.execute("DROP TABLE IF EXISTS helpcenter_article_tsv")


class Migration(migrations.Migration):
    dependencies = [("helpcenter", "0001_initial")]

    operations = [migrations.RunPython(create_index, drop_index)]
