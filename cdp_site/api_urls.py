"""Every app's API under /api/v1/."""

from django.urls import include, path

urlpatterns = [
    path("", include("campaigns.api.urls")),
    path("", include("campaigns.offers.api_urls")),
    path("", include("realtime.api.urls")),
    path("", include("segments.api.urls")),
    path("merchant/", include("merchants.api.urls")),
]
