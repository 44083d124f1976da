from django.urls import path

from campaigns.api import views
from campaigns.dashboards.api import CampaignStatsApi

urlpatterns = [
    path("campaigns", views.CampaignListApi.as_view(), name="api-campaign-list"),
    path("campaigns/<int:campaign_id>", views.CampaignDetailApi.as_view(), name="api-campaign"),
    path(
        "campaigns/<int:campaign_id>/publish",
        views.CampaignPublishApi.as_view(),
        name="api-campaign-publish",
    ),
    path(
        "campaigns/<int:campaign_id>/pause",
        views.CampaignPauseApi.as_view(),
        name="api-campaign-pause",
    ),
    path(
        "campaigns/<int:campaign_id>/resume",
        views.CampaignResumeApi.as_view(),
        name="api-campaign-resume",
    ),
    path(
        "campaigns/<int:campaign_id>/archive",
        views.CampaignArchiveApi.as_view(),
        name="api-campaign-archive",
    ),
    path(
        "campaigns/<int:campaign_id>/submit",
        views.CampaignSubmitApi.as_view(),
        name="api-campaign-submit",
    ),
    path(
        "campaigns/<int:campaign_id>/approve",
        views.CampaignApproveApi.as_view(),
        name="api-campaign-approve",
    ),
    path(
        "campaigns/<int:campaign_id>/rollback",
        views.CampaignRollbackApi.as_view(),
        name="api-campaign-rollback",
    ),
    path(
        "campaigns/<int:campaign_id>/versions",
        views.CampaignVersionListApi.as_view(),
        name="api-campaign-versions",
    ),
    path(
        "campaigns/<int:campaign_id>/test-event",
        views.CampaignTestEventApi.as_view(),
        name="api-campaign-test-event",
    ),
    path(
        "campaigns/<int:campaign_id>/estimate",
        views.CampaignEstimateApi.as_view(),
        name="api-campaign-estimate",
    ),
    path("estimates/<int:estimate_id>", views.EstimateDetailApi.as_view(), name="api-estimate"),
    path("decisions", views.DecisionListApi.as_view(), name="api-decision-list"),
    path(
        "campaigns/<int:campaign_id>/versions/<int:number>/diff",
        views.CampaignVersionDiffApi.as_view(),
        name="api-campaign-version-diff",
    ),
    path(
        "campaigns/<int:campaign_id>/audit",
        views.CampaignAuditApi.as_view(),
        name="api-campaign-audit",
    ),
    path("campaign-templates", views.TemplateListApi.as_view(), name="api-template-list"),
    path(
        "campaign-templates/<slug:slug>/use",
        views.TemplateUseApi.as_view(),
        name="api-template-use",
    ),
    path(
        "campaigns/<int:campaign_id>/stats", CampaignStatsApi.as_view(), name="api-campaign-stats"
    ),
]
