# The GBP models moved to the gbp app (its 0001 adopts their tables): gone from this app's
# state only; nothing is dropped.
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("integrations", "0004_credential_error_kind"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.DeleteModel(name="GbpReview"),
            migrations.DeleteModel(name="GbpDailyMetric"),
            migrations.DeleteModel(name="GbpLocation"),
            migrations.DeleteModel(name="GbpAccount"),
        ]),
    ]
