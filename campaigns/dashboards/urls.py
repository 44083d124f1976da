"""Included by ``campaigns.urls`` under ``dashboards/``, in the ``campaigns`` namespace."""

from django.urls import path

from campaigns.dashboards import views

urlpatterns = [
    path("", views.dashboard_overview, name="dashboards"),
    path("export.csv", views.overview_export, name="dashboards-export"),
    path("<int:campaign_id>/", views.campaign_dashboard, name="dashboard"),
    path("<int:campaign_id>/segments", views.campaign_segments, name="dashboard-segments"),
    path("<int:campaign_id>/export.csv", views.campaign_export, name="dashboard-export"),
]
