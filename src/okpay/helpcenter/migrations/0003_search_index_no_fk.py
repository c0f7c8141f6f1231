"""The PostgreSQL index table keeps no foreign key: a flush (TRUNCATE of Django's tables) must not
fail on it; rows of deleted articles are pruned by the search backend instead."""

from django.db import migrations


def drop_fk(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "ALTER TABLE helpcenter_article_tsv DROP CONSTRAINT IF EXISTS helpcenter_article_tsv_article_id_fkey")


class Migration(migrations.Migration):
    dependencies = [("helpcenter", "0002_search_index")]

    operations = [migrations.RunPython(drop_fk, migrations.RunPython.noop)]
