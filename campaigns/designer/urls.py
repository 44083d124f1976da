"""The designer's URLs, included by ``campaigns.urls`` (namespace ``campaigns``)."""

from django.urls import path

from campaigns.designer import views

urlpatterns = [
    path("new/", views.campaign_new, name="new"),
    path("gallery/", views.gallery, name="gallery"),
    path("<int:pk>/", views.designer, name="designer"),
    path("<int:pk>/edit/", views.designer_edit, name="designer-edit"),
    path("<int:pk>/tabs/<str:tab>/", views.designer_tab, name="designer-tab"),
    path("<int:pk>/do/<str:action>/", views.campaign_lifecycle, name="lifecycle"),
    path("<int:pk>/versions/<int:number>/rollback/", views.campaign_rollback, name="rollback"),
    path("<int:pk>/versions/<int:number>/diff/", views.version_diff, name="version-diff"),
    path("<int:pk>/test/", views.test_event, name="test-event"),
    path("<int:pk>/estimate/", views.estimate_start, name="estimate"),
    path("estimates/<int:estimate_id>/", views.estimate_progress, name="estimate-progress"),
    path("<int:pk>/template/", views.save_as_template, name="save-template"),
]
