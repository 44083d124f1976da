from django.urls import path

from realtime import views
from realtime.live import views as live_views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("engine/", live_views.engine_page, name="engine"),
]
