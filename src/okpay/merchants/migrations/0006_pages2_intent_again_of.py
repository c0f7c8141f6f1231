import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("merchants", "0005_promises_applications"),
    ]

    operations = [
        migrations.AddField(
            model_name="paymentintent",
            name="again_of",
            field=models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT,
                                       related_name="paid_again", to="merchants.paymentintent"),
        ),
    ]
