from django.urls import include, path

from campaigns import views

app_name = "campaigns"
urlpatterns = [
    path("", views.campaign_list, name="list"),
    path("dashboards/", include("campaigns.dashboards.urls")),
    path("", include("campaigns.offers.urls")),
    path("", include("campaigns.designer.urls")),
]
