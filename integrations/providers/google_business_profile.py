from .google import declare_google

GBP_SCOPE = "https://www.googleapis.com/auth/business.manage"


def declare(s):
    return declare_google(
        s,
        name="Google Business Profile",
        scopes=(GBP_SCOPE, "openid", "email"),
        required_scopes=(GBP_SCOPE,),
        syncs="gbp",
        description="Locations, daily performance metrics and reviews.",
    )
