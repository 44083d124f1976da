from django.urls import path

from merchants import views

app_name = "merchants"
urlpatterns = [
    path("", views.portal_home, name="portal"),
]
