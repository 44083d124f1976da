from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView

from campaigns.offers.views import link_follow
from cdp_site import views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(template_name="login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("realtime.urls")),
    path("campaigns/", include("campaigns.urls")),
    path("merchant/", include("merchants.urls")),
    path("customers/", include("segments.urls")),
    path("api/v1/", include("cdp_site.api_urls")),
    path("r/<str:token>", link_follow, name="tracked-link"),
]

handler403 = "cdp_site.views.permission_denied"
handler404 = "cdp_site.views.page_not_found"
handler500 = "cdp_site.views.server_error"
