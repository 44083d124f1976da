from django.urls import path

from merchants import views

app_name = "merchants"
urlpatterns = [
    path("", views.portal_home, name="portal"),
    path("offers/new/", views.offer_create, name="offer_create"),
    path("offers/reach/", views.offer_reach, name="offer_reach"),
    path("offers/<int:offer_id>/", views.offer_detail, name="offer"),
    path("offers/<int:offer_id>/edit/", views.offer_edit, name="offer_edit"),
    path("offers/<int:offer_id>/submit/", views.offer_submit, name="offer_submit"),
    path("offers/<int:offer_id>/pause/", views.offer_pause, name="offer_pause"),
    path("offers/<int:offer_id>/resume/", views.offer_resume, name="offer_resume"),
    path("offers/<int:offer_id>/image/", views.offer_image, name="offer_image"),
    path("reports/", views.report, name="report"),
    path("reports.csv", views.report_csv, name="report_csv"),
    path("api-token/", views.api_token, name="api_token"),
    path("welcome/<str:uidb64>/<str:token>/", views.welcome, name="welcome"),
    # The bank's side: marketers review, admins manage merchants.
    path("review/", views.review_list, name="review_list"),
    path("review/<int:offer_id>/", views.review_detail, name="review_detail"),
    path("review/<int:offer_id>/pause/", views.review_pause, name="review_pause"),
    path("review/<int:offer_id>/image/", views.review_image, name="review_image"),
    path("manage/", views.manage_list, name="manage_list"),
    path("manage/<int:merchant_id>/", views.manage_detail, name="manage_detail"),
]
