from django.urls import path

from realtime import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
]
