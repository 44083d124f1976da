from django.urls import path

from campaigns.api import views

urlpatterns = [
    path("campaigns", views.CampaignListApi.as_view(), name="api-campaign-list"),
]
