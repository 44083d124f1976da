from django.urls import path

from campaigns.offers import views

# Included by campaigns/urls.py (namespace "campaigns").
urlpatterns = [
    path("offers/", views.offer_list, name="offer-list"),
    path("offers/new/", views.offer_edit, name="offer-create"),
    path("offers/<int:offer_id>/", views.offer_detail, name="offer-detail"),
    path("offers/<int:offer_id>/edit/", views.offer_edit, name="offer-edit"),
    path("offers/<int:offer_id>/preview/", views.offer_preview, name="offer-preview"),
    path("offers/<int:offer_id>/pool/generate/", views.pool_generate, name="pool-generate"),
    path("offers/<int:offer_id>/pool/upload/", views.pool_upload, name="pool-upload"),
    path("deliveries/dead-letters/", views.dead_letter_list, name="dead-letters"),
    path(
        "deliveries/<int:delivery_id>/<str:action>/",
        views.dead_letter_action,
        name="dead-letter-action",
    ),
    path("console/<str:team>/", views.staff_console, name="staff-console"),
    path("console/tasks/<int:task_id>/done/", views.staff_task_done, name="staff-task-done"),
]
