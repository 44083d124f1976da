from django.urls import path

from segments import views

app_name = "segments"
urlpatterns = [
    path("", views.customer_list, name="customer-list"),
    path("import/", views.customer_import, name="import"),
    path("import/<int:pk>/", views.customer_import_detail, name="import-detail"),
    path("<str:customer_id>/", views.customer_detail, name="customer-detail"),
]
