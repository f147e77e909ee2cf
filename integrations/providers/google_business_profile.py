from django.utils.translation import gettext_noop

from .google import GOOGLE

FAMILY = "google"
GBP_SCOPE = "https://www.googleapis.com/auth/business.manage"


def declare(options):
    return {
        **GOOGLE,
        "name": "Google Business Profile",
        "scopes": (GBP_SCOPE, "openid", "email"),
        "required_scopes": (GBP_SCOPE,),
        "syncs": "gbp",
        "description": gettext_noop("Locations, daily performance metrics and reviews."),
    }
