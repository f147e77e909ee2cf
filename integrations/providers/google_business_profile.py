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
        "description": "Locations, daily performance metrics and reviews.",
    }
