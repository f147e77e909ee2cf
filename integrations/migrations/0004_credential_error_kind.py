from django.db import migrations, models

# How the codes stored before this migration were classified (integrations.errors).
REAUTH = ["invalid_grant", "interaction_required", "consent_required", "login_required",
          "invalid_scope", "no_refresh_token", "undecryptable", "refresh_failing"]
OPERATOR = ["invalid_client", "unauthorized_client", "unsupported_grant_type", "invalid_request",
            "provider_not_configured", "unknown_provider"]


def classify_stored_errors(apps, schema_editor):
    """The kind used to be re-derived from the code; store it once for the existing rows."""
    credentials = apps.get_model("integrations", "OAuthCredential").objects.exclude(
        last_error_code="")
    credentials.filter(last_error_code__in=REAUTH).update(last_error_kind="reauth")
    credentials.filter(last_error_code__in=OPERATOR).update(last_error_kind="operator")
    credentials.filter(last_error_kind="").update(last_error_kind="transient")


class Migration(migrations.Migration):

    dependencies = [
        ("integrations", "0003_gbp_data"),
    ]

    operations = [
        migrations.AddField(
            model_name="oauthcredential",
            name="last_error_kind",
            field=models.CharField(blank=True, choices=[("reauth", "Re-auth required"), ("operator", "Operator action needed"), ("transient", "Transient failure")], max_length=10),
        ),
        migrations.RunPython(classify_stored_errors, migrations.RunPython.noop),
    ]
