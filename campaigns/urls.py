from django.urls import include, path

from campaigns import views

app_name = "campaigns"
urlpatterns = [
    path("", views.campaign_list, name="list"),
    path("dashboards/", views.dashboard_overview, name="dashboards"),
    path("", include("campaigns.offers.urls")),
]
