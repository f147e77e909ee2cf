"""The JSON API for single-page and mobile frontends (django-ninja, the `api` extra).

Mounted by `integrations.urls` under `api/` when django-ninja is installed:

    api/v1/...              the endpoints (integrations.api.core, and each consumer's router:
                            `Consumer.api_router`, e.g. gbp.api)
    api/v1/openapi.json     the OpenAPI 3 document, generated from the code
    api/openapi.json        the same document (the version's paths are in it)
    api/v1/docs             the reference page for humans (Swagger UI, served from this site's
                            static files when "ninja" is in INSTALLED_APPS)

It is a consumer of the same token service and adapter as the pages: no second set of rules.
Nothing here is imported unless the API is mounted (`integrations.api.urls`).
"""

VERSION = "1"
