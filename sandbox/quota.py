"""The GBP API's quota and latency, like Google's: a requests-per-minute limit per API that
answers 429 RESOURCE_EXHAUSTED (in Google's shape) when exceeded, and a delay on every answer.

    SANDBOX_GBP_QUOTA_PER_MINUTE = 300   # per API, over any 60 seconds (0: no limit)
    SANDBOX_GBP_LATENCY_MS = 100         # added to every GBP API answer (capped)

The window is counted in this process (the sandbox serves from one: the dev server or a test's
live server), over the last 60 seconds, so a burst is refused however it straddles a minute.
"""

import collections
import functools
import json
import threading
import time

from django.conf import settings
from django.http import HttpResponse

from .conf import MAX_LATENCY_MS

# The Google API each sandbox endpoint stands for: each has a quota of its own.
SERVICES = {
    "accounts": "mybusinessaccountmanagement.googleapis.com",
    "locations": "mybusinessbusinessinformation.googleapis.com",
    "metrics": "businessprofileperformance.googleapis.com",
    "reviews": "mybusiness.googleapis.com",
}
PROJECT = "123456789"


class Window:
    """Arrival times of the requests admitted in the last 60 seconds, per API."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.lock = threading.Lock()
        self.seen = collections.defaultdict(collections.deque)

    def admit(self, api, limit) -> bool:
        with self.lock:
            now, seen = self.clock(), self.seen[api]
            while seen and seen[0] <= now - 60:
                seen.popleft()
            if len(seen) >= limit:
                return False
            seen.append(now)
            return True

    def reset(self):
        with self.lock:
            self.seen.clear()


window = Window()


def exhausted(api: str, limit: int) -> HttpResponse:
    """Google's answer when a per-minute quota is used up (no Retry-After: Google sends none)."""
    service = SERVICES[api]
    body = {"error": {
        "code": 429,
        "message": f"Quota exceeded for quota metric 'Requests' and limit 'Requests per minute' "
                   f"of service '{service}' for consumer 'project_number:{PROJECT}'.",
        "status": "RESOURCE_EXHAUSTED",
        "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "RATE_LIMIT_EXCEEDED",
             "domain": "googleapis.com",
             "metadata": {"service": service, "consumer": f"projects/{PROJECT}",
                          "quota_metric": f"{service}/default_requests",
                          "quota_limit": "DefaultRequestsPerMinutePerProject",
                          "quota_limit_value": str(limit)}},
            {"@type": "type.googleapis.com/google.rpc.Help",
             "links": [{"description": "Request a higher quota limit.",
                        "url": "https://cloud.google.com/docs/quotas/help/request_increase"}]},
        ],
    }}
    return HttpResponse(json.dumps(body), status=429, content_type="application/json")


def metered(api: str):
    """Wrap a GBP API view: refuse it over the quota, delay it by the latency setting."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            limit = int(getattr(settings, "SANDBOX_GBP_QUOTA_PER_MINUTE", 0) or 0)
            admitted = not limit or window.admit(api, limit)
            latency = min(int(getattr(settings, "SANDBOX_GBP_LATENCY_MS", 0) or 0), MAX_LATENCY_MS)
            if latency > 0:
                time.sleep(latency / 1000)
            return view(request, *args, **kwargs) if admitted else exhausted(api, limit)

        return wrapper

    return decorate
