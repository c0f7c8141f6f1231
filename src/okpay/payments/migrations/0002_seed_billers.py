"""The sandbox biller catalogue (okpay.payments.billers.CATALOGUE) exists from the start."""

from django.db import migrations


def seed(apps, schema_editor):  # type: ignore[no-untyped-def]
    from okpay.payments.billers import CATALOGUE

    Biller = apps.get_model("payments", "Biller")
    for row in CATALOGUE:
        Biller.objects.update_or_create(code=row["code"], defaults={k: v for k, v in row.items() if k != "code"})


class Migration(migrations.Migration):
    dependencies = [("payments", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
