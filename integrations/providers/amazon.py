"""Login with Amazon, for the Amazon Ads API. INTEGRATIONS_PROVIDERS["amazon"]["region"] (NA, EU
or FE) picks the authorization and token hosts."""

from django.utils.translation import gettext_noop

OPTIONS = ("region",)
REGIONS = {
    "NA": ("https://www.amazon.com/ap/oa", "https://api.amazon.com/auth/o2/token"),
    "EU": ("https://eu.account.amazon.com/ap/oa", "https://api.amazon.co.uk/auth/o2/token"),
    "FE": ("https://apac.account.amazon.com/ap/oa", "https://api.amazon.co.jp/auth/o2/token"),
}


def declare(options):
    region = str(options.get("region") or "NA").upper()
    authorize_url, token_url = REGIONS.get(region, REGIONS["NA"])
    return {
        "name": "Amazon Ads",
        "authorize_url": authorize_url,
        "token_url": token_url,
        # "profile" lets us read the account's user_id and name.
        "scopes": ("profile", "advertising::campaign_management"),
        "required_scopes": ("advertising::campaign_management",),
        "userinfo_url": "https://api.amazon.com/user/profile",
        "id_field": "user_id",
        "name_field": "email",
        "description": gettext_noop("Amazon Ads campaign management."),
    }
